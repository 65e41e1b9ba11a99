"""The optional scikit-learn names, in one place.

This is the only module of fastnn that imports scikit-learn.  When
scikit-learn (1.6 or newer) is installed, the names below are scikit-learn's
own, so `fastnn.MLPClassifier` and `fastnn.MLPRegressor` are real
scikit-learn estimators: they inherit ``BaseEstimator`` and
``ClassifierMixin`` or ``RegressorMixin``, validates its input with
``validate_data`` and raises scikit-learn's ``NotFittedError`` and
``ConvergenceWarning``.  Without scikit-learn, small NumPy-only stand-ins
with the same behaviour take their place, so the estimators work on their own
(the idea of LightGBM's and XGBoost's ``compat`` modules).

Exported: ``SKLEARN_INSTALLED``, ``BaseEstimator``, ``ClassifierMixin``, ``RegressorMixin``,
``NotFittedError``, ``ConvergenceWarning``, ``DataConversionWarning``, ``validate_data``,
``check_is_fitted``, ``check_random_state``, ``type_of_target``,
``LabelBinarizer`` and ``train_test_split``.
"""

import inspect
import math
import numbers
import os
import sys
import warnings

import numpy as np

__all__ = [
    "SKLEARN_INSTALLED",
    "BaseEstimator",
    "ClassifierMixin",
    "RegressorMixin",
    "NotFittedError",
    "ConvergenceWarning",
    "DataConversionWarning",
    "validate_data",
    "check_is_fitted",
    "check_random_state",
    "type_of_target",
    "LabelBinarizer",
    "train_test_split",
]

#: The oldest scikit-learn whose API fastnn uses (``validate_data`` and
#: ``__sklearn_tags__`` appeared in 1.6).
SKLEARN_MIN_VERSION = "1.6"


def _sklearn_present_but_unusable():
    """The version string of an installed scikit-learn too old to use, else None."""
    if sys.modules.get("sklearn", False) is None:  # imports deliberately blocked
        return None
    try:
        from importlib.metadata import version

        return version("scikit-learn")
    except Exception:
        return None


try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import type_of_target
    from sklearn.utils.validation import check_is_fitted, validate_data

    SKLEARN_INSTALLED = True
except ImportError:
    SKLEARN_INSTALLED = False
    _old = _sklearn_present_but_unusable()
    if _old is not None:
        warnings.warn(
            f"scikit-learn {_old} is installed but fastnn needs scikit-learn >= "
            f"{SKLEARN_MIN_VERSION} to act as a scikit-learn estimator; fastnn.MLPClassifier "
            "works on its own instead",
            stacklevel=2,
        )


if not SKLEARN_INSTALLED:

    class NotFittedError(ValueError, AttributeError):
        """A method that needs a fitted estimator was called before ``fit``."""

    class ConvergenceWarning(UserWarning):
        """The solver stopped before it converged."""

    class DataConversionWarning(UserWarning):
        """The input was converted, for example y from a column vector to 1-D."""

    # --- the estimator protocol -------------------------------------------------

    class BaseEstimator:
        """``get_params``/``set_params`` and a readable ``repr``, as in scikit-learn.

        Parameters are the keyword arguments of ``__init__``, stored under
        their own names; ``copy.deepcopy`` and ``type(est)(**est.get_params())``
        both give an unfitted copy.
        """

        @classmethod
        def _get_param_names(cls):
            signature = inspect.signature(cls.__init__)
            return sorted(
                name for name, p in signature.parameters.items()
                if name != "self" and p.kind != p.VAR_KEYWORD
            )

        def get_params(self, deep=True):
            """Parameter names mapped to their values (``deep`` is accepted and unused)."""
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params):
            """Set parameters by name; returns the estimator."""
            valid = self._get_param_names()
            for name, value in params.items():
                if name not in valid:
                    raise ValueError(
                        f"Invalid parameter {name!r} for estimator {type(self).__name__}. "
                        f"Valid parameters are: {valid!r}."
                    )
                setattr(self, name, value)
            return self

        def __repr__(self):
            defaults = {
                name: p.default
                for name, p in inspect.signature(type(self).__init__).parameters.items()
                if name != "self"
            }
            changed = []
            for name, value in self.get_params().items():
                default = defaults.get(name, inspect.Parameter.empty)
                same = value is default or (
                    type(value) is type(default)
                    and not isinstance(value, np.ndarray)
                    and value == default
                )
                if not same:
                    changed.append(f"{name}={value!r}")
            return f"{type(self).__name__}({', '.join(changed)})"

    class ClassifierMixin:
        """``score`` as the (weighted) accuracy, as scikit-learn's mixin."""

        _estimator_type = "classifier"

        def score(self, X, y, sample_weight=None):
            """Mean accuracy of ``predict(X)`` against ``y`` (exact match of every
            label for multilabel ``y``), weighted by ``sample_weight``."""
            predicted = self.predict(X)
            y = np.asarray(y)
            if y.shape != predicted.shape:
                raise ValueError(f"y must have shape {predicted.shape}, got {y.shape}")
            correct = predicted == y
            if correct.ndim == 2:
                correct = np.all(correct, axis=1)
            return float(np.average(correct, weights=sample_weight))

    class RegressorMixin:
        """``score`` as the (weighted) coefficient of determination R², as scikit-learn's
        mixin: averaged over the outputs of a multi-output target."""

        _estimator_type = "regressor"

        def score(self, X, y, sample_weight=None):
            """R² of ``predict(X)`` against ``y``, weighted by ``sample_weight``."""
            from ._scores import r2_score

            return r2_score(y, self.predict(X), sample_weight=sample_weight)

    def check_is_fitted(estimator, attributes=None):
        """Raise NotFittedError unless ``fit`` has set attributes ending in ``_``."""
        fitted = [v for v in vars(estimator) if v.endswith("_") and not v.startswith("__")]
        if not fitted:
            raise NotFittedError(
                f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )

    def check_random_state(seed):
        """A ``numpy.random.RandomState`` from None, an int or a RandomState."""
        if seed is None or seed is np.random:
            return np.random.mtrand._rand
        if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
            return np.random.RandomState(seed)
        if isinstance(seed, np.random.RandomState):
            return seed
        raise ValueError(
            f"random_state must be None, an int or a numpy.random.RandomState, got {seed!r}"
        )

    # --- input validation -------------------------------------------------------

    def _is_sparse(X):
        sparse = sys.modules.get("scipy.sparse")
        return sparse is not None and sparse.issparse(X)

    def _feature_names(X):
        columns = getattr(X, "columns", None)
        if columns is None or not hasattr(X, "iloc"):
            return None
        names = np.asarray(columns, dtype=object)
        if len(names) and all(isinstance(name, str) for name in names):
            return names
        return None

    def _check_finite(values, name):
        if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
            what = "NaN" if np.any(np.isnan(values)) else "infinity or a value too large"
            raise ValueError(f"Input {name} contains {what}.")

    def _check_X(X, accept_sparse, dtype):
        if _is_sparse(X):
            if not accept_sparse:
                raise TypeError("Sparse data was passed for X, but dense data is required.")
            X = X.tocsr() if X.format not in ("csr", "csc") else X
            target = X.dtype if X.dtype in dtype else dtype[0]
            X = X.astype(target, copy=False)
            _check_finite(X.data, "X")
            if X.shape[0] < 1 or X.shape[1] < 1:
                raise ValueError(f"Found array with shape {X.shape}; at least 1 sample and 1 "
                                 "feature are required.")
            return X
        try:
            X = np.asarray(X)
            if X.dtype.kind == "O":
                X = X.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError("X must hold real numbers; it cannot be converted to floats") from None
        if X.dtype.kind == "c":
            raise ValueError("Complex data not supported: X must hold real numbers")
        if X.dtype.kind not in "biuf":
            raise ValueError(f"X must hold real numbers, got dtype {X.dtype}")
        if X.ndim != 2:
            raise ValueError(
                f"Expected a 2D array for X, got {X.ndim}D array instead; reshape your data with "
                "X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample."
            )
        if X.shape[0] < 1:
            raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum "
                             "of 1 is required.")
        if X.shape[1] < 1:
            raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while a minimum "
                             "of 1 is required.")
        X = X.astype(X.dtype if X.dtype in dtype else dtype[0], copy=False)
        _check_finite(X, "X")
        return X

    def _check_y(y, multi_output):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1 and not multi_output:
            y = y.ravel()
        if y.ndim not in ((1, 2) if multi_output else (1,)):
            raise ValueError(f"y must be 1-D (n_samples,) or a 2-D indicator matrix, got "
                             f"shape {y.shape}")
        if y.dtype.kind == "f":
            _check_finite(y, "y")
        return y

    def _caller_level():
        """The stacklevel of the first frame outside fastnn, for a warning raised here."""
        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        # Frame 2 here is validate_data's caller: stacklevel 2 of its warnings.warn.
        frame, level = sys._getframe(2), 2
        while frame is not None and frame.f_code.co_filename.startswith(package):
            frame, level = frame.f_back, level + 1
        return level

    def validate_data(estimator, X, y="no_validation", reset=True, accept_sparse=False,
                      dtype=(np.float64,), multi_output=False, **_ignored):
        """Check ``X`` (and ``y``), and record or compare the feature count and names."""
        names = _feature_names(X)
        X = _check_X(X, accept_sparse, tuple(np.dtype(d) for d in dtype))
        if reset:
            estimator.n_features_in_ = X.shape[1]
            if names is not None:
                estimator.feature_names_in_ = names
            elif hasattr(estimator, "feature_names_in_"):
                del estimator.feature_names_in_
        else:
            fitted_names = getattr(estimator, "feature_names_in_", None)
            # As scikit-learn: names on one side only is a warning (the columns
            # are taken in order), different names an error.
            if fitted_names is not None and names is None:
                warnings.warn(
                    f"X does not have valid feature names, but {type(estimator).__name__} was "
                    "fitted with feature names",
                    UserWarning,
                    stacklevel=_caller_level(),
                )
            elif fitted_names is None and names is not None:
                warnings.warn(
                    f"X has feature names, but {type(estimator).__name__} was fitted without "
                    "feature names",
                    UserWarning,
                    stacklevel=_caller_level(),
                )
            elif fitted_names is not None and not np.array_equal(fitted_names, names):
                raise ValueError(
                    "The feature names should match those that were passed during fit: "
                    f"fitted with {list(fitted_names)}, got {list(names)}."
                )
            if X.shape[1] != estimator.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
                    f"{estimator.n_features_in_} features as input."
                )
        if isinstance(y, str) and y == "no_validation":
            return X
        y = _check_y(y, multi_output)
        if y.shape[0] != X.shape[0]:
            raise ValueError(
                f"Found input variables with inconsistent numbers of samples: "
                f"[{X.shape[0]}, {y.shape[0]}]"
            )
        return X, y

    # --- labels -----------------------------------------------------------------

    def type_of_target(y, input_name="y"):
        """"binary", "multiclass", "multilabel-indicator", "continuous",
        "multiclass-multioutput", "continuous-multioutput" or "unknown"."""
        y = np.asarray(y)
        if y.ndim > 2 or y.dtype.kind == "O" and y.ndim == 2 or y.size == 0 and y.ndim != 1:
            return "unknown"
        if y.ndim == 2 and y.shape[1] > 1:
            values = np.unique(y)
            if y.dtype.kind in "biuf" and set(values.tolist()) <= {0, 1}:
                return "multilabel-indicator"
            if y.dtype.kind == "f" and np.any(values != np.round(values)):
                return "continuous-multioutput"
            return "multiclass-multioutput"
        y = y.ravel()
        if y.dtype.kind == "f" and np.any(y != np.round(y)):
            return "continuous"
        return "multiclass" if len(np.unique(y)) > 2 else "binary"

    class LabelBinarizer:
        """Labels to 0/1 indicator columns and back, as scikit-learn's LabelBinarizer
        for ``neg_label=0, pos_label=1``: one column for two classes, one per class
        for more, an indicator matrix kept as it is."""

        def fit(self, y):
            self.y_type_ = type_of_target(y)
            if self.y_type_ not in ("binary", "multiclass", "multilabel-indicator"):
                raise ValueError(
                    f"Unknown label type: {self.y_type_}. Maybe you are trying to fit a "
                    "classifier, which expects discrete classes on a regression target with "
                    "continuous values."
                )
            y = np.asarray(y)
            self.classes_ = np.arange(y.shape[1]) if y.ndim == 2 else np.unique(y)
            return self

        def transform(self, y):
            y = np.asarray(y)
            if self.y_type_ == "multilabel-indicator":
                return y.astype(int)
            codes = np.searchsorted(self.classes_, y)
            codes = np.minimum(codes, len(self.classes_) - 1)
            if np.any(self.classes_[codes] != y):
                unseen = np.unique(y[self.classes_[codes] != y])
                raise ValueError(f"y contains labels not seen in fit: {unseen}")
            onehot = np.zeros((y.shape[0], len(self.classes_)), dtype=int)
            onehot[np.arange(y.shape[0]), codes] = 1
            return onehot[:, 1:] if len(self.classes_) == 2 else onehot

        def inverse_transform(self, Y, threshold=None):
            Y = np.asarray(Y)
            if self.y_type_ == "multilabel-indicator":
                return (Y > (0.5 if threshold is None else threshold)).astype(int)
            if len(self.classes_) == 2 or Y.ndim == 1 or Y.shape[1] == 1:
                column = Y.reshape(Y.shape[0], -1)[:, -1]
                return self.classes_[(column > (0.5 if threshold is None else threshold))
                                     .astype(int)]
            return self.classes_[np.argmax(Y, axis=1)]

    def train_test_split(*arrays, test_size=None, random_state=None, stratify=None,
                         shuffle=True):
        """Shuffle and split every array the same way, keeping the class shares
        of ``stratify`` in both parts (a NumPy-only stand-in for scikit-learn's)."""
        n_samples = arrays[0].shape[0]
        n_test = math.ceil(test_size * n_samples)
        n_train = n_samples - n_test
        if n_train < 1 or n_test < 1:
            raise ValueError(
                f"With n_samples={n_samples} and test_size={test_size}, one of the two sets "
                "would be empty."
            )
        rng = check_random_state(random_state)
        if stratify is None:
            order = rng.permutation(n_samples)
            test, train = order[:n_test], order[n_test:]
        else:
            labels = np.asarray(stratify)
            if labels.ndim == 2:
                labels = np.array([" ".join(row.astype(str)) for row in labels])
            classes, codes = np.unique(labels, return_inverse=True)
            counts = np.bincount(codes)
            if counts.min() < 2:
                raise ValueError(
                    "The least populated class in y has only 1 member, which is too few. "
                    "The minimum number of groups for any class cannot be less than 2."
                )
            if n_test < len(classes) or n_train < len(classes):
                raise ValueError(
                    f"The test_size = {n_test} and train_size = {n_train} should be greater or "
                    f"equal to the number of classes = {len(classes)}"
                )
            # Largest-remainder allocation of the test samples over the classes.
            exact = counts * (n_test / n_samples)
            per_class = np.floor(exact).astype(int)
            for index in np.argsort(per_class - exact)[: n_test - per_class.sum()]:
                per_class[index] += 1
            test, train = [], []
            for k in range(len(classes)):
                members = rng.permutation(np.flatnonzero(codes == k))
                test.append(members[: per_class[k]])
                train.append(members[per_class[k]:])
            test = rng.permutation(np.concatenate(test))
            train = rng.permutation(np.concatenate(train))
        result = []
        for array in arrays:
            result.extend([array[train], array[test]])
        return result
