"""python -m fastnn.train: built-in data, .npz and .csv input, plots, errors; and fastnn.datasets."""

import subprocess
import sys

import numpy as np
import pytest

from fastnn import train as train_module
from fastnn.datasets import load_digits, make_spirals

FAST = ["--quiet", "--hidden", "20", "--max-epochs", "300"]


def accuracy_from(output):
    line = next(line for line in output.splitlines() if line.startswith("Held-out accuracy:"))
    return float(line.split()[2])


def test_default_run_trains_on_spirals_and_reports_accuracy(tmp_path, capsys):
    plot = tmp_path / "run.png"
    assert train_module.main(FAST + ["--plot", str(plot)]) == 0
    output = capsys.readouterr().out
    assert "Data: spirals, 600 samples, 2 features, 3 classes" in output
    assert accuracy_from(output) >= 0.9
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in output
        assert not plot.exists()
    else:
        assert plot.stat().st_size > 1000
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_matplotlib_is_reported(tmp_path, capsys, monkeypatch):
    # None in sys.modules makes "import matplotlib" raise ImportError.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    plot = tmp_path / "run.png"
    assert train_module.main(FAST + ["--plot", str(plot)]) == 0
    assert "matplotlib is not installed" in capsys.readouterr().out
    assert not plot.exists()


def test_plot_is_saved_when_matplotlib_is_installed(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    for dataset in ("spirals", "digits"):
        plot = tmp_path / f"{dataset}.png"
        assert train_module.main(FAST + ["--dataset", dataset, "--plot", str(plot)]) == 0
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_progress_is_printed_per_iteration(capsys):
    assert train_module.main(["--hidden", "10", "--max-epochs", "300", "--no-plot"]) == 0
    lines = capsys.readouterr().out.splitlines()
    progress = [line for line in lines if line.startswith("Iteration")]
    n_iter = int(next(line for line in lines if line.startswith("Trained for")).split()[2])
    assert len(progress) == n_iter > 0


def test_digits_dataset_reaches_95_percent(capsys):
    assert train_module.main(["--dataset", "digits", "--quiet", "--no-plot", "--max-epochs", "200"]) == 0
    assert accuracy_from(capsys.readouterr().out) >= 0.95


def test_npz_input(tmp_path, capsys):
    X, y = make_spirals(n_samples=200, n_classes=2, noise=0.1, seed=1)
    path = tmp_path / "data.npz"
    np.savez(path, X=X, y=y)
    assert train_module.main([str(path), "--no-plot"] + FAST) == 0
    output = capsys.readouterr().out
    assert "Data: data.npz, 200 samples, 2 features, 2 classes" in output
    assert accuracy_from(output) >= 0.9


def test_csv_input_with_header_and_string_labels(tmp_path, capsys):
    X, y = make_spirals(n_samples=200, n_classes=2, noise=0.1, seed=2)
    names = np.array(["left", "right"])[y]
    path = tmp_path / "data.csv"
    rows = ["x1,x2,arm"] + [f"{a:.17g},{b:.17g},{label}" for (a, b), label in zip(X, names)]
    path.write_text("\n".join(rows) + "\n")
    assert train_module.main([str(path), "--no-plot"] + FAST) == 0
    output = capsys.readouterr().out
    assert "200 samples, 2 features, 2 classes" in output
    assert accuracy_from(output) >= 0.9


def test_csv_label_column_and_integer_labels(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("1,0.5,0.25\n0,0.1,0.2\n1,0.7,0.1\n")
    X, y, name = train_module.load_data(str(path), label_column=0)
    np.testing.assert_array_equal(X, [[0.5, 0.25], [0.1, 0.2], [0.7, 0.1]])
    np.testing.assert_array_equal(y, [1, 0, 1])
    assert y.dtype.kind == "i" and name == "data.csv"


@pytest.mark.parametrize(
    "filename, content, message",
    [
        ("data.txt", "1,2,3\n", "unsupported file type"),
        ("data.csv", "a,b\n1,2\n3\n", "columns"),
        ("data.csv", "1,2,a\nfoo,2,b\n", "not a number"),
        ("missing.csv", None, "No such file"),
    ],
    ids=["extension", "ragged-csv", "non-numeric-feature", "missing-file"],
)
def test_bad_input_files_exit_with_an_error(tmp_path, capsys, filename, content, message):
    path = tmp_path / filename
    if content is not None:
        path.write_text(content)
    assert train_module.main([str(path), "--no-plot", "--quiet"]) == 2
    assert message in capsys.readouterr().err


def test_npz_without_recognisable_arrays(tmp_path, capsys):
    path = tmp_path / "data.npz"
    np.savez(path, a=np.ones((3, 2)), b=np.ones(3), c=np.ones(3))
    assert train_module.main([str(path), "--no-plot", "--quiet"]) == 2
    assert "expected arrays named 'X' and 'y'" in capsys.readouterr().err


def test_module_runs_as_a_script(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "fastnn.train", "--quiet", "--no-plot", "--hidden", "10", "--max-epochs", "200"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Held-out accuracy:" in result.stdout


# --------------------------------------------------------------------------
# fastnn.datasets
# --------------------------------------------------------------------------


def test_load_digits_is_the_standard_8x8_set():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16 and np.all(X == np.round(X))
    np.testing.assert_array_equal(np.bincount(y), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    # The first image is a zero: a ring of ink around an empty centre.
    zero = X[0].reshape(8, 8)
    assert y[0] == 0 and zero[3:5, 3:5].sum() == 0 and zero[1:7, 1:7].sum() > 200


@pytest.mark.parametrize("n_samples, n_classes", [(300, 3), (101, 4), (5, 5)], ids=["even", "uneven", "one-each"])
def test_make_spirals_shapes_and_balance(n_samples, n_classes):
    X, y = make_spirals(n_samples, n_classes, noise=0.2, seed=0)
    assert X.shape == (n_samples, 2) and y.shape == (n_samples,)
    counts = np.bincount(y, minlength=n_classes)
    assert counts.sum() == n_samples and counts.max() - counts.min() <= 1
    assert np.all(np.hypot(X[:, 0], X[:, 1]) <= 1.0 + 1e-12)


def test_make_spirals_is_seeded_and_noise_free_at_zero():
    a, _ = make_spirals(90, 3, noise=0.3, seed=4)
    b, _ = make_spirals(90, 3, noise=0.3, seed=4)
    np.testing.assert_array_equal(a, b)
    clean1, _ = make_spirals(90, 3, noise=0.0, seed=1)
    clean2, _ = make_spirals(90, 3, noise=0.0, seed=2)
    np.testing.assert_array_equal(clean1, clean2)


@pytest.mark.parametrize(
    "kwargs", [{"n_samples": 0}, {"n_classes": 0}, {"noise": -1.0}, {"n_samples": 2.5}],
    ids=["no-samples", "no-classes", "negative-noise", "fractional-samples"],
)
def test_make_spirals_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        make_spirals(**{"n_samples": 10, "n_classes": 2, "noise": 0.1, **kwargs})


def test_example_script_runs(capsys):
    import pathlib
    import runpy

    script = pathlib.Path(__file__).resolve().parent.parent / "examples" / "train_mlp.py"
    if not script.exists():
        pytest.skip("examples/ is not next to the tests")
    runpy.run_path(str(script), run_name="__main__")
    output = capsys.readouterr().out
    accuracy = float(next(line for line in output.splitlines() if line.startswith("Held-out")).split()[2])
    assert accuracy >= 0.95
    assert "Gradient check: max relative error" in output
