# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: language_level=3
"""fastnn's compiled kernels, built for the avx2 instruction set.

The source is fastnn/_kernels.pxi; the three variants differ only in the
implementation of the SIMD layer they include (here simd_avx2.h) and in their
compile flags.  fastnn._dispatch chooses a variant at import time.  Import
fastnn, not this module.
"""

cdef extern from "simd_avx2.h":
    pass

include "_kernels.pxi"
