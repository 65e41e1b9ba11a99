"""The public API is annotated, and mypy checks it and code that uses it.

mypy runs once per session over three targets: the package, a file of
correct calls (``typing/usage_ok.py``, which must give no error) and a file
of wrong calls (``typing/usage_bad.py``, which must give an error with the
stated code on each line marked ``# E: <code>`` and nowhere else).  The
usage files are named so that pytest does not collect them.
"""

import importlib
import inspect
import re
import sys
from pathlib import Path

import pytest

import fastnn

TYPING_DIR = Path(__file__).parent / "typing"
PACKAGE_DIR = Path(fastnn.__file__).parent
# The configuration next to the package's source, when the tests run from a
# checkout; an installed package is checked with mypy's defaults.
PYPROJECT = PACKAGE_DIR.parent / "pyproject.toml"

_ERROR_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+): error: (?P<message>.*?)(?:  \[(?P<code>[\w-]+)\])?$")

# Public objects that another change is rewriting; each is an expected
# failure (strict: once annotated, remove it from here).
_BEING_REWRITTEN: set = set()


@pytest.fixture(scope="session")
def mypy_errors(tmp_path_factory):
    """Run mypy once; return ``{file name: [(line, code, message), ...]}``."""
    api = pytest.importorskip("mypy.api", reason="mypy is not installed (it is in the test extra)")
    installed = "site-packages" in PACKAGE_DIR.parts
    # An installed package is named (-p), not given as a directory: mypy
    # would take site-packages for a source root and every module in it for
    # one of ours ("This file shadows library module ...").
    package = ["-p", "fastnn"] if installed else [str(PACKAGE_DIR)]
    targets = [TYPING_DIR / "usage_ok.py", TYPING_DIR / "usage_bad.py"]
    args = [
        "--cache-dir", str(tmp_path_factory.mktemp("mypy_cache")),
        "--no-error-summary",
        "--no-pretty",
        "--show-absolute-path",
        "--show-error-codes",
        "--hide-error-context",
        "--python-executable", sys.executable,
    ]
    if PYPROJECT.is_file():
        args += ["--config-file", str(PYPROJECT)]
    with pytest.MonkeyPatch.context() as patch:
        if not installed:
            # Not installed: let the usage files import the package from
            # its source tree, as the tests do.
            patch.setenv("MYPYPATH", str(PACKAGE_DIR.parent))
        # mypy takes either a package name or files, not both: two runs
        # when installed (sharing one cache), one otherwise.
        runs = [package, [str(t) for t in targets]] if installed else [
            package + [str(t) for t in targets]
        ]
        stdout, stderr, status = "", "", 0
        for run in runs:
            out, err, code = api.run(args + run)
            stdout, stderr, status = stdout + out, stderr + err, max(status, code)
    assert status in (0, 1), f"mypy did not run (exit status {status}):\n{stderr}{stdout}"
    errors = {}
    for line in stdout.splitlines():
        match = _ERROR_LINE.match(line)
        if match:
            path = Path(match["path"]).resolve()
            key = path.name if path.parent == TYPING_DIR.resolve() else "fastnn"
            errors.setdefault(key, []).append((int(match["line"]), match["code"], match["message"]))
        elif ": note: " not in line and line.strip():
            errors.setdefault("unparsed", []).append((0, None, line))
    return errors


def test_mypy_package_is_clean(mypy_errors):
    assert not mypy_errors.get("fastnn"), mypy_errors["fastnn"]
    assert not mypy_errors.get("unparsed"), mypy_errors["unparsed"]


def test_mypy_accepts_correct_usage(mypy_errors):
    assert not mypy_errors.get("usage_ok.py"), mypy_errors["usage_ok.py"]


def _expected_bad_lines():
    expected = {}
    for number, line in enumerate((TYPING_DIR / "usage_bad.py").read_text().splitlines(), 1):
        match = re.search(r"# E: ([\w-]+)\s*$", line)
        if match:
            expected[number] = match[1]
    return expected


def test_mypy_rejects_every_wrong_call_and_nothing_else(mypy_errors):
    expected = _expected_bad_lines()
    assert len(expected) >= 6
    reported = {}
    for line, code, message in mypy_errors.get("usage_bad.py", []):
        reported.setdefault(line, []).append((code, message))
    missed = {line: code for line, code in expected.items() if line not in reported}
    unexpected = {line: errors for line, errors in reported.items() if line not in expected}
    wrong_code = {
        line: (expected[line], errors)
        for line, errors in reported.items()
        if line in expected and expected[line] not in {code for code, _ in errors}
    }
    assert not missed, f"mypy accepted these wrong calls (line: expected code): {missed}"
    assert not unexpected, f"mypy reported errors on unmarked lines: {unexpected}"
    assert not wrong_code, f"mypy reported other errors than expected: {wrong_code}"


def _resolve(dotted):
    """The object named ``dotted``, looked up as a user would: through the
    package's attributes (``fastnn.gradcheck`` is the function), or else in
    the module that defines it."""
    obj = fastnn
    try:
        for part in dotted.split(".")[1:]:
            obj = getattr(obj, part)
    except AttributeError:
        module, _, name = dotted.rpartition(".")
        obj = getattr(importlib.import_module(module), name)
    return obj


def test_public_api_is_fully_annotated(public_name, request):
    """Every parameter and every return of every public callable is annotated.

    mypy checks only what is annotated, so an unannotated public function
    would silently accept any argument.
    """
    if public_name in _BEING_REWRITTEN:
        request.applymarker(pytest.mark.xfail(reason="being rewritten elsewhere", strict=True))
    obj = _resolve(public_name)
    function = obj.__init__ if inspect.isclass(obj) else obj
    if inspect.isclass(obj) and function is object.__init__:
        return  # no constructor of its own, nothing to annotate
    signature = inspect.signature(function)
    missing = [
        name
        for index, (name, parameter) in enumerate(signature.parameters.items())
        if parameter.annotation is inspect.Parameter.empty
        and not (index == 0 and name in ("self", "cls"))
    ]
    if signature.return_annotation is inspect.Signature.empty:
        missing.append("return")
    assert not missing, f"{public_name}: no annotation for {', '.join(missing)}"
