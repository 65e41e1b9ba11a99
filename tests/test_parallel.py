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


# --------------------------------------------------------------------------
# Thread counts that cannot be honoured
# --------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -3, 10**9, 2**40, 2**70])
def test_set_num_threads_rejects_counts_outside_the_allowed_range(bad, restore_threads):
    before = fastnn.get_num_threads()
    limit = fastnn._config.max_threads()
    with pytest.raises(ValueError, match=rf"\[1, {limit}\].*got {bad}"):
        fastnn.set_num_threads(bad)
    assert fastnn.get_num_threads() == before


def test_the_largest_allowed_count_is_accepted_and_runs(restore_threads):
    limit = fastnn._config.max_threads()
    assert 64 <= limit <= 2**31 - 1
    fastnn.set_num_threads(limit)
    assert fastnn.get_num_threads() == limit
    x = np.random.default_rng(0).standard_normal((300, 200))
    np.testing.assert_allclose(fastnn.softmax(x).sum(axis=1), 1.0, rtol=1e-12)


def test_a_huge_omp_num_threads_is_capped_not_fatal():
    # libgomp would try to allocate state for every one of 10**9 threads and
    # end the process; fastnn caps its default at the allowed maximum.
    out = run_python(
        """
import numpy as np, fastnn, fastnn._config
n = fastnn.get_num_threads()
fastnn.softmax(np.ones((2000, 100)))
print(n == fastnn._config.max_threads())
""",
        OMP_NUM_THREADS="1000000000",
    )
    assert out == "True"


def test_omp_thread_limit_caps_the_allowed_range():
    out = run_python(
        """
import fastnn
try:
    fastnn.set_num_threads(4)
except ValueError as error:
    print("rejected", "[1, 3]" in str(error))
""",
        OMP_THREAD_LIMIT="3",
    )
    assert out == "rejected True"


def test_threadpoolctl_limit_applies_to_the_thread_that_set_it():
    # OpenMP limits (omp_set_num_threads, and so threadpoolctl) belong to the
    # calling thread: a limit set in one Python thread leaves calls from
    # another at the default, and results are the same in both.
    pytest.importorskip("threadpoolctl")
    out = run_python(
        """
import threading
import numpy as np
import fastnn
from threadpoolctl import threadpool_limits

x = np.random.default_rng(0).standard_normal((2000, 100))
expected = fastnn.softmax(x)
barrier = threading.Barrier(2)
seen = {}

def limited():
    with threadpool_limits(limits=1, user_api="openmp"):
        barrier.wait()
        seen["limited"] = (fastnn.get_num_threads(), np.array_equal(fastnn.softmax(x), expected))
        barrier.wait()

def other():
    barrier.wait()
    seen["other"] = (fastnn.get_num_threads(), np.array_equal(fastnn.softmax(x), expected))
    barrier.wait()

threads = [threading.Thread(target=limited), threading.Thread(target=other)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(*seen["limited"], *seen["other"])
""",
        OMP_NUM_THREADS="2",
    )
    assert out == "1 True 2 True"


def test_set_num_threads_applies_to_every_python_thread(restore_threads):
    import threading

    fastnn.set_num_threads(1)
    seen = []
    t = threading.Thread(target=lambda: seen.append(fastnn.get_num_threads()))
    t.start()
    t.join()
    assert seen == [1]
