"""python -m fastnn.train: built-in data, .npz and .csv input, plots, errors; and fastnn.datasets."""

import argparse
import subprocess
import sys

import numpy as np
import pytest

from fastnn import MLPClassifier
from fastnn import train as train_module
from fastnn.datasets import load_digits, make_spirals

FAST = ["--hidden", "20", "--max-epochs", "300"]


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


# adam and sgd may stop at --max-epochs with a ConvergenceWarning (a
# UserWarning), which is the classifier's business, not the display's.
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("solver", ["lbfgs", "adam", "sgd"])
def test_progress_is_a_few_lines_and_a_summary(capsys, solver):
    argv = ["--hidden", "10", "--max-epochs", "300", "--no-plot", "--solver", solver]
    if solver == "sgd":
        argv += ["--learning-rate", "0.1"]
    assert train_module.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    # 300 L-BFGS iterations used to print 300 lines.
    assert len(lines) == 6, lines
    assert lines[0] == "Data: spirals, 600 samples, 2 features, 3 classes"
    assert lines[1] == f"Training ({solver}) on 450 samples, holding out 150..."
    trained = lines[2].split()
    assert trained[:2] == ["Trained", "for"] and 1 <= int(trained[2]) <= 300
    assert trained[3:5] == ["iterations" if solver == "lbfgs" else "epochs", f"({solver})"]
    assert trained[5] == "in" and float(trained[6]) > 0 and trained[7] == "s"
    assert lines[3].startswith("Final training loss: ") and float(lines[3].split()[-1]) > 0
    assert lines[4].startswith("Training accuracy:   ") and lines[4].endswith("on 450 samples")
    assert lines[5].startswith("Held-out accuracy:   ") and lines[5].endswith("on 150 samples")


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("solver", ["lbfgs", "adam", "sgd"])
def test_quiet_prints_only_the_summary(capsys, solver):
    argv = ["--quiet", "--hidden", "10", "--max-epochs", "100", "--no-plot", "--solver", solver]
    if solver == "sgd":
        argv += ["--learning-rate", "0.1"]
    assert train_module.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["Trained", "Final", "Training", "Held-out"]


def test_help_shows_every_default_and_why_some_differ_from_the_classifier(capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_module.main(["--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    parser = train_module._build_parser()
    for action in parser._actions:
        if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
            assert f"(default: {action.default}" in text, action.dest
    assert "(default: lbfgs; MLPClassifier's default is 'adam', but full-batch L-BFGS" in text
    assert "(default: 1000; MLPClassifier's default is 200, but L-BFGS counts iterations" in text
    # Options whose defaults agree with the classifier's say nothing more.
    assert "(default: 0.001)" in text and "(default: relu)" in text
    assert "--quiet print only the final summary" in text


def test_options_map_to_classifier_parameters_in_one_place():
    args = train_module._build_parser().parse_args(
        ["--hidden", "7,3", "--activation", "tanh", "--solver", "sgd", "--learning-rate", "0.05",
         "--batch-size", "16", "--max-epochs", "12", "--l2", "0.5"]
    )
    expected = {"hidden": (7, 3), "activation": "tanh", "solver": "sgd", "learning_rate": 0.05,
                "batch_size": 16, "max_epochs": 12, "l2": 0.5}
    # Every option that sets a classifier parameter goes through the one mapping.
    assert set(train_module.CLASSIFIER_PARAMETERS) == set(expected)
    params = train_module.classifier_params(args)
    classifier = MLPClassifier(**params)  # the mapped names are the classifier's
    for option, parameter in train_module.CLASSIFIER_PARAMETERS.items():
        assert classifier.get_params()[parameter] == expected[option], option


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


def write_csv(path, rows):
    path.write_text("\n".join(",".join(str(cell) for cell in row) for row in rows) + "\n")
    return str(path)


def spiral_rows(n_samples=120, seed=3):
    X, y = make_spirals(n_samples=n_samples, n_classes=2, noise=0.1, seed=seed)
    return X, y


def test_csv_label_column_of_distinct_values_names_the_likely_mistake(tmp_path, capsys):
    # The label was put first, so the default (last column) reads a feature.
    X, y = spiral_rows()
    path = write_csv(tmp_path / "data.csv", [["arm", "x1", "x2"]] + [[c, a, b] for (a, b), c in zip(X, y)])
    assert train_module.main([path, "--no-plot"]) == 2
    error = capsys.readouterr().err
    n_distinct = len(np.unique(X[:, 1]))
    assert n_distinct > 110
    assert f"the label column (column 2 'x2', the last) has {n_distinct} distinct values in 120 rows" in error
    assert "it looks like a feature, not a class label" in error
    assert "choose it with --label-column" in error
    # Pointed at the right column, the same file trains.
    assert train_module.main([path, "--no-plot", "--label-column", "0"] + FAST) == 0


def test_csv_non_integer_labels_get_a_warning(tmp_path, capsys):
    X, y = spiral_rows()
    grades = np.array(["0.5", "1.5"])[y]
    path = write_csv(tmp_path / "data.csv", [[a, b, g] for (a, b), g in zip(X, grades)])
    with pytest.warns(UserWarning, match=r"holds numbers that are not integers, such as '(0|1)\.5' on line 1"):
        _, labels, _ = train_module.load_data(path)
    np.testing.assert_array_equal(labels, grades)
    assert train_module.main([path, "--no-plot"] + FAST) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("warning: ") and "--label-column" in captured.err
    assert "2 classes" in captured.out


def test_csv_integer_valued_float_labels_are_integers(tmp_path):
    path = write_csv(tmp_path / "data.csv", [[0.5, 1.0, "1.0"], [0.1, 0.2, "0.0"], [0.7, 0.1, "1"]])
    _, labels, _ = train_module.load_data(path)
    assert labels.dtype.kind == "i"
    np.testing.assert_array_equal(labels, [1, 0, 1])


@pytest.mark.parametrize(
    "content, message",
    [
        ("x1,x2,y\n1,2,a\n\n3,4, \n5,6,b\n",
         "line 4: the label (column 2 'y', the last) is blank"),
        ("1,2,a\n3,4,\n5,6,b\n", "line 2: the label (column 2, the last) is blank"),
        ("x1,x2,y\n1,2,a\n3,oops,b\n",
         "line 3, column 1 'x2': 'oops' is not a number; features must be numbers. "
         "If this column holds the label, choose it with --label-column 1."),
        ("1,2,a\n3,4,b\n,6,a\n", "line 3, column 0: the value is blank"),
        ("1,2,a\n3,inf,b\n", "line 2, column 1: 'inf' is not a finite number"),
        ("1;2;a\n3;4;b\n",
         "line 1 parses to a single column, but a .csv file must separate its values with commas "
         "(at least one feature column and one label column); this line seems to be separated "
         "by semicolons"),
        ("1\t2\ta\n3\t4\tb\n", "this line seems to be separated by tabs"),
        ("1\n2\n", "line 1 parses to a single column, but a .csv file must separate its values with commas"),
    ],
    ids=["blank-label-after-header", "blank-label", "text-feature", "blank-feature", "infinite-feature",
         "semicolons", "tabs", "one-column"],
)
def test_csv_errors_name_the_line_and_column(tmp_path, capsys, content, message):
    path = tmp_path / "data.csv"
    path.write_text(content)
    assert train_module.main([str(path), "--no-plot", "--quiet"]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("split", ["shuffled", "class-missing-from-training"])
def test_plot_legend_maps_colours_to_class_names(split):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba

    X, y = make_spirals(n_samples=150, n_classes=3, noise=0.1, seed=0)
    names = np.array(["left", "middle", "right"])[y]
    if split == "shuffled":
        order = np.random.default_rng(0).permutation(len(y))
        X, names = X[order], names[order]
    else:
        # make_spirals lists the samples class by class: "right" is only held out.
        assert set(names[:100]) == {"left", "middle"}
    classifier = MLPClassifier((10,), solver="lbfgs", max_iter=50, random_state=0)
    with pytest.warns(UserWarning):  # 50 iterations do not converge
        classifier.fit(X[:100], names[:100])
    figure = train_module.plot_figure(classifier, X[:100], names[:100], X[100:], names[100:])
    try:
        boundary = figure.axes[1]
        legend = boundary.get_legend()
        texts = [text.get_text() for text in legend.get_texts()]
        assert texts == ["left", "middle", "right", "train", "test"]
        legend_colour = {
            text: to_rgba(handle.get_color())
            for text, handle in zip(texts, legend.legend_handles)
        }
        assert len({legend_colour[name] for name in ("left", "middle", "right")}) == 3
        # Every plotted point has the legend's colour of its class.
        scatters = [c for c in boundary.collections if c.get_offsets().shape[0] in (100, 50)]
        assert len(scatters) == 2
        for scatter, labels in zip(scatters, (names[:100], names[100:])):
            colours = scatter.get_facecolors()
            if colours.shape[0] != len(labels):  # the "x" marker is drawn by its edges
                colours = scatter.get_edgecolors()
            for colour, label in zip(colours, labels):
                assert tuple(colour) == legend_colour[label]
    finally:
        plt.close(figure)


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
