"""Matrix products into preallocated arrays, accumulating when asked.

NumPy's ``matmul(a, b, out=c)`` overwrites ``c``; it cannot add to it.  A
blocked algorithm that sums ``a_k @ b_k`` over blocks into a large result
(the gradient of an output layer, D x C) would then need a temporary as
large as the result, or a second pass over it per block.  The BLAS's
``gemm`` computes ``c = alpha a b + beta c`` in one pass, so this module
calls it directly, through ``scipy.linalg.blas`` (SciPy is a core
dependency; it is imported on first use, not with fastnn).

Every product of one blocked computation goes through here, so that one
BLAS thread pool serves them all: NumPy and SciPy each bundle their own
OpenBLAS, and two pools taking turns on the same cores would each spin
while the other works.  Thread counts follow the usual controls
(``OPENBLAS_NUM_THREADS``, ``threadpoolctl``, which sets every BLAS loaded).

The BLAS is Fortran-ordered.  A C-contiguous array is the transpose of a
Fortran-contiguous one, so each operand is handed over as itself or as its
transpose with the matching ``trans`` flag, and a C-contiguous result
``c = a b`` is computed as ``c.T = b.T a.T``: no operand is ever copied.
"""

import numpy as np

__all__ = ["matmul_into"]

_GEMM: dict = {}  # dtype -> scipy.linalg.blas.?gemm, filled on first use


def _gemm(dtype):
    gemm = _GEMM.get(dtype)
    if gemm is None:
        from scipy.linalg import blas

        gemm = _GEMM[dtype] = blas.sgemm if dtype == np.float32 else blas.dgemm
    return gemm


def _fortran_operand(x):
    """``(array, trans)`` with ``array`` Fortran-contiguous and ``op(array) == x``."""
    if x.flags.f_contiguous:
        return x, 0
    if x.flags.c_contiguous:
        return x.T, 1
    raise ValueError("matmul_into: operands must be C- or Fortran-contiguous")


def matmul_into(out, a, b, accumulate=False):
    """``out = a @ b``, or ``out += a @ b`` with ``accumulate``, in place.

    Parameters
    ----------
    out : ndarray, shape (m, n)
        float32 or float64, C- or Fortran-contiguous, writeable.
    a, b : ndarray, shapes (m, k) and (k, n)
        Of ``out``'s dtype, each C- or Fortran-contiguous (a transposed
        view of a contiguous array is).
    accumulate : bool
        Add the product to ``out`` instead of overwriting it (whose
        previous contents, even nan, are then never read).

    Returns
    -------
    ndarray
        ``out``.
    """
    if out.size == 0:
        return out
    if a.shape[1] == 0:  # an empty sum
        if not accumulate:
            out[...] = 0
        return out
    if out.flags.f_contiguous:
        c, x, y = out, a, b
    elif out.flags.c_contiguous:
        c, x, y = out.T, b.T, a.T
    else:
        raise ValueError("matmul_into: out must be C- or Fortran-contiguous")
    x, trans_x = _fortran_operand(x)
    y, trans_y = _fortran_operand(y)
    result = _gemm(out.dtype.type)(
        1.0, x, y, beta=1.0 if accumulate else 0.0, c=c, trans_a=trans_x, trans_b=trans_y,
        overwrite_c=True,
    )
    if not np.shares_memory(result, c):  # the wrapper copied c after all: keep the result
        c[...] = result
    return out
