# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: language_level=3
"""fastnn's compiled kernels, built for the avx512 instruction set.

The source is fastnn/_kernels.pxi; fastnn._dispatch chooses a variant at
import time.  Import fastnn, not this module.
"""

include "_kernels.pxi"
