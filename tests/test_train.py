"""python -m fastnn.train: built-in data, .npz and .csv input, plots, errors; and fastnn.datasets."""

import argparse
import subprocess
import sys

import numpy as np
import pytest

from fastnn import MLPClassifier, MLPRegressor
from fastnn import train as train_module
from fastnn.datasets import load_digits, make_friedman1, make_spirals

FAST = ["--hidden", "20", "--max-epochs", "300"]


def accuracy_from(output):
    line = next(line for line in output.splitlines() if line.startswith("Held-out accuracy:"))
    return float(line.split()[2])


def r2_from(output, part="Held-out"):
    line = next(line for line in output.splitlines() if line.startswith(f"{part} R²:"))
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


# adam and sgd may stop at --max-epochs before converging: main reports that
# as a note on standard error, and no warning escapes it (pytest would fail).
@pytest.mark.parametrize("solver", ["lbfgs", "adam", "sgd"])
def test_progress_is_a_few_lines_and_a_summary(capsys, solver):
    argv = ["--hidden", "10", "--max-epochs", "300", "--no-plot", "--solver", solver]
    if solver == "sgd":
        argv += ["--learning-rate", "0.1"]
    assert train_module.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    # 300 L-BFGS iterations used to print 300 lines.
    assert len(lines) == 7, lines
    assert lines[0] == "Data: spirals, 600 samples, 2 features, 3 classes"
    assert lines[1] == "Task: classification (--task auto: the target holds integers, 3 distinct values)"
    assert lines[2] == f"Training ({solver}) on 450 samples, holding out 150..."
    trained = lines[3].split()
    assert trained[:2] == ["Trained", "for"] and 1 <= int(trained[2]) <= 300
    assert trained[3:5] == ["iterations" if solver == "lbfgs" else "epochs", f"({solver})"]
    assert trained[5] == "in" and float(trained[6]) > 0 and trained[7] == "s"
    assert lines[4].startswith("Final training loss: ") and float(lines[4].split()[-1]) > 0
    assert lines[5].startswith("Training accuracy:   ") and lines[5].endswith("on 450 samples")
    assert lines[6].startswith("Held-out accuracy:   ") and lines[6].endswith("on 150 samples")


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
    assert ("(default: lbfgs; MLPClassifier's and MLPRegressor's default is 'adam', "
            "but full-batch L-BFGS") in text
    assert ("(default: 1000; MLPClassifier's and MLPRegressor's default is 200, "
            "but L-BFGS counts iterations") in text
    # Options whose defaults agree with the estimators' say nothing more.
    assert "(default: 0.001)" in text and "(default: relu)" in text
    assert "--quiet print only the final summary" in text
    # --task documents auto's rule, with the module's own thresholds.
    rule = (f"auto picks regression when the target holds numbers, not all integers, with more "
            f"than {train_module.MANY_DISTINCT_VALUES} distinct values or more distinct values "
            f"than {train_module.MANY_DISTINCT_SHARE * 100:g}% of the rows")
    assert rule in text


@pytest.mark.parametrize("estimator_class", [MLPClassifier, MLPRegressor], ids=lambda c: c.__name__)
def test_options_map_to_estimator_parameters_in_one_place(estimator_class):
    args = train_module._build_parser().parse_args(
        ["--hidden", "7,3", "--activation", "tanh", "--solver", "sgd", "--learning-rate", "0.05",
         "--batch-size", "16", "--max-epochs", "12", "--l2", "0.5"]
    )
    expected = {"hidden": (7, 3), "activation": "tanh", "solver": "sgd", "learning_rate": 0.05,
                "batch_size": 16, "max_epochs": 12, "l2": 0.5}
    # Every option that sets an estimator parameter goes through the one mapping.
    assert set(train_module.ESTIMATOR_PARAMETERS) == set(expected)
    params = train_module.estimator_params(args)
    estimator = estimator_class(**params)  # the mapped names are both estimators'
    for option, parameter in train_module.ESTIMATOR_PARAMETERS.items():
        assert estimator.get_params()[parameter] == expected[option], option


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
    assert train_module.main([path, "--no-plot", "--task", "classification"]) == 2
    error = capsys.readouterr().err
    n_distinct = len(np.unique(X[:, 1]))
    assert n_distinct > 110
    assert f"the label column (column 2 'x2', the last) has {n_distinct} distinct values in 120 rows" in error
    assert "it looks like a feature, not a class label" in error
    assert "choose it with --label-column" in error
    assert "If it is a continuous target, pass --task regression." in error
    # --task auto reads the same column as a continuous target, and says so.
    assert train_module.main([path, "--no-plot", "--hidden", "5", "--max-epochs", "2000"]) == 0
    assert (f"Task: regression (--task auto: the target holds {n_distinct} distinct values "
            f"in 120 rows, not all integers)") in capsys.readouterr().out
    # Pointed at the right column, the same file trains a classifier.
    assert train_module.main([path, "--no-plot", "--label-column", "0"] + FAST) == 0
    output = capsys.readouterr().out
    assert "Task: classification" in output and "Held-out accuracy:" in output


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
    assert "pass --task regression" in captured.err
    assert "2 classes" in captured.out
    assert ("Task: classification (--task auto: the target holds only 2 distinct values in "
            "120 rows)") in captured.out
    # Asked for classification, the user has said what the numbers are: no warning.
    assert train_module.main([path, "--no-plot", "--task", "classification"] + FAST) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "2 classes" in captured.out


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
# Regression: --task, --dataset friedman1, R² and the predicted-against-true plot
# --------------------------------------------------------------------------

REGRESSION_FAST = ["--hidden", "10"]


def smooth_target_data(n_samples=200, seed=5):
    """Three features and a smooth, continuous target of them (every value distinct)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n_samples, 3))
    y = np.sin(2.0 * X[:, 0]) + X[:, 1] ** 2 - 0.5 * X[:, 2]
    return X, y


def write_data(tmp_path, X, y, kind):
    """X and y as a .csv (with a header) or .npz file; returns its path."""
    if kind == "npz":
        path = tmp_path / "data.npz"
        np.savez(path, X=X, y=y)
        return str(path)
    header = [[f"x{j}" for j in range(X.shape[1])] + ["target"]]
    rows = [[*(f"{v:.17g}" for v in row), target] for row, target in zip(X, y)]
    return write_csv(tmp_path / "data.csv", header + rows)


@pytest.mark.parametrize("kind", ["csv", "npz"])
def test_auto_picks_regression_for_a_continuous_target_and_says_so(tmp_path, capsys, kind):
    X, y = smooth_target_data()
    path = write_data(tmp_path, X, y, kind)
    assert train_module.main([path, "--no-plot"] + REGRESSION_FAST) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"Data: data.{kind}, 200 samples, 3 features, a continuous target with mean ")
    assert lines[1] == ("Task: regression (--task auto: the target holds 200 distinct values in "
                        "200 rows, not all integers)")
    assert lines[4].startswith("Final training loss: ") and lines[4].endswith("(standardised target)")
    assert lines[5].startswith("Training R²:         ") and lines[5].endswith("on 150 samples")
    assert lines[6].startswith("Held-out R²:         ") and lines[6].endswith("on 50 samples")
    assert not any("accuracy" in line for line in lines)
    # A smooth function of three features is learnt almost exactly.
    assert r2_from("\n".join(lines), "Training") >= 0.95
    assert r2_from("\n".join(lines)) >= 0.9


def test_regression_scores_are_the_regressors_r2_in_the_targets_units(capsys):
    X, y = smooth_target_data()
    # A target in the thousands: standardising it must not change R².
    y = 5000.0 + 1000.0 * y
    regressor, held_out = train_module.train(
        X, y, quiet=True, hidden_layer_sizes=(10,), solver="lbfgs", max_iter=2000
    )
    assert isinstance(regressor, MLPRegressor)
    assert r2_from(capsys.readouterr().out) == pytest.approx(held_out, abs=5e-5)
    # Rebuild the split and the standardisation, and score in the target's own units.
    order = np.random.default_rng(0).permutation(len(y))
    train_rows, test_rows = order[50:], order[:50]
    mean, scale = X[train_rows].mean(axis=0), X[train_rows].std(axis=0)
    y_mean, y_scale = y[train_rows].mean(), y[train_rows].std()
    predicted = y_mean + y_scale * regressor.predict((X[test_rows] - mean) / scale)
    residual = np.sum((y[test_rows] - predicted) ** 2)
    total = np.sum((y[test_rows] - y[test_rows].mean()) ** 2)
    assert held_out == pytest.approx(1.0 - residual / total, rel=1e-9)
    assert held_out >= 0.9


def test_task_classification_forces_a_classifier(tmp_path, capsys):
    X, y = smooth_target_data()
    # 12 non-integer levels in 200 rows: more distinct values than 5% of the rows.
    levels = np.round((y - y.min()) / (y.max() - y.min()) * 11) + 0.5
    assert len(np.unique(levels)) == 12
    path = write_csv(tmp_path / "levels.csv", [[*row, level] for row, level in zip(X, levels)])
    assert train_module.main([path, "--no-plot"] + REGRESSION_FAST) == 0
    assert ("Task: regression (--task auto: the target holds 12 distinct values in 200 rows"
            in capsys.readouterr().out)
    assert train_module.main([path, "--no-plot", "--task", "classification"] + FAST) == 0
    captured = capsys.readouterr()
    assert "Data: levels.csv, 200 samples, 3 features, 12 classes" in captured.out
    assert "Task: classification (--task classification)" in captured.out
    assert 0.0 <= accuracy_from(captured.out) <= 1.0 and "R²" not in captured.out
    assert captured.err == ""


def test_task_regression_forces_a_regressor_on_integer_targets(tmp_path, capsys):
    X, y = smooth_target_data()
    counts = np.round(10 * (y - y.min())).astype(int)  # integer-valued, so auto takes classes
    path = write_data(tmp_path, X, counts, "npz")
    assert train_module.choose_task(counts)[0] == "classification"
    assert train_module.main([path, "--no-plot", "--task", "regression"] + REGRESSION_FAST) == 0
    output = capsys.readouterr().out
    assert "Task: regression (--task regression)" in output
    assert r2_from(output) >= 0.9


def test_friedman1_dataset_trains_a_regressor(capsys):
    assert train_module.main(["--dataset", "friedman1", "--no-plot"] + REGRESSION_FAST) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Data: friedman1, 600 samples, 10 features, a continuous target with mean 1")
    assert lines[1] == ("Task: regression (--task auto: the target holds 600 distinct values in "
                        "600 rows, not all integers)")
    # noise=1 caps R² near 0.96; the network gets most of the way.
    assert 0.85 <= r2_from("\n".join(lines)) <= 1.0


def test_friedman1_dataset_is_seeded_and_named_in_load_data():
    X, y, name = train_module.load_data(dataset="friedman1", seed=3)
    again, y_again, _ = train_module.load_data(dataset="friedman1", seed=3)
    other, _, _ = train_module.load_data(dataset="friedman1", seed=4)
    assert name == "friedman1" and X.shape == (600, 10) and y.dtype == np.float64
    np.testing.assert_array_equal(X, again)
    np.testing.assert_array_equal(y, y_again)
    assert not np.array_equal(X, other)


def test_quiet_regression_prints_only_the_summary(capsys):
    assert train_module.main(["--dataset", "friedman1", "--quiet", "--no-plot"] + REGRESSION_FAST) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["Trained", "for"], ["Final", "training"], ["Training", "R²:"], ["Held-out", "R²:"]]


def test_r2_is_spelt_in_ascii_where_stdout_cannot_encode_it(capsys, monkeypatch):
    import io

    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    monkeypatch.setattr(sys, "stdout", ascii_out)
    assert train_module.main(["--dataset", "friedman1", "--quiet", "--no-plot"] + REGRESSION_FAST) == 0
    ascii_out.seek(0)
    text = ascii_out.read()
    assert "Training R^2:        " in text and "Held-out R^2:        " in text


def test_plot_is_saved_for_a_regressor(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "friedman1.png"
    assert train_module.main(["--dataset", "friedman1", "--plot", str(plot)] + REGRESSION_FAST) == 0
    assert f"Saved {plot}" in capsys.readouterr().out
    assert plot.stat().st_size > 1000
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("units", ["raw", "standardised"])
def test_regression_plot_shows_predicted_against_true_with_r2(units):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y = smooth_target_data(n_samples=120)
    y = 50.0 + 20.0 * y
    X_train, y_train, X_test, y_test = X[:90], y[:90], X[90:], y[90:]
    # Fitted on the raw target, or (as the command line does) on the standardised one.
    mean, scale = (0.0, 1.0) if units == "raw" else (y_train.mean(), y_train.std())
    regressor = MLPRegressor(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=2000, random_state=0)
    regressor.fit(X_train, (y_train - mean) / scale)
    figure = train_module.plot_figure(regressor, X_train, y_train, X_test, y_test,
                                      target_mean=mean, target_scale=scale)
    try:
        loss_axis, fit_axis = figure.axes
        assert loss_axis.get_title() == "Loss curve" and loss_axis.get_xlabel() == "iteration"
        assert loss_axis.get_ylabel() == "training loss (standardised target)"
        np.testing.assert_array_equal(loss_axis.lines[0].get_ydata(), regressor.loss_curve_)
        assert fit_axis.get_xlabel() == "true target" and fit_axis.get_ylabel() == "predicted target"
        scores = []
        for scatter, X_part, y_part in zip(fit_axis.collections, (X_train, X_test), (y_train, y_test)):
            predicted = mean + scale * regressor.predict(X_part)
            np.testing.assert_allclose(scatter.get_offsets(), np.column_stack([y_part, predicted]))
            scores.append(1 - np.sum((y_part - predicted) ** 2) / np.sum((y_part - y_part.mean()) ** 2))
        assert fit_axis.get_title() == (f"Predicted against true: R² {scores[0]:.3f} train, "
                                        f"{scores[1]:.3f} held out")
        legend = [text.get_text() for text in fit_axis.get_legend().get_texts()]
        assert legend == ["train", "held out", "predicted = true"]
    finally:
        plt.close(figure)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--task", "regresion"], "argument --task: invalid choice: 'regresion'"),
        (["--task", "classification", "--dataset", "friedman1"],
         "--task classification does not fit --dataset friedman1, which is a regression problem: "
         "leave --task out or pass --task regression"),
        (["--task", "regression", "--dataset", "spirals"],
         "--task regression does not fit --dataset spirals, which is a classification problem"),
        (["--task", "regression", "--dataset", "digits"],
         "--task regression does not fit --dataset digits, which is a classification problem"),
    ],
    ids=["misspelt", "friedman1-as-classes", "spirals-as-regression", "digits-as-regression"],
)
def test_bad_task_options_are_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        train_module.main(argv + ["--no-plot"])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.startswith("usage: python -m fastnn.train")
    assert captured.out == ""  # nothing was loaded or trained


def test_task_with_a_data_file_ignores_the_dataset_default(tmp_path, capsys):
    # --dataset is spirals by default, but a file replaces it: no conflict.
    X, y = smooth_target_data()
    path = write_data(tmp_path, X, y, "npz")
    assert train_module.main([path, "--task", "regression", "--no-plot", "--quiet"] + REGRESSION_FAST) == 0
    assert "Held-out R²:" in capsys.readouterr().out


@pytest.mark.parametrize(
    "kind, target, task, message",
    [
        ("csv", "words", "regression",
         "line 2: the target (column 3 'target', the last) is 'low', not a number; a regression "
         "needs a finite number in every row. If the label is in another column, choose it "
         "with --label-column (0 is the first column, -1 the last). For class labels, pass "
         "--task classification."),
        ("csv", "inf", "auto",
         "line 5: the target (column 3 'target', the last) is 'inf', not a finite number"),
        ("npz", "words", "regression",
         "data.npz: a regression needs numbers in y, but it holds <U4 values such as 'low'; "
         "for class labels pass --task classification"),
        ("npz", "nan", "auto",
         "data.npz: a regression needs a finite number in every row of y, but row 3 (counted "
         "from 0) holds nan"),
        ("npz", "continuous", "classification",
         "data.npz: class labels must be integers or text, but row 0 (counted from 0) of y holds"),
    ],
    ids=["csv-text-as-regression", "csv-infinite-target", "npz-text-as-regression",
         "npz-nan-target", "npz-floats-as-classes"],
)
def test_unusable_targets_for_the_task_are_caught_before_training(
    tmp_path, capsys, kind, target, task, message
):
    X, y = smooth_target_data()
    if target == "words":
        y = np.where(y > 0, "high", "low")
        y[0] = "low"  # the first row, line 2 of the CSV file after its header
    elif target in ("inf", "nan"):
        y = y.copy()
        y[3] = np.inf if target == "inf" else np.nan
    path = write_data(tmp_path, X, y if kind == "npz" else np.array([str(v) for v in y]), kind)
    assert train_module.main([path, "--no-plot", "--task", task]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Training (" not in captured.out


def test_regression_needs_two_held_out_samples_for_r2(tmp_path, capsys):
    X, y = smooth_target_data(n_samples=30)
    path = write_data(tmp_path, X, y, "npz")
    assert train_module.main([path, "--no-plot", "--test-fraction", "0.04"] + REGRESSION_FAST) == 2
    error = capsys.readouterr().err
    assert ("--test-fraction 0.04 holds out 1 of 30 samples, but R² needs at least 2 samples in "
            "the training and the held-out part") in error


def many_levels(n_distinct, n_rows, integers=False):
    """n_rows values cycling through n_distinct levels: k + 0.5, or k for integers."""
    return np.arange(n_rows) % n_distinct + (0.0 if integers else 0.5)


@pytest.mark.parametrize(
    "y, expected",
    [
        (many_levels(21, 1000), "regression"),   # more than 20 distinct values
        (many_levels(20, 1000), "classification"),  # 20 is not more than 20, nor than 5% of 1000
        (many_levels(6, 100), "regression"),     # 6 distinct values are more than 5% of 100 rows
        (many_levels(5, 100), "classification"),  # 5 are not
        (many_levels(500, 500, integers=True), "classification"),  # integers are classes
        (many_levels(50, 50).astype(str), "regression"),  # text holding numbers counts as numbers
        (np.array(["a", "b"] * 50), "classification"),
        (np.array([0.5, np.nan] * 50 + [1.5, 2.5, 3.5, 4.5, 5.5]), "regression"),
    ],
    ids=["21-distinct", "20-distinct", "6-in-100", "5-in-100", "integers", "numeric-text",
         "words", "with-nan"],
)
def test_choose_task_rule(y, expected):
    task, reason = train_module.choose_task(y)
    assert task == expected, reason
    n_distinct = len(np.unique(y))
    if expected == "regression":
        assert reason == f"the target holds {n_distinct} distinct values in {len(y)} rows, not all integers"
    # An explicit task is returned as given, whatever y holds.
    for forced in ("classification", "regression"):
        assert train_module.choose_task(y, forced) == (forced, "chosen by the caller")


@pytest.mark.parametrize("task", ["Regression", "", None, "auto "])
def test_choose_task_and_train_reject_an_unknown_task(task):
    with pytest.raises(ValueError, match=r"task must be one of 'auto', 'classification', 'regression', got"):
        train_module.choose_task([0.5, 1.5], task)
    with pytest.raises(ValueError, match="task must be one of"):
        train_module.train(np.zeros((10, 2)), np.arange(10), task=task, quiet=True)
    with pytest.raises(ValueError, match="task must be one of"):
        train_module.load_data(dataset="spirals", task=task)


# --------------------------------------------------------------------------
# The command line for newcomers: full option names, the data file as an
# option, every argument checked before any data is read, messages in the
# command line's terms, plots that never replace an earlier run's, named axes
# --------------------------------------------------------------------------


def usage_error(argv, capsys):
    """main(argv)'s usage error: standard error, after checking it exits with 2 and prints
    nothing on standard output (no data read, nothing trained)."""
    with pytest.raises(SystemExit) as exit_info:
        train_module.main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("usage: python -m fastnn.train")
    return captured.err


def spirals_csv(tmp_path, header=("x1", "x2", "arm"), name="data.csv"):
    X, y = make_spirals(n_samples=200, n_classes=2, noise=0.1, seed=2)
    rows = ([list(header)] if header else []) + [[f"{a:.17g}", f"{b:.17g}", c] for (a, b), c in zip(X, y)]
    return write_csv(tmp_path / name, rows)


@pytest.mark.parametrize(
    "argv, unrecognised",
    [(["--datas", "digits"], "--datas"), (["--hid", "5"], "--hid"), (["--max-e", "5"], "--max-e")],
    ids=["dataset", "hidden", "max-epochs"],
)
def test_abbreviated_options_are_refused(capsys, argv, unrecognised):
    error = usage_error(argv + ["--no-plot", "--quiet"], capsys)
    assert f"unrecognized arguments: {unrecognised}" in error


@pytest.mark.parametrize("option", ["--data", "--file"])
def test_the_data_file_can_be_given_with_an_option(tmp_path, capsys, option):
    path = spirals_csv(tmp_path)
    assert train_module.main([option, path, "--no-plot"] + FAST) == 0
    output = capsys.readouterr().out
    assert output.startswith("Data: data.csv, 200 samples, 2 features, 2 classes")
    assert accuracy_from(output) >= 0.9


@pytest.mark.parametrize(
    "where", ["first-and-data", "data-and-file", "data-twice"],
)
def test_a_data_file_given_twice_is_a_usage_error(tmp_path, capsys, where):
    path = spirals_csv(tmp_path)
    other = spirals_csv(tmp_path, name="other.csv")
    argv = {
        "first-and-data": [path, "--data", other],
        "data-and-file": ["--data", path, "--file", other],
        "data-twice": ["--data", path, "--data", other],
    }[where]
    error = usage_error(argv + ["--no-plot"], capsys)
    assert "the data file is given twice" in error and "give it once" in error
    assert repr(path) in error and repr(other) in error


@pytest.mark.parametrize("value", ["mydata.csv", "runs/MyData.NPZ", "existing"],
                         ids=["csv", "npz-upper-case", "existing-file"])
def test_a_dataset_that_looks_like_a_file_points_to_the_data_argument(tmp_path, capsys, monkeypatch, value):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "existing").write_text("1,2,0\n")
    error = usage_error(["--dataset", value, "--no-plot"], capsys)
    assert (f"argument --dataset: {value!r} looks like a data file, but --dataset takes the name "
            f"of built-in data (spirals, digits, friedman1)") in error
    assert f"'python -m fastnn.train {value}'" in error and f"--data {value}" in error
    assert "invalid choice" not in error


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--dataset", "digits", "FILE"],
         "both --dataset digits and the data file 'FILE' are given; give one"),
        (["digits"], "'digits' is built-in data, not a file: pass --dataset digits"),
        (["--label-column", "0"],
         "--label-column applies to .csv files only, and the data is the built-in spirals"),
        (["NPZ", "--label-column", "1"],
         "--label-column applies to .csv files only, and the data is 'NPZ', a .npz file"),
        (["--plot", "run.png", "--no-plot"], "both --plot and --no-plot are given; give one"),
    ],
    ids=["dataset-and-file", "dataset-as-file", "label-column-without-csv",
         "label-column-with-npz", "plot-and-no-plot"],
)
def test_options_that_contradict_each_other_are_usage_errors(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    csv_path = spirals_csv(tmp_path)
    X, y = make_spirals(n_samples=100, n_classes=2, seed=0)
    np.savez(tmp_path / "data.npz", X=X, y=y)
    replace = {"FILE": csv_path, "NPZ": str(tmp_path / "data.npz")}
    argv = [replace.get(arg, arg) for arg in argv]
    message = message.replace("FILE", csv_path).replace("NPZ", str(tmp_path / "data.npz"))
    assert message in usage_error(argv, capsys)


@pytest.mark.parametrize(
    "flag, value, expected",
    [
        ("--hidden", "0", "the sizes of the hidden layers, positive integers separated by commas"),
        ("--hidden", "64,0", "the sizes of the hidden layers"),
        ("--hidden", "", "the sizes of the hidden layers"),
        ("--hidden", "ten", "the sizes of the hidden layers"),
        ("--max-epochs", "0", "a positive integer"),
        ("--max-epochs", "2.5", "a positive integer"),
        ("--learning-rate", "0", "a positive number"),
        ("--learning-rate", "-0.1", "a positive number"),
        ("--learning-rate", "nan", "a positive number"),
        ("--learning-rate", "inf", "a positive number"),
        ("--l2", "-1", "a number >= 0"),
        ("--l2", "nan", "a number >= 0"),
        ("--batch-size", "0", "a positive integer or auto"),
        ("--test-fraction", "0", "a number between 0 and 1 (both excluded)"),
        ("--test-fraction", "1", "a number between 0 and 1 (both excluded)"),
        ("--test-fraction", "nan", "a number between 0 and 1 (both excluded)"),
        ("--seed", "-1", "an integer from 0 to 4294967295"),
        ("--seed", str(2**32), "an integer from 0 to 4294967295"),
    ],
)
def test_numeric_options_are_checked_before_any_data_is_read(tmp_path, capsys, flag, value, expected):
    # The data file does not exist: an option checked only after loading would
    # give "No such file" instead.
    missing = str(tmp_path / "missing.csv")
    error = usage_error([missing, flag, value, "--no-plot"], capsys)
    assert f"argument {flag}: expected {expected}" in error and f"got {value!r}" in error
    assert "No such file" not in error


# Each option setting an estimator parameter, with a value its estimator refuses.
BAD_ESTIMATOR_VALUES = {
    "hidden": (0,), "activation": "relux", "solver": "newton", "learning_rate": -1.0,
    "batch_size": 0, "max_epochs": 0, "l2": -1.0,
}


@pytest.mark.parametrize("option", sorted(BAD_ESTIMATOR_VALUES))
def test_estimator_messages_are_put_in_the_flags_terms(option):
    assert set(BAD_ESTIMATOR_VALUES) == set(train_module.ESTIMATOR_PARAMETERS)
    parameter = train_module.ESTIMATOR_PARAMETERS[option]
    flag = "--" + option.replace("_", "-")
    X, y = make_spirals(n_samples=20, n_classes=2, seed=0)
    with pytest.raises(ValueError, match=parameter) as error_info:
        MLPClassifier(**{parameter: BAD_ESTIMATOR_VALUES[option]}).fit(X, y)
    message = train_module._in_cli_terms(str(error_info.value))
    assert message.startswith(f"{flag} must be")
    assert parameter not in message.replace(flag, "")
    assert "MLPClassifier" not in message


@pytest.mark.parametrize(
    "checker, lenient, flag, value, parameter",
    [
        ("_hidden_sizes", lambda text: tuple(int(p) for p in text.split(",")), "--hidden", "0",
         "hidden_layer_sizes"),
        ("_positive_number", float, "--learning-rate", "-1", "learning_rate_init"),
        ("_positive_integer", int, "--max-epochs", "0", "max_iter"),
        ("_non_negative_number", float, "--l2", "-1", "alpha"),
        ("_batch_size", int, "--batch-size", "0", "batch_size"),
    ],
    ids=["hidden", "learning-rate", "max-epochs", "l2", "batch-size"],
)
def test_the_estimators_rules_stop_the_command_before_training(
    capsys, monkeypatch, checker, lenient, flag, value, parameter
):
    # With the command line's own check out of the way, the estimators' rule
    # still stops it before any data is read, naming the flag.
    monkeypatch.setattr(train_module, checker, lenient)
    error = usage_error([flag, value, "--no-plot"], capsys)
    assert f"error: {flag} must be" in error
    assert parameter not in error.replace(flag, "")


# The note that replaces the estimators' ConvergenceWarning.
def convergence_note(max_epochs, solver):
    unit = "L-BFGS iterations" if solver == "lbfgs" else "epochs"
    return (f"note: training stopped at --max-epochs {max_epochs} ({unit}) before converging; "
            f"raise --max-epochs to train longer")


@pytest.mark.parametrize("solver", ["lbfgs", "adam", "sgd"])
@pytest.mark.parametrize("quiet", [False, True], ids=["", "quiet"])
def test_stopping_at_max_epochs_is_one_note_in_the_flags_terms(capsys, solver, quiet):
    argv = ["--hidden", "10", "--max-epochs", "5", "--no-plot", "--solver", solver]
    assert train_module.main(argv + (["--quiet"] if quiet else [])) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [convergence_note(5, solver)]
    assert "Trained for 5 " in captured.out


def test_a_run_from_the_shell_prints_the_note_without_a_source_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "fastnn.train", "--quiet", "--no-plot", "--hidden", "10",
         "--max-epochs", "7"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # Not "<frozen runpy>:88: ConvergenceWarning: ... (max_iter=7)."
    assert result.stderr == convergence_note(7, "lbfgs") + "\n"


def test_warnings_lines_turn_other_warnings_into_one_line_each():
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):  # repeated, as a warning raised in a loop is
            warnings.warn("lbfgs failed to converge after 3 iteration(s) (status=2):\n"
                          "ABNORMAL_TERMINATION_IN_LNSRCH\n", train_module.ConvergenceWarning)
        warnings.warn("overflow in exp\n(max_iter=9)", RuntimeWarning)
    classifier = MLPClassifier(max_iter=1000)
    classifier.n_iter_ = 3  # stopped well before --max-epochs
    assert train_module._warning_lines(caught, classifier, 1000) == [
        "note: training stopped before converging: lbfgs failed to converge after 3 iteration(s) "
        "(status=2): ABNORMAL_TERMINATION_IN_LNSRCH",
        "warning: overflow in exp (--max-epochs 9)",
    ]


@pytest.mark.parametrize("case", ["missing-directory", "directory", "parent-is-a-file", "format"])
def test_the_plot_path_is_checked_before_training(tmp_path, capsys, case):
    (tmp_path / "notes.txt").write_text("not a directory")
    path, message = {
        "missing-directory": (tmp_path / "out" / "xor.png",
                              f"argument --plot: the directory {str(tmp_path / 'out')!r} of "
                              f"{str(tmp_path / 'out' / 'xor.png')!r} does not exist: create it first"),
        "directory": (tmp_path, f"argument --plot: {str(tmp_path)!r} is a directory; give a file path"),
        "parent-is-a-file": (tmp_path / "notes.txt" / "xor.png",
                             f"the directory {str(tmp_path / 'notes.txt')!r} of "
                             f"{str(tmp_path / 'notes.txt' / 'xor.png')!r} is not a directory"),
        "format": (tmp_path / "xor.xyz", "argument --plot: matplotlib cannot write .xyz files; use .png"),
    }[case]
    if case == "format":
        pytest.importorskip("matplotlib")
    assert message in usage_error(FAST + ["--plot", str(path)], capsys)


def test_without_plot_a_run_never_overwrites_an_earlier_runs_plot(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    earlier = b"an earlier run's plot"
    (tmp_path / "fastnn_train.png").write_bytes(earlier)
    for expected in ("fastnn_train-2.png", "fastnn_train-3.png"):
        assert train_module.main(FAST + ["--quiet"]) == 0
        assert capsys.readouterr().out.splitlines()[-1] == f"Saved {expected}"
        assert (tmp_path / expected).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "fastnn_train.png").read_bytes() == earlier
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "fastnn_train-2.png", "fastnn_train-3.png", "fastnn_train.png"]


def test_without_plot_the_first_run_writes_the_default_name(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    assert train_module.main(FAST + ["--quiet"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"Saved {train_module.DEFAULT_PLOT}"
    assert [p.name for p in tmp_path.iterdir()] == [train_module.DEFAULT_PLOT]


@pytest.mark.parametrize("given, written", [("run.png", "run.png"), ("run", "run.png")],
                         ids=["png", "no-extension"])
def test_an_explicit_plot_path_is_replaced_and_says_so(tmp_path, capsys, given, written):
    pytest.importorskip("matplotlib")
    (tmp_path / written).write_bytes(b"the previous plot")
    assert train_module.main(FAST + ["--quiet", "--plot", str(tmp_path / given)]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == f"Saved {tmp_path / written} (replacing the previous file)"
    assert (tmp_path / written).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == [written]


def test_help_documents_where_the_plot_goes(capsys):
    with pytest.raises(SystemExit):
        train_module.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "PATH is replaced if it exists" in text
    assert ("(default: fastnn_train.png in the current directory, or fastnn_train-2.png, -3, ... "
            "if it exists: a run never replaces an earlier run's plot)") in text
    assert "--data FILE, --file FILE the data file, as an option" in text
    assert "friedman1 a regression (default: spirals)" in text


@pytest.mark.parametrize(
    "data, argv, expected",
    [
        ("csv-header", [], ("x1", "x2")),
        ("csv-header-label-first", ["--label-column", "0"], ("width", "height")),
        ("csv-no-header", ["--label-column", "0"], ("column 1", "column 2")),
        ("npz", [], ("feature 0", "feature 1")),
        ("spirals", [], ("feature 0", "feature 1")),
    ],
    ids=["csv-header", "csv-header-label-first", "csv-no-header", "npz", "spirals"],
)
def test_decision_boundary_axes_are_named_after_the_features(tmp_path, capsys, monkeypatch, data, argv, expected):
    pytest.importorskip("matplotlib")
    if data == "csv-header":
        argv = [spirals_csv(tmp_path)] + argv
    elif data.startswith("csv-"):
        X, y = make_spirals(n_samples=200, n_classes=2, noise=0.1, seed=2)
        header = [["arm", "width", "height"]] if data == "csv-header-label-first" else []
        argv = [write_csv(tmp_path / "data.csv", header + [[c, a, b] for (a, b), c in zip(X, y)])] + argv
    elif data == "npz":
        X, y = make_spirals(n_samples=200, n_classes=2, noise=0.1, seed=2)
        np.savez(tmp_path / "data.npz", X=X, y=y)
        argv = [str(tmp_path / "data.npz")] + argv
    labels = []
    draw = train_module.plot_figure

    def recording_plot_figure(*args, **kwargs):
        figure = draw(*args, **kwargs)
        labels.append((figure.axes[1].get_xlabel(), figure.axes[1].get_ylabel()))
        return figure

    monkeypatch.setattr(train_module, "plot_figure", recording_plot_figure)
    assert train_module.main(argv + FAST + ["--quiet", "--plot", str(tmp_path / "run.png")]) == 0
    assert labels == [expected]


def test_load_data_and_plot_figure_keep_their_signatures_and_check_feature_names(tmp_path):
    pytest.importorskip("matplotlib")
    path = spirals_csv(tmp_path)
    X, y, name = train_module.load_data(path)  # still three values
    assert X.shape == (200, 2) and name == "data.csv"
    classifier = MLPClassifier((5,), solver="lbfgs", max_iter=500, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"feature_names must hold one name per feature, 2, got 3"):
        train_module.plot_figure(classifier, X, y, X, y, feature_names=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"feature_names must hold one name per feature, 2, got 1"):
        train_module.train(X, y, quiet=True, feature_names=["a"])


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
