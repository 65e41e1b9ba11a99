"""Every kernel family runs on a thread with a 64 KiB stack.

Programs that start many threads shrink their stacks with
``threading.stack_size``; a kernel frame holding a large array (a 64 KB
scratch row, say) then overflows the stack and kills the process.  Each case
runs in a fresh interpreter, so such a crash fails one test instead of the
whole suite; both the serial path and the multi-threaded one (where the
calling thread also runs a share of the work) are covered, and the calls are
large enough for the streaming-store path that uses a scratch row.
"""

import subprocess
import sys
import textwrap

import pytest

STACK_BYTES = 64 * 1024

CALLS = {
    "softmax": "fastnn.softmax(x)",
    "log_softmax": "fastnn.log_softmax(x)",
    "softmax_axis0": "fastnn.softmax(x, axis=0)",
    "softmax_short_rows": "fastnn.log_softmax(short)",
    "softmax_where": "fastnn.softmax(x, where=x > 0)",
    "sigmoid": "fastnn.sigmoid(x)",
    "sigmoid_grad": "fastnn.sigmoid_grad(x)",
    "sigmoid_backward": "fastnn.sigmoid_backward(x, x)",
    "cross_entropy_index": "fastnn.softmax_cross_entropy(x, labels, label_smoothing=0.1)",
    "cross_entropy_short_rows": "fastnn.softmax_cross_entropy(short, short_labels)",
    "cross_entropy_prob": "fastnn.softmax_cross_entropy(x, probs)",
    "binary_cross_entropy": "fastnn.sigmoid_binary_cross_entropy(x, probs, pos_weight=x[0])",
}

SCRIPT = """
import threading
import numpy as np
import fastnn

rows = {rows}
x = np.random.default_rng(0).standard_normal((rows, 1000))
labels = np.arange(rows) % 1000
probs = fastnn.softmax(x)
short = x.reshape(-1, 10)
short_labels = np.arange(len(short)) % 10
fastnn.set_num_threads({threads})
outcome = []

def call():
    result = {call}
    outcome.append(True)

threading.stack_size({stack})
t = threading.Thread(target=call)
t.start()
t.join()
print(outcome == [True])
"""


@pytest.mark.parametrize("threads", [1, 2], ids=["serial", "parallel"])
@pytest.mark.parametrize("family", sorted(CALLS))
def test_kernel_runs_on_a_64_KiB_thread_stack(family, threads, tmp_path):
    # 2100 x 1000 doubles (16.8 MB) take the streaming-store path, which
    # finishes each row in a scratch row before writing it out.
    script = SCRIPT.format(rows=2100, threads=threads, call=CALLS[family], stack=STACK_BYTES)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, f"exit code {done.returncode}: {done.stderr[-2000:]}"
    assert done.stdout.split() == ["True"]
