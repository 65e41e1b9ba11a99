"""Accuracy against mpmath when one logit dominates its row.

With m the row maximum, ``log_softmax(x)_i = (x_i - m) - log(1 + t)`` where
``t = sum_{j != argmax} exp(x_j - m)``.  When the largest logit leads the
others by d, t is about exp(-d): ``log(1 + t)`` computed as ``log(sum)``
rounds to 0 once t is below the double epsilon (d > 37), and loses
significant digits long before, so the log-probability of the winning class
(and the cross-entropy of a confident, correct prediction) came out as 0 or
inaccurate.  fastnn accumulates t apart from the maximum's exact 1 and takes
``log1p(t)`` (Blanchard, Higham and Higham, IMA J. Numer. Anal. 41, 2021);
these tests hold every such value to a few ulp of an mpmath reference.
"""

import numpy as np
import pytest

import fastnn

mpmath = pytest.importorskip("mpmath")

DOMINANCE = [1, 10, 40, 100, 700]
MAX_ULP = 4


def reference_log_softmax(row):
    """log_softmax of one row, exactly (to 60 digits), from its float values."""
    with mpmath.workdps(60):
        values = [mpmath.mpf(float(v)) for v in row]
        top = max(values)
        k = values.index(top)
        tail = mpmath.fsum(mpmath.exp(v - top) for j, v in enumerate(values) if j != k)
        lse_shift = mpmath.log1p(tail)
        return [v - top - lse_shift for v in values]


def ulp_error(got, exact, dtype, n_terms=1):
    """|got - exact| in units of the last place of exact rounded to dtype.

    The exponentials are computed in dtype, so a term below dtype's normal
    range is rounded to the subnormal grid before it is summed: that costs
    up to half the smallest subnormal per term, an absolute error that is
    taken off first (it matters only when the result itself is tiny).
    """
    rounded = np.array([float(e) for e in exact], dtype=dtype)
    spacing = np.spacing(np.abs(rounded)).astype(np.float64)
    underflow = 0.5 * float(np.finfo(dtype).smallest_subnormal) * (n_terms - 1)
    with mpmath.workdps(60):
        diff = [float(abs(mpmath.mpf(float(g)) - e)) for g, e in zip(got, exact)]
    return np.maximum(np.array(diff) - underflow, 0.0) / spacing


def dominated_rows(d, C, dtype, n_rows=6, seed=0):
    """Rows in which one entry (the winner) leads every other by at least d;
    in the first row the runner-up is exactly d behind.

    The values sit on a grid of 2^-10 below 2^13 in magnitude, where both
    dtypes hold them and their differences exactly.  Off such a grid,
    ``x - max`` is itself rounded, and a relative error u in it changes
    ``exp(x - max)`` by ``|x - max| u``: an error of the problem's
    conditioning that every algorithm shifting by the maximum shares.  On
    the grid, the tests measure everything fastnn computes after the shift.
    """
    rng = np.random.default_rng(seed)
    winner = rng.integers(0, C, n_rows)
    top = rng.integers(-5 * 1024, 5 * 1024, n_rows) / 1024
    top[0] = 0.0
    rows = top[:, None] - d - rng.integers(0, 10 * 1024, (n_rows, C)) / 1024
    rows[np.arange(n_rows), winner] = top
    rows[0, (winner[0] + 1) % C] = top[0] - d
    assert np.array_equal(rows.astype(dtype).astype(np.float64), rows)
    return rows.astype(dtype), winner


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", DOMINANCE)
@pytest.mark.parametrize("C", [3, 12, 40, 1000], ids=lambda c: f"C{c}")
@pytest.mark.parametrize("in_place", [False, True], ids=["new", "in_place"])
def test_log_softmax_when_one_logit_dominates(variant, dtype, d, C, in_place):
    # In place, the row kernel cannot keep the exponentials in the output
    # and sums them as it goes; into a new array it stores them first.
    x, winner = dominated_rows(d, C, dtype)
    if in_place:
        got = x.copy()
        fastnn.log_softmax(got, out=got)
    else:
        got = fastnn.log_softmax(x)
    for i in range(len(x)):
        exact = reference_log_softmax(x[i])
        err = ulp_error(got[i], exact, dtype, C)
        assert err.max() <= MAX_ULP, (i, winner[i], err.max(), got[i, winner[i]])
    # The winning class's log-probability is about -exp(-d), not 0 (except
    # where that underflows the dtype).
    if np.exp(-d - 10.0) > np.finfo(dtype).smallest_subnormal * 4:
        assert np.all(got[np.arange(len(x)), winner] < 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", DOMINANCE)
@pytest.mark.parametrize("C", [3, 40], ids=lambda c: f"C{c}")
def test_log_softmax_along_a_non_last_axis_when_one_logit_dominates(variant, dtype, d, C):
    x, _ = dominated_rows(d, C, dtype)
    got = fastnn.log_softmax(np.ascontiguousarray(x.T), axis=0).T
    for i in range(len(x)):
        assert ulp_error(got[i], reference_log_softmax(x[i]), dtype, C).max() <= MAX_ULP


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", DOMINANCE)
@pytest.mark.parametrize("C", [3, 40], ids=lambda c: f"C{c}")
@pytest.mark.parametrize("label", ["winner", "other"])
def test_cross_entropy_when_one_logit_dominates(variant, dtype, d, C, label):
    x, winner = dominated_rows(d, C, dtype)
    labels = winner if label == "winner" else (winner + 1) % C
    loss, _ = fastnn.softmax_cross_entropy(x, labels, reduction="none")
    probs = np.zeros_like(x)
    probs[np.arange(len(x)), labels] = 1
    loss_prob, _ = fastnn.softmax_cross_entropy(x, probs, reduction="none")
    for i in range(len(x)):
        exact = [-reference_log_softmax(x[i])[labels[i]]]
        assert ulp_error([loss[i]], exact, dtype, C).max() <= MAX_ULP, (i, loss[i])
        assert ulp_error([loss_prob[i]], exact, dtype, C).max() <= MAX_ULP, (i, loss_prob[i])


def test_the_documented_case():
    x = np.array([0.0, -40.0, -50.0])
    value = fastnn.log_softmax(x)[0]
    assert value == pytest.approx(-4.248354255291589e-18 - 1.928749847963918e-22, rel=1e-14)
    loss, _ = fastnn.softmax_cross_entropy(x[None, :], np.array([0]))
    assert loss == pytest.approx(-value, rel=1e-14)
