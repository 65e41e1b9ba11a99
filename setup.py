"""Build script for fastnn's compiled kernels.

The kernels in ``fastnn/_kernels.pxi`` are compiled three times on x86-64:
for the baseline instruction set (``_kernels_baseline``), with AVX2 and FMA
(``_kernels_avx2``) and with AVX-512 (``_kernels_avx512``), each with its
implementation of the SIMD layer (``fastnn/simd_*.h``).  ``fastnn._dispatch`` picks the best variant the
running CPU supports at import time, so one wheel is fast on modern machines
and still runs on old ones.  Other architectures get the baseline only.

OpenMP is used when the compiler accepts ``-fopenmp``; otherwise the kernels
are built serial and everything still works.
"""

import os
import platform
import shutil
import sys
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# -fno-math-errno lets gcc inline sqrt/fmax; -fno-trapping-math lets it
# vectorise selects.  Neither changes any result.  -ffast-math and friends are
# deliberately absent: they break inf/NaN semantics and, when linked into a
# shared object, flush subnormals to zero for the whole Python process.
BASE_FLAGS = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd"]
FORBIDDEN_FLAGS = ("-ffast-math", "-Ofast", "-ffinite-math-only", "-funsafe-math-optimizations")

OPENMP_PROBE = r"""
#include <omp.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    return n > 0 ? 0 : 1;
}
"""


def _is_x86_64():
    return platform.machine().lower() in ("x86_64", "amd64")


def _compiler_accepts(compiler, source, extra_args):
    """Compile and link ``source`` with ``extra_args``; True when that works."""
    tmp = tempfile.mkdtemp(prefix="fastnn-probe-")
    try:
        path = os.path.join(tmp, "probe.c")
        with open(path, "w") as f:
            f.write(source)
        objects = compiler.compile([path], output_dir=tmp, extra_postargs=extra_args)
        compiler.link_executable(objects, "probe", output_dir=tmp, extra_postargs=extra_args)
        return True
    except Exception:
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class BuildExt(build_ext):
    """Add NumPy's headers lazily and OpenMP when the compiler supports it."""

    def finalize_options(self):
        super().finalize_options()
        import numpy

        self.include_dirs.append(numpy.get_include())
        # The three variants compile independently: build them side by side
        # (build_ext's own thread pool) unless --parallel/-j says otherwise.
        if not self.parallel:
            self.parallel = min(len(self.extensions), os.cpu_count() or 1)

    def build_extensions(self):
        is_msvc = self.compiler.compiler_type == "msvc"
        if is_msvc:
            openmp_flags = ["/openmp"]
            openmp_ok = True
        else:
            openmp_flags = ["-fopenmp"]
            openmp_ok = os.environ.get("FASTNN_NO_OPENMP", "") == "" and _compiler_accepts(
                self.compiler, OPENMP_PROBE, openmp_flags
            )
        print(f"fastnn: building {'with' if openmp_ok else 'without'} OpenMP", file=sys.stderr)
        for ext in self.extensions:
            if is_msvc:
                arch = {"avx2": ["/arch:AVX2"], "avx512": ["/arch:AVX512"]}
                ext.extra_compile_args = ["/O2"] + arch.get(ext.name.rsplit("_", 1)[-1], [])
            if openmp_ok:
                ext.extra_compile_args += openmp_flags
                ext.extra_link_args += openmp_flags
            assert not set(ext.extra_compile_args) & set(FORBIDDEN_FLAGS)
        super().build_extensions()


# The SIMD layer each variant includes (its .pyx names it): the only
# difference between the variants' sources.
LAYER_HEADERS = {"baseline": "simd_portable.h", "avx2": "simd_avx2.h", "avx512": "simd_avx512.h"}


def make_extensions():
    from Cython.Build import cythonize

    variants = {"baseline": []}
    if _is_x86_64():
        variants["avx2"] = ["-mavx2", "-mfma"]
        # 512-bit vectors nearly halve the time of the exp on CPUs that have
        # them (measured on AMD Zen 4); gcc would otherwise prefer 256 bits.
        variants["avx512"] = variants["avx2"] + [
            "-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl", "-mprefer-vector-width=512"
        ]
    extensions = [
        Extension(
            f"fastnn._kernels_{name}",
            sources=[f"fastnn/_kernels_{name}.pyx"],
            depends=["fastnn/_kernels.pxi", "fastnn/_vecmath.h", "fastnn/_spans.h", "fastnn/_simd_math.h",
                     f"fastnn/{LAYER_HEADERS[name]}"],
            include_dirs=["fastnn"],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            extra_compile_args=BASE_FLAGS + flags,
        )
        for name, flags in variants.items()
    ]
    return cythonize(
        extensions,
        compiler_directives={"language_level": "3", "embedsignature": True},
    )


setup(ext_modules=make_extensions(), cmdclass={"build_ext": BuildExt})
