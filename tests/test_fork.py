"""Processes started after a multi-threaded call in their parent work.

GNU OpenMP keeps its thread pool across ``fork``, but the pool's threads do
not exist in the child, whose next parallel region then waits forever.  Each
scenario runs in a fresh interpreter under a timeout, so a regression fails
the test instead of hanging the suite.  Every scenario first makes a large
call on two threads in the parent, which starts the OpenMP pool.
"""

import os
import subprocess
import sys
import textwrap

import pytest

import fastnn
import fastnn._dispatch

pytestmark = pytest.mark.skipif(
    not fastnn._dispatch.kernels.openmp_enabled(), reason="fastnn was built without OpenMP"
)

PRELUDE = """
import multiprocessing, os, sys
import numpy as np
import fastnn

X = np.random.default_rng(0).standard_normal((2000, 100))
EXPECTED = np.exp(X - X.max(axis=1, keepdims=True))
EXPECTED /= EXPECTED.sum(axis=1, keepdims=True)


def work(threads):
    # What a child computes: a large softmax (above the parallel cut-off),
    # optionally after choosing its own thread count.
    if threads is not None:
        fastnn.set_num_threads(threads)
    result = fastnn.softmax(X)
    return bool(np.allclose(result, EXPECTED, rtol=1e-12, atol=0)), fastnn.get_num_threads()


def start_parent_pool():
    fastnn.set_num_threads(2)
    assert fastnn.softmax(X).shape == X.shape
    fastnn.set_num_threads(None)
"""


def run_scenario(body, tmp_path, timeout=120):
    """Run PRELUDE + body in a fresh interpreter; return its stdout."""
    script = tmp_path / "scenario.py"
    script.write_text(PRELUDE + textwrap.dedent(body))
    env = dict(os.environ, OMP_NUM_THREADS="2")
    try:
        done = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=tmp_path,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the child process hung after a parallel call in its parent")
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
@pytest.mark.parametrize("threads", [None, 2], ids=["default-threads", "child-sets-2"])
def test_pool_children_compute_after_parallel_parent_call(method, threads, tmp_path):
    if method not in __import__("multiprocessing").get_all_start_methods():
        pytest.skip(f"start method {method!r} is not available on this platform")
    out = run_scenario(
        f"""
        if __name__ == "__main__":
            start_parent_pool()
            with multiprocessing.get_context({method!r}).Pool(2) as pool:
                results = pool.map(work, [{threads!r}] * 4)
            print(all(ok for ok, _ in results), *sorted({{n for _, n in results}}))
        """,
        tmp_path,
    )
    assert out[0] == "True"
    if threads is not None:
        # The child asked for two threads and got them.
        assert out[1:] == ["2"]
    elif method == "fork":
        # A forked child starts serial: its inherited pool is unusable.
        assert out[1:] == ["1"]
    else:
        # spawn and forkserver children start fresh, with the OpenMP default.
        assert out[1:] == ["2"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("threads", [None, 1, 2])
def test_bare_os_fork_after_parallel_parent_call(threads, tmp_path):
    out = run_scenario(
        f"""
        start_parent_pool()
        fastnn.set_num_threads(2)   # not inherited: the child starts serial
        pid = os.fork()
        if pid == 0:
            ok, n = work({threads!r})
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status), fastnn.get_num_threads())
        """,
        tmp_path,
    )
    assert out == ["0", "2"]  # the child succeeded; the parent keeps its setting


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_reports_serial_and_grandchild_works(tmp_path):
    out = run_scenario(
        """
        start_parent_pool()
        pid = os.fork()
        if pid == 0:
            serial = fastnn.get_num_threads()
            ok, _ = work(2)        # a parallel call in the child: fresh pool
            grandchild = os.fork()
            if grandchild == 0:
                ok2, n2 = work(None)
                os._exit(0 if ok2 and n2 == 1 else 3)
            _, status = os.waitpid(grandchild, 0)
            code = os.waitstatus_to_exitcode(status)
            os._exit(0 if ok and serial == 1 and code == 0 else 4)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
        """,
        tmp_path,
    )
    assert out == ["0"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_child_of_a_serial_parent_keeps_openmp(tmp_path):
    # A parent that never ran a parallel kernel has no pool to inherit: its
    # children keep the OpenMP default and use it directly.
    out = run_scenario(
        """
        fastnn.softmax(np.ones((4, 10)))      # serial only
        pid = os.fork()
        if pid == 0:
            ok, n = work(None)
            os._exit(0 if ok and n == 2 else 3)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
        """,
        tmp_path,
    )
    assert out == ["0"]
