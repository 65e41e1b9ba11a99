"""Training rows that stay where their chunks live.

The rows are cut into *shards* of consecutive row chunks.  With a
``dask.distributed`` client there is one shard per worker: its chunks are
loaded on that worker, checked and converted once, and kept there (a
future the client holds).  With Dask's local scheduler every chunk is a
shard of its own, read from its source each time it is needed, so data
larger than memory trains chunk by chunk.

Each evaluation sends the parameters (and, for a minibatch, the row
numbers each shard holds) to the shards, and brings back one loss, one
gradient and one total weight per shard.  The partial results are
combined in shard order, so a fit is deterministic for a given number of
shards.  With a single shard the shard itself computes the loss exactly as
``MLPClassifier`` does in memory, L2 term included, so a one-worker fit
equals the in-memory fit.
"""

import numpy as np
import dask

from ..estimators._training_rows import take_rows
from ..estimators.labels import class_codes


def prepare_chunk(X, y, sample_weight, offset, binarizer, softmax, class_weights, dtype):
    """One chunk's training arrays: X checked and converted, targets and weights.

    Runs where the chunk is; errors name the chunk's first row.
    """
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X must hold real numbers, got dtype {X.dtype} (rows from {offset} on)")
    X = np.ascontiguousarray(X, dtype=dtype)
    if not np.all(np.isfinite(X)):
        raise ValueError(f"Input X contains NaN or infinity (in the rows from {offset} on).")
    Y = np.asarray(binarizer.transform(np.asarray(y))).astype(bool)
    codes = class_codes(Y) if softmax or class_weights is not None else None
    targets = codes if softmax else np.ascontiguousarray(Y, dtype=dtype)
    weights = None
    if sample_weight is not None:
        weights = np.asarray(sample_weight, dtype=np.float64)
        if not np.all(np.isfinite(weights)):
            raise ValueError(f"sample_weight contains NaN or infinity (rows from {offset} on)")
        if np.any(weights < 0):
            raise ValueError(f"sample_weight must be non-negative (rows from {offset} on)")
    if class_weights is not None:
        weights = class_weights[codes] if weights is None else weights * class_weights[codes]
    return X, targets, weights


def join_chunks(*chunks):
    """A shard: its chunks' arrays joined (in row order)."""
    X = np.concatenate([c[0] for c in chunks])
    targets = np.concatenate([c[1] for c in chunks])
    has_weights = chunks[0][2] is not None
    weights = np.concatenate([c[2] for c in chunks]) if has_weights else None
    return X, targets, weights


def shard_loss_and_grad(shard, mlp, params, rows, alpha, sole):
    """Mean loss, its gradient and the rows' total weight on one shard.

    The L2 term is added here only when this shard is the only one
    (``sole``); otherwise the client adds it once to the combination.
    """
    X, targets, weights = take_rows(*shard, rows)
    total = float(X.shape[0] if weights is None else np.sum(weights))
    if total == 0:
        return 0.0, None, 0.0
    l2 = alpha / total if sole else 0.0
    loss, grad = mlp._loss_and_grad_trusted(params, X, targets, weights, l2)
    return loss, grad, total


def shard_score_and_loss(shard, mlp, params, rows, scorer):
    """The validation score's partial sums, mean loss and total weight on one shard."""
    X, targets, weights = take_rows(*shard, rows)
    total = float(X.shape[0] if weights is None else np.sum(weights))
    if X.shape[0] == 0 or total == 0:
        return None, 0.0, 0.0
    predictions = mlp._predict_trusted(params, X)
    partial = scorer.partial(predictions, targets, weights)
    loss = mlp._loss_and_grad_trusted(params, X, targets, weights, 0.0, False)[0]
    return partial, loss, total


def shard_positive_weight(shard, rows):
    weights = take_rows(*shard, rows)[2]
    return weights is None or bool(np.any(weights > 0))


class DistributedRunner:
    """Shards kept on the workers of a dask.distributed client, one per worker."""

    def __init__(self, client, prepared, row_chunks):
        workers = sorted(client.scheduler_info()["workers"])
        if not workers:
            raise ValueError("the dask.distributed client has no workers")
        groups = _contiguous_groups(row_chunks, len(workers))
        self.client = client
        self.workers = [workers[k] for k in range(len(groups))]
        self.shards = []
        for group, worker in zip(groups, self.workers):
            # Pinned for data locality, but free to move: when a worker is
            # lost, the scheduler recomputes its shard on another one.
            shard = dask.delayed(join_chunks)(*[prepared[i] for i in group])
            self.shards.append(
                client.compute(shard, workers=[worker], allow_other_workers=True)
            )
        self.shard_rows = [sum(row_chunks[i] for i in group) for group in groups]
        self.bytes_sent = 0

    def run(self, func, calls):
        """``func(shard, *args)`` for each ``(shard index, args)``, results in that order."""
        futures = [
            self.client.submit(
                func, self.shards[s], *args, workers=[self.workers[s]],
                allow_other_workers=True, pure=False,
            )
            for s, args in calls
        ]
        self.bytes_sent += sum(
            a.nbytes for _, args in calls for a in args if isinstance(a, np.ndarray)
        )
        return self.client.gather(futures)

    def close(self):
        self.client.cancel(self.shards)
        self.shards = []


class LocalRunner:
    """Every chunk a shard, computed on demand by Dask's local scheduler."""

    def __init__(self, prepared, row_chunks):
        self.shards = list(prepared)
        self.shard_rows = list(row_chunks)
        self.bytes_sent = 0

    def run(self, func, calls):
        tasks = [dask.delayed(func)(self.shards[s], *args) for s, args in calls]
        return list(dask.compute(*tasks))

    def close(self):
        self.shards = []


def _contiguous_groups(sizes, n_groups):
    """Chunk indices cut into at most ``n_groups`` runs of consecutive chunks
    holding about equal numbers of rows (a chunk goes where its middle row falls)."""
    sizes = np.asarray(sizes, dtype=np.float64)
    total = sizes.sum()
    if total == 0:
        return [list(range(len(sizes)))] if len(sizes) else []
    middles = np.cumsum(sizes) - sizes / 2
    group_of = np.minimum((middles * n_groups / total).astype(int), n_groups - 1)
    return [list(np.flatnonzero(group_of == g)) for g in range(n_groups) if np.any(group_of == g)]


class ChunkedRows:
    """The training rows of a dask collection, answering what the loops ask.

    ``rows`` selects a subset by global row number (the early-stopping
    split); None means all rows in order.
    """

    def __init__(self, runner, mlp, scorer, rows=None):
        self.runner = runner
        self.mlp = mlp
        self.scorer = scorer
        self.rows = rows
        self.starts = np.concatenate([[0], np.cumsum(runner.shard_rows)]).astype(np.int64)
        self.n_samples = int(self.starts[-1] if rows is None else len(rows))

    def subset(self, indices):
        return ChunkedRows(self.runner, self.mlp, self.scorer, self._global(np.asarray(indices)))

    def _global(self, selection):
        """Global row numbers of ``selection`` (indices into this set, a slice, or None)."""
        if selection is None:
            return self.rows
        if isinstance(selection, slice):
            selection = np.arange(self.n_samples)[selection]
        return selection if self.rows is None else self.rows[selection]

    def _split(self, selection):
        """Per shard holding some of the selected rows: (shard, its local row numbers)."""
        rows = self._global(selection)
        n_shards = len(self.starts) - 1
        if rows is None:
            return [(s, None) for s in range(n_shards) if self.starts[s + 1] > self.starts[s]]
        shard_of = np.searchsorted(self.starts, rows, side="right") - 1
        calls = []
        for s in np.unique(shard_of):
            local = rows[shard_of == s] - self.starts[s]  # keeps the selection's order
            calls.append((int(s), local))
        return calls

    def has_positive_weight(self):
        calls = [(s, (rows,)) for s, rows in self._split(None)]
        return any(self.runner.run(shard_positive_weight, calls))

    def loss_and_grad(self, params, selection, alpha):
        parts = self._split(selection)
        sole = len(parts) == 1
        calls = [(s, (self.mlp, params, rows, alpha, sole)) for s, rows in parts]
        results = self.runner.run(shard_loss_and_grad, calls)
        if sole:
            return results[0][0], results[0][1]
        total = sum(r[2] for r in results)
        loss = 0.0
        grad = np.zeros(self.mlp.n_params)
        for part_loss, part_grad, part_total in results:
            if part_total:
                share = part_total / total
                loss += part_loss * share
                grad += part_grad * share
        # The L2 term, once, over the selection's total weight.
        l2 = alpha / total
        for (W, _), (gW, _) in zip(self.mlp._unpack_trusted(params),
                                   self.mlp._unpack_trusted(grad)):
            loss += 0.5 * l2 * float(np.vdot(W, W))
            gW += l2 * W
        return loss, grad.astype(self.mlp.dtype)

    def score_and_loss(self, params):
        calls = [(s, (self.mlp, params, rows, self.scorer)) for s, rows in self._split(None)]
        results = self.runner.run(shard_score_and_loss, calls)
        total = sum(r[2] for r in results)
        score = self.scorer.combine([r[0] for r in results if r[2]])
        loss = sum(r[1] * (r[2] / total) for r in results if r[2])
        return score, loss
