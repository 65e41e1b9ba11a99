"""Training rows that stay where their chunks live.

The rows are cut into *shards* of consecutive row chunks.  With a
``dask.distributed`` client there is one shard per worker: its chunks are
loaded on that worker, checked and converted once (by the estimator's
`ChunkPreparer`, with the in-memory estimator's own checks), and kept
there (a future the client holds).  With Dask's local scheduler every
chunk is a shard of its own, read from its source each time it is needed,
so data larger than memory trains chunk by chunk.

Each evaluation sends the parameters (and, for a minibatch, the row
numbers each shard holds) to the shards, and brings back one loss, one
gradient and one total weight per shard.  Each shard reports its loss as
``InMemoryRows`` does, with the estimator's `LossConvention` (the
regressor's scale over the outputs and Poisson offsets, kept per row in
the shard).  The partial results are combined in shard order, so a fit is
deterministic for a given number of shards.  With a single shard the
shard itself computes the loss exactly as the in-memory estimator does, L2
term included, so a one-worker fit equals the in-memory fit.
"""

from typing import NamedTuple, Optional

import numpy as np
import dask

from ..dropout import drawn_masks
from ..estimators._base import check_sample_weight
from ..estimators._training_rows import LossConvention, take_rows


class Shard(NamedTuple):
    """The checked training arrays of some consecutive rows (one chunk, or a worker's shard).

    ``convention`` is the estimator's `LossConvention` of these rows: the
    loss's scale and, for the Poisson loss, each row's constant offset.
    """

    X: np.ndarray
    targets: np.ndarray
    weights: Optional[np.ndarray]
    convention: LossConvention


class ChunkPreparer:
    """How one chunk of rows becomes a `Shard`, with the in-memory estimator's own checks.

    The Dask estimators build one and send it with every chunk.  It holds a
    light copy of the in-memory estimator (``checker``: the fitted state its
    hooks read, without the parameters) and asks it what ``fit`` asks it in
    memory: ``_validate_input`` checks X and y (for the classifier: labels
    among ``classes_``; for the regressor: real, finite targets, and
    non-negative ones for the Poisson loss), ``_targets`` makes the
    network's targets and ``_loss_convention`` the loss's scale and
    offsets.  Nothing here knows which estimator it serves; a subclass may
    add per-row weights (the classifier's class weights) in `row_weights`.

    Parameters
    ----------
    checker : MLPClassifier or MLPRegressor
        The in-memory estimator with ``n_features_in_``, ``mlp_``,
        ``out_activation_`` and the state its hooks read.
    """

    def __init__(self, checker):
        self.checker = checker

    def row_weights(self, weights, Y):
        """The loss's per-row weights from the checked sample weights (or None)."""
        return weights

    def __call__(self, X, y, sample_weight, first_row):
        """The chunk's `Shard`; an error names the chunk's rows."""
        try:
            return self._prepare(X, y, sample_weight)
        except (ValueError, TypeError) as error:
            # The estimator's own message, with where it happened in front
            # (scikit-learn's messages can run to several lines).
            if error.args and isinstance(error.args[0], str):
                where = f"In rows {first_row} to {first_row + X.shape[0] - 1}: "
                error.args = (where + error.args[0], *error.args[1:])
            raise

    def _prepare(self, X, y, sample_weight):
        checker = self.checker
        n_rows = X.shape[0]
        if n_rows:
            X, Y = checker._validate_input(X, y, incremental=True, reset=False)
        else:
            # scikit-learn's checks refuse an empty array; an empty chunk
            # (a filtered-out partition) simply contributes no rows.
            X = np.empty((0, checker.n_features_in_))
            Y = np.zeros((0, checker.mlp_.layer_sizes[-1]))
        X = np.ascontiguousarray(X, dtype=checker.mlp_.dtype)
        # Each chunk alone need not hold a positive weight: only the whole
        # data must (checked once over all shards).
        weights = self.row_weights(check_sample_weight(sample_weight, n_rows, False), Y)
        targets = checker._targets(Y)
        return Shard(X, targets, weights, checker._loss_convention(targets, weights))


def prepare_chunk(X, y, sample_weight, first_row, preparer):
    """One chunk's `Shard`, made by the estimator's `ChunkPreparer` where the chunk is."""
    return preparer(X, y, sample_weight, first_row)


def join_chunks(*chunks):
    """A shard: its chunks' `Shard` joined (in row order)."""
    X = np.concatenate([c.X for c in chunks])
    targets = np.concatenate([c.targets for c in chunks])
    has_weights = chunks[0].weights is not None
    weights = np.concatenate([c.weights for c in chunks]) if has_weights else None
    offsets = None
    if chunks[0].convention.offsets is not None:
        offsets = np.concatenate([c.convention.offsets for c in chunks])
    return Shard(X, targets, weights, LossConvention(chunks[0].convention.scale, offsets))


def _rows_of(shard, rows):
    return take_rows(shard.X, shard.targets, shard.weights, rows)


def _loss(mlp, params, shard, rows, selected, l2, want_grad, masks=None):
    """The loss as the estimator reports it, as ``InMemoryRows.loss_and_grad`` adds it up
    (the network's mean loss, scaled, plus the rows' mean offset), and its gradient;
    ``selected``: the shard's arrays at ``rows``."""
    X, targets, weights = selected
    convention = shard.convention
    loss, grad = mlp._loss_and_grad_trusted(
        params, X, targets, weights, l2, want_grad, convention.scale, masks
    )
    return loss + convention.offset(rows, weights), grad


def _total_weight(weights, n_rows):
    return float(n_rows if weights is None else np.sum(weights))


def shard_loss_and_grad(shard, mlp, params, rows, alpha, sole, start=0, dropout=None):
    """Mean loss, its gradient and the rows' total weight on one shard.

    The L2 term is added here only when this shard is the only one
    (``sole``); otherwise the client adds it once to the combination.
    ``start`` is the shard's first row in the whole data: with ``dropout``,
    ``(rates, seed, step)``, each row's masks are drawn by its position
    there, so that they do not depend on how the rows are sharded.
    """
    selected = _rows_of(shard, rows)
    total = _total_weight(selected[2], selected[0].shape[0])
    if total == 0:
        return 0.0, None, 0.0
    l2 = alpha / total if sole else 0.0
    masks = None
    if dropout is not None:
        local = np.arange(selected[0].shape[0]) if rows is None else np.asarray(rows)
        positions = (start + local).astype(np.uint64)
        masks = drawn_masks(positions, *dropout)
    loss, grad = _loss(mlp, params, shard, rows, selected, l2, True, masks)
    return loss, grad, total


def shard_score_and_loss(shard, mlp, params, rows, scorer):
    """The validation score's partial sums, mean loss and total weight on one shard."""
    selected = X, targets, weights = _rows_of(shard, rows)
    total = _total_weight(weights, X.shape[0])
    if X.shape[0] == 0 or total == 0:
        return None, 0.0, 0.0
    predictions = mlp._predict_trusted(params, X)
    partial = scorer.partial(predictions, targets, weights)
    loss = _loss(mlp, params, shard, rows, selected, 0.0, False)[0]
    return partial, loss, total


def shard_positive_weight(shard, rows):
    weights = _rows_of(shard, rows)[2]
    return weights is None or bool(np.any(weights > 0))


def _worker_addresses(client):
    """The addresses of the client's workers, asked of the scheduler now.

    Not ``client.scheduler_info()``: it returns the client's cached copy,
    which the client's periodic refresh (that fetches no per-worker
    information) may overwrite between the fetch and the return.
    """
    try:
        identity = client.sync(client.scheduler.identity, n_workers=-1)
    except TypeError:  # an older distributed, whose identity takes no arguments
        identity = client.sync(client.scheduler.identity)
    return sorted(identity["workers"])


class DistributedRunner:
    """Shards kept on the workers of a dask.distributed client, one per worker."""

    def __init__(self, client, prepared, row_chunks):
        workers = _worker_addresses(client)
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

    def loss_and_grad(self, params, selection, alpha, dropout=None):
        parts = self._split(selection)
        sole = len(parts) == 1
        calls = [(s, (self.mlp, params, rows, alpha, sole, int(self.starts[s]), dropout))
                 for s, rows in parts]
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
