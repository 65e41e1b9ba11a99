"""OpenMP use: small calls stay on the calling thread, large ones use the
pool, and external thread limits (OMP_NUM_THREADS, threadpoolctl) apply."""

import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
import pytest

import fastnn

pytestmark = pytest.mark.skipif(
    not fastnn.show_config(mode="dicts")["openmp"], reason="fastnn was built without OpenMP"
)


@pytest.fixture
def restore_threads():
    yield
    fastnn.set_num_threads(None)


def run_python(code, **env):
    environment = dict(os.environ, **env)
    # Run outside the source tree, whose uncompiled fastnn/ would shadow the
    # installed package.
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tempfile.gettempdir(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


THREAD_COUNT = """
import os, numpy as np, fastnn
def threads():
    return len(os.listdir("/proc/self/task"))
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_small_calls_never_start_the_thread_pool():
    out = run_python(
        THREAD_COUNT
        + """
fastnn.set_num_threads(2)
before = threads()
x = np.random.default_rng(0).standard_normal((64, 10))
for _ in range(20):
    fastnn.softmax(x); fastnn.log_softmax(x, axis=0); fastnn.sigmoid(x)
    fastnn.softmax_cross_entropy(x, np.zeros(64, dtype=int))
small = threads()
fastnn.softmax(np.zeros((1000, 1000)))
print(before, small, threads())
"""
    )
    before, after_small, after_large = map(int, out.split())
    assert after_small == before
    # The first large call starts the OpenMP pool: one more thread for two.
    assert after_large == before + 1


def test_omp_num_threads_sets_the_default():
    out = run_python("import fastnn; print(fastnn.get_num_threads())", OMP_NUM_THREADS="1")
    assert out == "1"
    out = run_python("import fastnn; print(fastnn.get_num_threads())", OMP_NUM_THREADS="3")
    assert out == "3"


def test_threadpoolctl_limits_fastnn():
    pytest.importorskip("threadpoolctl")
    out = run_python(
        """
import fastnn
from threadpoolctl import threadpool_limits
with threadpool_limits(limits=1, user_api="openmp"):
    inside = fastnn.get_num_threads()
print(inside, fastnn.get_num_threads() >= 1)
""",
        OMP_NUM_THREADS="2",
    )
    assert out == "1 True"


def test_explicit_setting_wins_over_the_openmp_default(restore_threads):
    fastnn.set_num_threads(1)
    assert fastnn.get_num_threads() == 1
    assert fastnn.show_config(mode="dicts")["num_threads"] == 1
    fastnn.set_num_threads(None)
    assert fastnn.get_num_threads() >= 1


@pytest.mark.parametrize("bad", [1.5, "2", True])
def test_set_num_threads_rejects_non_integers(bad):
    with pytest.raises(TypeError, match="positive int"):
        fastnn.set_num_threads(bad)
