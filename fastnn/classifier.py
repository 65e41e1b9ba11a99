"""MLPClassifier: a drop-in replacement for scikit-learn's, on fastnn's kernels.

The estimator only: the network and its gradients are `fastnn.MLP`, the
stochastic optimisers live in ``_optimizers.py`` and every scikit-learn name
comes from ``_compat.py`` (scikit-learn's own when it is installed, NumPy-only
stand-ins otherwise).  The parameters, defaults, fitted attributes and
training loop are scikit-learn 1.9's, so that ``from fastnn import
MLPClassifier`` can replace ``from sklearn.neural_network import
MLPClassifier``.  The input is validated once per ``fit`` or
``partial_fit``; the loop over minibatches then calls the network's trusted
path.
"""

import functools
import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Optional, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._blas_threads import training_blas_limit
from ._compat import (
    SKLEARN_INSTALLED,
    BaseEstimator,
    ClassifierMixin,
    ConvergenceWarning,
    DataConversionWarning,
    LabelBinarizer,
    NotFittedError,
    check_is_fitted,
    check_random_state,
    train_test_split,
    type_of_target,
    validate_data,
)
from ._optimizers import LEARNING_RATE_SCHEDULES, AdamOptimizer, SGDOptimizer
from ._training_rows import InMemoryRows
from ._typing import FloatArray
from ._validation import is_integer, is_real
from .mlp import ACTIVATIONS, INIT_SCHEMES, MLP, _is_sparse

__all__ = ["MLPClassifier", "ConvergenceWarning", "NotFittedError", "SOLVERS"]

SOLVERS = ("adam", "sgd", "lbfgs")
_STOCHASTIC_SOLVERS = ("sgd", "adam")


def _is_bool(value):
    return isinstance(value, (bool, np.bool_))


def _label_kind(label):
    """"number", "string" or the type name of one label, to find mixed label types."""
    if isinstance(label, (str, np.str_, bytes)):
        return "string"
    if isinstance(label, (numbers.Number, np.number)) and not isinstance(label, (bool, np.bool_)):
        return "number"
    if isinstance(label, (bool, np.bool_)):
        return "bool"
    return type(label).__name__


def _check_label_types(y):
    """Raise a clear error for object labels that mix kinds (say ints and strings):
    they cannot be sorted into ``classes_``."""
    y = np.asarray(y, dtype=object) if not hasattr(y, "dtype") else np.asarray(y)
    if y.dtype != object:
        return
    kinds = {}
    for label in y.ravel():
        kinds.setdefault(_label_kind(label), label)
        if len(kinds) > 1:
            examples = ", ".join(f"{repr(v)} ({k})" for k, v in kinds.items())
            raise ValueError(
                f"y mixes labels of different types: {examples}. The labels of a classifier "
                "must be all numbers or all strings; convert y, for example with "
                "y.astype(str)."
            )


def class_codes(Y):
    """Class indices from a LabelBinarizer's 0/1 matrix (one column for two classes)."""
    if Y.shape[1] == 1:
        return Y[:, 0].astype(np.intp)
    return np.argmax(Y, axis=1)


def _stochastic_only(method):
    """``method`` as an attribute that exists only for the "sgd" and "adam" solvers,
    as scikit-learn's ``available_if``: ``hasattr(clf, "partial_fit")`` is False
    for "lbfgs"."""

    class StochasticOnly:
        def __get__(self, instance, owner=None):
            if instance is None:
                return method
            if instance.solver not in _STOCHASTIC_SOLVERS:
                raise AttributeError(
                    f"partial_fit is only available for stochastic optimizers. "
                    f"{instance.solver} is not stochastic."
                )
            return functools.partial(method, instance)

    descriptor = StochasticOnly()
    descriptor.__doc__ = method.__doc__
    return descriptor


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """Multilayer perceptron classifier: scikit-learn's MLPClassifier on fastnn's kernels.

    The parameters, defaults, fitted attributes and behaviour are those of
    scikit-learn 1.9's ``sklearn.neural_network.MLPClassifier``; the last
    two parameters, and the optimiser state kept across ``warm_start`` and
    ``partial_fit``, are fastnn's additions.  scikit-learn is optional: when
    it is installed this is a scikit-learn estimator (it works in
    pipelines, grid searches and every other scikit-learn tool).

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default (100,)
        Units of each hidden layer; ``()`` gives (multinomial) logistic
        regression.
    activation : {"relu", "logistic", "tanh", "identity"}, default "relu"
        Activation of the hidden layers; "sigmoid" is accepted as another
        name for "logistic".
    solver : {"adam", "sgd", "lbfgs"}, default "adam"
        "adam" and "sgd" take minibatch steps; "lbfgs" minimises the
        full-batch loss with ``scipy.optimize.minimize(method="L-BFGS-B")``,
        often best for small data sets.
    alpha : float, default 1e-4
        Strength of the L2 penalty ``0.5 * alpha * sum ||W||^2``, divided by
        the number of samples of the batch (their total weight with sample
        weights), as in scikit-learn.
    batch_size : int or "auto", default "auto"
        Minibatch size of "adam" and "sgd"; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        Learning-rate schedule of "sgd": constant; ``learning_rate_init /
        (t + 1) ** power_t`` after each epoch, ``t`` the samples seen; or
        divided by 5 whenever ``n_iter_no_change`` epochs bring no
        improvement of ``tol``.
    learning_rate_init : float, default 1e-3
        Initial step size of "sgd" and "adam".
    power_t : float, default 0.5
        Exponent of the "invscaling" schedule.
    max_iter : int, default 200
        Most epochs ("sgd", "adam") or iterations ("lbfgs").
    shuffle : bool, default True
        Shuffle the samples before every epoch ("sgd", "adam").
    random_state : None, int or numpy.random.RandomState, default None
        Seeds the initial weights, the shuffling and the validation split.
        An int gives the same network as scikit-learn's with that seed.
    tol : float, default 1e-4
        Training stops when the training loss (or, with early stopping, the
        validation accuracy) has not improved by ``tol`` for more than
        ``n_iter_no_change`` epochs; "lbfgs"'s gradient tolerance.
    verbose : bool, default False
        Print the loss after every epoch or iteration.
    warm_start : bool, default False
        Start ``fit`` from the previous solution, and (unlike scikit-learn)
        with the previous optimiser state: SGD's velocity, Adam's moments,
        the learning rate and the random stream all continue.
    momentum : float, default 0.9
        Momentum of "sgd", in [0, 1].
    nesterovs_momentum : bool, default True
        Use Nesterov's momentum ("sgd").
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the training data (a stratified
        split, except for multilabel y), stop when its accuracy stops
        improving, and keep the best epoch's weights ("sgd", "adam").
    validation_fraction : float, default 0.1
        Share of the training data held out for early stopping, in [0, 1).
    beta_1, beta_2 : float, default 0.9, 0.999
        Adam's moment decay rates, in [0, 1).
    epsilon : float, default 1e-8
        Adam's denominator guard.
    n_iter_no_change : int, default 10
        Patience of the stopping rule ("sgd", "adam").
    max_fun : int, default 15000
        Most loss evaluations of "lbfgs".
    class_weight : None, "balanced" or dict, default None
        Weight of each class in the loss: a sample of class ``c`` counts
        ``class_weight[c]`` times (multiplied by its ``sample_weight``).
        "balanced" uses ``n_samples / (n_classes * count(c))``.  Not for
        multilabel y.
    init : {"glorot", "he"}, default "glorot"
        Initial weights: "glorot" is scikit-learn's Glorot-uniform draw;
        "he" draws hidden layers uniformly in ``±sqrt(6 / n_in)`` (He et
        al.), the output layer with Glorot's bound, biases zero.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (column indices for multilabel y).
    loss_ : float
        The loss after the last epoch or iteration.
    best_loss_ : float or None
        The lowest training loss reached ("sgd", "adam"); None with early
        stopping.
    loss_curve_ : list of float
        The loss after every epoch (every iteration for "lbfgs").
    validation_scores_ : list of float or None
        Validation accuracy after every epoch with early stopping.
    validation_loss_curve_ : list of float or None
        Weighted mean log-loss of the validation set (without the penalty)
        after every epoch with early stopping.
    best_validation_score_ : float or None
        The best validation accuracy, whose weights are kept.
    t_ : int
        Number of training samples seen by the solver.
    coefs_ : list of ndarray
        Weight matrix of each layer, shape (n_in, n_out).
    intercepts_ : list of ndarray
        Bias vector of each layer.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Column names of a DataFrame ``X`` whose names are all strings.
    n_iter_ : int
        Epochs (or L-BFGS iterations) run by the last call.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of output units: 1 for two classes, one per class or label
        otherwise.
    out_activation_ : str
        "logistic" for binary and multilabel y, "softmax" otherwise.
    mlp_ : fastnn.MLP
        The network (fastnn's addition).
    params_ : ndarray
        The flat parameter vector; ``coefs_`` and ``intercepts_`` are views
        into it (fastnn's addition).

    Notes
    -----
    The network computes in float32 when ``X`` is float32 and in float64
    otherwise, for every solver.  With sample weights ``w`` the loss is the
    weighted mean ``sum_n w_n l_n / sum_n w_n`` plus
    ``0.5 * alpha * sum ||W||^2 / sum_n w_n`` per batch (scikit-learn's
    definition).  ``X`` may be a SciPy sparse matrix; only the first
    layer's products touch it.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import MLPClassifier
    >>> from fastnn.datasets import make_spirals
    >>> X, y = make_spirals(n_samples=300, n_classes=3, noise=0.1, seed=0)
    >>> labels = np.array(["red", "green", "blue"])[y]
    >>> clf = MLPClassifier(hidden_layer_sizes=(50,), activation="tanh",
    ...                     solver="lbfgs", max_iter=500, random_state=0)
    >>> clf.fit(X, labels).classes_
    array(['blue', 'green', 'red'], dtype='<U5')
    >>> bool(clf.score(X, labels) > 0.95)
    True
    >>> clf.predict([[0.0, 0.5]]).shape
    (1,)
    """

    def __init__(
        self,
        hidden_layer_sizes: Union[int, Sequence[int]] = (100,),
        activation: Literal["identity", "logistic", "sigmoid", "tanh", "relu"] = "relu",
        *,
        solver: Literal["adam", "sgd", "lbfgs"] = "adam",
        alpha: float = 0.0001,
        batch_size: Union[int, Literal["auto"]] = "auto",
        learning_rate: Literal["constant", "invscaling", "adaptive"] = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        class_weight: Union[None, Literal["balanced"], Mapping[Any, float]] = None,
        init: Literal["glorot", "he"] = "glorot",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.class_weight = class_weight
        self.init = init

    if SKLEARN_INSTALLED:

        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.input_tags.sparse = True
            tags.classifier_tags.multi_label = True
            return tags

    # --- fitted weights as views of the flat parameter vector -----------------

    @property
    def coefs_(self):
        params = self.__dict__.get("params_")
        if params is None:
            raise AttributeError("'MLPClassifier' object has no attribute 'coefs_'")
        return [W for W, _ in self.mlp_._unpack_trusted(params)]

    @coefs_.setter
    def coefs_(self, coefs):
        for (W, _), new in zip(self.mlp_._unpack_trusted(self.params_), coefs, strict=True):
            W[...] = new

    @property
    def intercepts_(self):
        params = self.__dict__.get("params_")
        if params is None:
            raise AttributeError("'MLPClassifier' object has no attribute 'intercepts_'")
        return [b for _, b in self.mlp_._unpack_trusted(params)]

    @intercepts_.setter
    def intercepts_(self, intercepts):
        for b, new in zip([b for _, b in self.mlp_._unpack_trusted(self.params_)], intercepts,
                          strict=True):
            b[...] = new

    # --- hyperparameters ---------------------------------------------------------

    def _validate_hyperparameters(self):
        """Check every hyperparameter; return the hidden sizes as a tuple of ints."""
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        if not all(is_integer(size) for size in sizes):
            raise ValueError(f"hidden_layer_sizes must be integers, got {self.hidden_layer_sizes!r}")
        if any(size <= 0 for size in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")

        def fail(name, expected):
            raise ValueError(
                f"The '{name}' parameter of MLPClassifier must be {expected}. "
                f"Got {getattr(self, name)!r} instead."
            )

        choices = {
            "activation": ACTIVATIONS,
            "solver": SOLVERS,
            "learning_rate": LEARNING_RATE_SCHEDULES,
            "init": INIT_SCHEMES,
        }
        for name, allowed in choices.items():
            if not isinstance(getattr(self, name), str) or getattr(self, name) not in allowed:
                fail(name, f"a str among {list(allowed)}")
        for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
            if not _is_bool(getattr(self, name)):
                fail(name, "a bool")
        if not (_is_bool(self.verbose) or is_integer(self.verbose)):
            fail("verbose", "a bool or an int")
        ranges = [
            ("alpha", lambda v: v >= 0, "a float in the range [0, inf)"),
            ("learning_rate_init", lambda v: v > 0, "a float in the range (0, inf)"),
            ("power_t", lambda v: v >= 0, "a float in the range [0, inf)"),
            ("tol", lambda v: v >= 0, "a float in the range [0, inf)"),
            ("momentum", lambda v: 0 <= v <= 1, "a float in the range [0, 1]"),
            ("validation_fraction", lambda v: 0 <= v < 1, "a float in the range [0, 1)"),
            ("beta_1", lambda v: 0 <= v < 1, "a float in the range [0, 1)"),
            ("beta_2", lambda v: 0 <= v < 1, "a float in the range [0, 1)"),
            ("epsilon", lambda v: v > 0, "a float in the range (0, inf)"),
        ]
        for name, ok, expected in ranges:
            value = getattr(self, name)
            if not is_real(value) or not np.isfinite(value) or not ok(value):
                fail(name, expected)
        for name in ("max_iter", "max_fun"):
            if not is_integer(getattr(self, name)) or getattr(self, name) < 1:
                fail(name, "an int in the range [1, inf)")
        if not (
            (is_integer(self.n_iter_no_change) and self.n_iter_no_change >= 1)
            or (is_real(self.n_iter_no_change) and self.n_iter_no_change == np.inf)
        ):
            fail("n_iter_no_change", "an int in the range [1, inf) or inf")
        if not (
            (isinstance(self.batch_size, str) and self.batch_size == "auto")
            or (is_integer(self.batch_size) and self.batch_size >= 1)
        ):
            fail("batch_size", "'auto' or an int in the range [1, inf)")
        weights = self.class_weight
        if not (weights is None or (isinstance(weights, str) and weights == "balanced")
                or isinstance(weights, dict)):
            fail("class_weight", "None, 'balanced' or a dict mapping classes to weights")
        if isinstance(weights, dict) and not all(
            is_real(w) and np.isfinite(w) and w >= 0 for w in weights.values()
        ):
            fail("class_weight", "a dict of finite non-negative weights")
        return tuple(int(size) for size in sizes)

    # --- input ---------------------------------------------------------------------

    def _validate_input(self, X, y, incremental, reset):
        """Validate X and y once; return X, the 0/1 target matrix and the labels."""
        _check_label_types(y)
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please change "
                "the shape of y to (n_samples, ), for example using ravel().",
                DataConversionWarning,
                stacklevel=4,
            )
            y = y.ravel()
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._adopt_labels(LabelBinarizer().fit(y))
        else:
            if type_of_target(y) == "multilabel-indicator":
                classes = np.arange(y.shape[1])
            else:
                classes = np.unique(y)
            if self.warm_start and not incremental:
                self._check_warm_start_classes(classes)
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        Y = np.asarray(self._label_binarizer.transform(y)).astype(bool)
        return X, Y, y

    def _adopt_labels(self, binarizer):
        """Take the labels of a fitted LabelBinarizer; a classifier needs two or more."""
        self._label_binarizer = binarizer
        self.classes_ = binarizer.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"y has only one class, {self.classes_[0]!r}; a classifier needs at least "
                "2 classes"
            )

    def _check_warm_start_classes(self, classes):
        if set(classes) != set(self.classes_):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in the "
                f"previous call to fit. Previously got {self.classes_}, `y` has {classes}"
            )

    def _check_sample_weight(self, sample_weight, n_samples):
        if sample_weight is None:
            return None
        if is_real(sample_weight):
            weights = np.full(n_samples, float(sample_weight))
        else:
            weights = np.asarray(sample_weight)
            if weights.dtype.kind not in "biuf":
                raise ValueError(f"sample_weight must hold real numbers, got dtype {weights.dtype}")
            weights = weights.astype(np.float64)
            if weights.ndim != 1:
                raise ValueError(
                    f"Sample weights must be 1D array or scalar, got {weights.ndim}D array. "
                    f"Expected either a scalar value or a 1D array of length {n_samples}."
                )
            if weights.shape != (n_samples,):
                raise ValueError(
                    f"sample_weight.shape == {weights.shape}, expected {(n_samples,)}!"
                )
        if not np.all(np.isfinite(weights)):
            raise ValueError("sample_weight contains NaN or infinity")
        if np.any(weights < 0):
            raise ValueError("sample_weight must be non-negative")
        if not np.any(weights > 0):
            raise ValueError("Sample weights must contain at least one non-zero number.")
        return weights

    def _sample_weights(self, sample_weight, Y, y, incremental):
        """The per-sample weights of the loss: sample_weight times class_weight[y]."""
        weights = self._check_sample_weight(sample_weight, Y.shape[0])
        if self.class_weight is None:
            return weights
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            raise ValueError("class_weight is not supported for multilabel y")
        if incremental and isinstance(self.class_weight, str):
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit, which sees one batch "
                "at a time: compute the weights of the whole data once, n_samples / (n_classes "
                "* count of the class), and pass them as a dict"
            )
        codes = class_codes(Y)
        per_sample = self._class_weights(codes, weights)[codes]
        weights = per_sample if weights is None else weights * per_sample
        if not np.any(weights > 0):
            raise ValueError("the sample and class weights give every sample a zero weight")
        return weights

    def _class_weights(self, codes, sample_weight, totals=None):
        """The weight of each class in ``classes_``.

        "balanced" is ``total / (n_classes * total of class c)``, with the
        totals counting samples, or summing their sample weights (so that a
        weight of k still equals k copies of a sample).  ``totals``, when
        given, are those per-class totals, computed elsewhere.
        """
        n_classes = len(self.classes_)
        if isinstance(self.class_weight, str):
            if totals is None:
                totals = np.bincount(codes, weights=sample_weight, minlength=n_classes)
            with np.errstate(divide="ignore"):
                # A class whose samples all weigh 0 contributes nothing anyway.
                return np.where(totals > 0, totals.sum() / (n_classes * totals), 0.0)
        per_class = np.ones(n_classes)
        unknown = []
        for label, weight in self.class_weight.items():
            index = np.flatnonzero(self.classes_ == label)
            if index.size == 0:
                unknown.append(label)
            else:
                per_class[index[0]] = weight
        if unknown:
            raise ValueError(
                f"class_weight has the labels {unknown}, which are not classes of y; the "
                f"classes are {list(self.classes_)}"
            )
        return per_class

    def _targets(self, Y):
        """The network's targets: class indices for softmax, 0/1 floats for logistic."""
        if self.out_activation_ == "softmax":
            return class_codes(Y)
        return np.ascontiguousarray(Y, dtype=self.mlp_.dtype)

    # --- fitting -------------------------------------------------------------------

    def fit(
        self, X: Any, y: ArrayLike, sample_weight: Optional[ArrayLike] = None
    ) -> "MLPClassifier":
        """Fit the network to ``X`` and labels ``y``.

        Parameters
        ----------
        X : array_like, DataFrame or sparse matrix of shape (n_samples, n_features)
            The samples, one per row, with the features seen in ``fit``.
        y : array_like of shape (n_samples,) or (n_samples, n_labels)
            Labels of any type that sorts (numbers or strings), or a 0/1
            indicator matrix for multilabel classification.
        sample_weight : array_like of shape (n_samples,), optional
            Non-negative weight of each sample in the loss.

        Returns
        -------
        MLPClassifier
            The fitted estimator itself.

        Warns
        -----
        ConvergenceWarning
            When ``max_iter`` is reached before the stopping rule fires.

        Examples
        --------
        >>> import numpy as np
        >>> from fastnn import MLPClassifier
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> y = np.array([0, 1, 1, 0])  # XOR
        >>> clf = MLPClassifier((8,), activation="tanh", solver="lbfgs", alpha=0.0,
        ...                     random_state=1).fit(X, y)
        >>> clf.predict(X)
        array([0, 1, 1, 0])
        >>> clf.n_outputs_, clf.out_activation_
        (1, 'logistic')
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _partial_fit(
        self,
        X: Any,
        y: ArrayLike,
        classes: Optional[ArrayLike] = None,
        sample_weight: Optional[ArrayLike] = None,
    ) -> "MLPClassifier":
        """Train for one epoch on ``X`` and ``y``, continuing from the current state.

        Parameters
        ----------
        X : array_like, DataFrame or sparse matrix of shape (n_samples, n_features)
            The samples, one per row, with the features seen in ``fit``.
        y : array_like of shape (n_samples,) or (n_samples, n_labels)
        classes : array_like of shape (n_classes,), optional
            Every class of the whole data; required on the first call
            (except for multilabel y) and checked on later ones.
        sample_weight : array_like of shape (n_samples,), optional

        Returns
        -------
        self : MLPClassifier

        Notes
        -----
        Only for the "sgd" and "adam" solvers.  The optimiser state carries
        over from call to call, so ``k`` calls on the same data equal ``fit``
        with ``max_iter=k`` (and ``tol=0``).

        Examples
        --------
        >>> import numpy as np
        >>> from fastnn import MLPClassifier
        >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
        >>> clf = MLPClassifier((5,), random_state=0)
        >>> clf = clf.partial_fit(X[:2], ["a", "a"], classes=["a", "b"])
        >>> clf = clf.partial_fit(X[2:], ["b", "b"])
        >>> clf.n_outputs_, clf.t_
        (1, 4)
        """
        first_call = not hasattr(self, "classes_")
        if classes is not None:
            classes = np.unique(np.asarray(classes))
            if not first_call and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on last call to partial_fit, "
                    f"was: {self.classes_!r}"
                )
        if first_call:
            multilabel = type_of_target(y) == "multilabel-indicator"
            if classes is None and not multilabel:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            _check_label_types(classes if classes is not None else y)
            binarizer = LabelBinarizer()
            binarizer.fit(y if multilabel else classes)
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_
            if len(self.classes_) < 2:
                raise ValueError("classes must hold at least 2 classes for a classifier")
        return self._fit(X, y, sample_weight, incremental=True)

    partial_fit = _stochastic_only(_partial_fit)

    def _fit(self, X, y, sample_weight, incremental):
        hidden_sizes = self._validate_hyperparameters()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = "params_" not in self.__dict__ or (not self.warm_start and not incremental)
        X, Y, y = self._validate_input(X, y, incremental, reset=first_pass)
        weights = self._sample_weights(sample_weight, Y, y, incremental)
        self._prepare_network(first_pass, (X.shape[1], *hidden_sizes, Y.shape[1]), X.dtype)
        dtype = self.mlp_.dtype
        # The network keeps the dtype of its first fit; X is converted once.
        X = X.tocsr().astype(dtype, copy=False) if _is_sparse(X) else X.astype(dtype, copy=False)
        rows = InMemoryRows(self.mlp_, X, self._targets(Y), weights)
        multilabel = self._label_binarizer.y_type_ == "multilabel-indicator"
        codes = None if multilabel else class_codes(Y)
        return self._train(rows, codes, incremental)

    def _batch_rows(self, n_samples):
        """Rows per minibatch: 200 for "auto", batch_size otherwise, at most n_samples."""
        if self.batch_size == "auto":
            return min(200, n_samples)
        return int(np.clip(self.batch_size, 1, n_samples))

    def _train(self, rows, codes, incremental):
        """Run the solver on checked rows; ``codes``: class indices to stratify on, or None."""
        # A diverging run overflows inside NumPy before the loss turns
        # non-finite; the loops detect that and raise one clear error instead
        # of a cascade of RuntimeWarnings.
        n_samples = rows.n_samples
        rows_per_step = n_samples if self.solver == "lbfgs" else self._batch_rows(n_samples)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"), \
                training_blas_limit(rows_per_step, self.mlp_.layer_sizes):
            if self.solver == "lbfgs":
                self._fit_lbfgs(rows)
            else:
                self._fit_stochastic(rows, codes, incremental)
        if not np.all(np.isfinite(self.params_)):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain large "
                "values and need to be preprocessed."
            )
        return self

    def _prepare_network(self, first_pass, layer_sizes, dtype):
        """A new network (first pass), or the previous one checked against the data."""
        if first_pass:
            self._random_state = check_random_state(self.random_state)
            self._initialize(layer_sizes, dtype)
        elif self.mlp_.layer_sizes != layer_sizes:
            raise ValueError(
                f"the network has layer sizes {self.mlp_.layer_sizes} from the previous fit, but "
                f"hidden_layer_sizes={self.hidden_layer_sizes!r} and the data ask for "
                f"{layer_sizes}; fit without warm_start instead"
            )
        elif self.mlp_.activation != self.activation:
            # The parameters still fit; only the hidden units' function changed.
            self.mlp_ = MLP(self.mlp_.layer_sizes, self.activation, self.mlp_.dtype,
                            output=self.out_activation_)

    def _initialize(self, layer_sizes, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = layer_sizes[-1]
        self.n_layers_ = len(layer_sizes)
        multiclass = self._label_binarizer.y_type_ == "multiclass"
        self.out_activation_ = "softmax" if multiclass else "logistic"
        self.mlp_ = MLP(layer_sizes, self.activation, dtype, output=self.out_activation_)
        self.params_ = self.mlp_._draw_params(self._random_state, self.init)
        self._optimizer = None
        self._sample_order = None
        self.loss_curve_ = []
        self._no_improvement_count = 0
        self.validation_loss_curve_ = None
        if self.solver in _STOCHASTIC_SOLVERS:
            if self.early_stopping:
                self.validation_scores_ = []
                self.validation_loss_curve_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None
        self._best_params = self.params_.copy()

    def _log(self, message):
        if self.verbose:
            print(message, flush=True)

    def _fit_lbfgs(self, rows):
        from scipy.optimize import minimize  # imported here: `import fastnn` stays light

        dtype = self.mlp_.dtype

        def loss_and_grad(flat):
            params = flat.astype(dtype, copy=False)
            loss, grad = rows.loss_and_grad(params, None, self.alpha)
            return loss, grad.astype(np.float64, copy=False)

        def record(intermediate_result):
            self.loss_curve_.append(float(intermediate_result.fun))
            self._log("Iteration %d, loss = %.8f" % (len(self.loss_curve_), self.loss_curve_[-1]))

        result = minimize(
            loss_and_grad,
            self.params_.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            callback=record,
            options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
        )
        self.n_iter_ = min(int(result.nit), self.max_iter)
        if result.status != 0:
            message = (
                f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                f"(status={result.status}):\n{result.message}\n"
            )
            if self.n_iter_ == self.max_iter:
                message += (
                    "\nIncrease the number of iterations to improve the convergence "
                    f"(max_iter={self.max_iter})."
                )
            warnings.warn(message, ConvergenceWarning, stacklevel=4)
        self.loss_ = float(result.fun)
        self.params_[...] = result.x

    def _make_optimizer(self):
        """The optimiser, kept from the previous call when it fits the network."""
        optimizer = self._optimizer
        wanted = SGDOptimizer if self.solver == "sgd" else AdamOptimizer
        if optimizer is None or type(optimizer) is not wanted or not optimizer.matches(self.params_):
            if wanted is SGDOptimizer:
                optimizer = SGDOptimizer(
                    self.params_, self.learning_rate_init, self.learning_rate,
                    self.momentum, self.nesterovs_momentum, self.power_t,
                )
            else:
                optimizer = AdamOptimizer(
                    self.params_, self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon
                )
            self._optimizer = optimizer
            return optimizer
        # Continue with the kept state; hyperparameters changed with
        # set_params since the last call take effect now.
        if optimizer.learning_rate_init != float(self.learning_rate_init) or (
            wanted is SGDOptimizer and optimizer.lr_schedule != self.learning_rate
        ):
            optimizer.learning_rate_init = float(self.learning_rate_init)
            optimizer.learning_rate = float(self.learning_rate_init)
        if wanted is SGDOptimizer:
            optimizer.lr_schedule = self.learning_rate
            optimizer.momentum = float(self.momentum)
            optimizer.nesterov = bool(self.nesterovs_momentum)
            optimizer.power_t = float(self.power_t)
        else:
            optimizer.beta_1, optimizer.beta_2 = float(self.beta_1), float(self.beta_2)
            optimizer.epsilon = float(self.epsilon)
        return optimizer

    def _fit_stochastic(self, rows, codes, incremental):
        params = self.params_
        optimizer = self._make_optimizer()
        random_state = self._random_state
        if self.early_stopping:
            train_index, validation_index = train_test_split(
                np.arange(rows.n_samples),
                random_state=random_state,
                test_size=self.validation_fraction,
                stratify=self._stratification(codes, rows.n_samples),
            )
            train, validation = rows.subset(train_index), rows.subset(validation_index)
            if validation.n_samples < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' or the "
                    "size of your dataset."
                )
            if not validation.has_positive_weight():
                raise ValueError(
                    "every sample of the validation set has a zero sample weight, so its score "
                    "is undefined; change random_state or validation_fraction"
                )
        else:
            train, validation = rows, None

        n_samples = train.n_samples
        # The shuffled order composes epoch after epoch (scikit-learn's
        # shuffle of the previous order); a call that continues on data of
        # the same length continues from the previous call's order.
        sample_idx = getattr(self, "_sample_order", None)
        if sample_idx is None or sample_idx.shape[0] != n_samples:
            sample_idx = np.arange(n_samples)
        if self.batch_size != "auto" and self.batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going to "
                "be clipped",
                stacklevel=4,
            )
        batch_size = self._batch_rows(n_samples)

        self.n_iter_ = 0
        for _ in range(self.max_iter):
            if self.shuffle:
                # scikit-learn's utils.shuffle, draw for draw.
                permutation = np.arange(n_samples)
                random_state.shuffle(permutation)
                sample_idx = sample_idx[permutation]
                self._sample_order = sample_idx
            accumulated_loss = 0.0
            for start in range(0, n_samples, batch_size):
                stop = min(start + batch_size, n_samples)
                batch = sample_idx[start:stop] if self.shuffle else slice(start, stop)
                loss, grad = train.loss_and_grad(params, batch, self.alpha)
                accumulated_loss += loss * (stop - start)
                optimizer.update_params(params, grad)

            self.n_iter_ += 1
            self.loss_ = accumulated_loss / n_samples
            if not np.isfinite(self.loss_):
                raise ValueError(
                    f"training diverged: the loss became {self.loss_} in epoch {self.n_iter_}. "
                    "Lower learning_rate_init, or scale X (for example with StandardScaler)."
                )
            self.t_ += n_samples
            self.loss_curve_.append(self.loss_)
            self._log("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
            self._update_no_improvement_count(validation)
            optimizer.iteration_ends(self.t_)

            if self._no_improvement_count > self.n_iter_no_change:
                if self.early_stopping:
                    message = (
                        "Validation score did not improve more than tol=%f for %d consecutive "
                        "epochs." % (self.tol, self.n_iter_no_change)
                    )
                else:
                    message = (
                        "Training loss did not improve more than tol=%f for %d consecutive "
                        "epochs." % (self.tol, self.n_iter_no_change)
                    )
                if optimizer.trigger_stopping(message, self.verbose):
                    break
                self._no_improvement_count = 0
            if incremental:
                break
            if self.n_iter_ == self.max_iter:
                warnings.warn(
                    "Stochastic Optimizer: Maximum iterations (%d) reached and the optimization "
                    "hasn't converged yet." % self.max_iter,
                    ConvergenceWarning,
                    stacklevel=4,
                )
        if self.early_stopping:
            params[...] = self._best_params

    def _stratification(self, codes, n_samples):
        """The labels to stratify the validation split on, or None.

        The split keeps the class shares when it can: not for multilabel y
        (``codes`` None), and not when a class has a single sample or the
        smaller part could not hold one sample of every class (tiny data
        sets).
        """
        if codes is None:
            return None
        counts = np.bincount(codes)
        counts = counts[counts > 0]
        n_validation = int(np.ceil(self.validation_fraction * n_samples))
        if counts.min() < 2 or min(n_validation, n_samples - n_validation) < len(counts):
            return None
        return codes

    def _update_no_improvement_count(self, validation):
        if self.early_stopping:
            score, loss = validation.score_and_loss(self.params_)
            self.validation_scores_.append(score)
            self.validation_loss_curve_.append(loss)
            self._log("Validation score: %f" % score)
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_params = self.params_.copy()
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    # --- prediction ------------------------------------------------------------------

    def _validated_for_prediction(self, X):
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=False
        )
        dtype = self.mlp_.dtype
        return X.tocsr().astype(dtype, copy=False) if _is_sparse(X) else X.astype(dtype, copy=False)

    def _output(self, X):
        X = self._validated_for_prediction(X)
        return self.mlp_._predict_trusted(self.params_, X)

    def predict(self, X: Any) -> NDArray[Any]:
        """Predicted labels of ``X``.

        Parameters
        ----------
        X : array_like, DataFrame or sparse matrix of shape (n_samples, n_features)
            The samples, one per row, with the features seen in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples,), or (n_samples, n_labels) for multilabel y
            Values from ``classes_`` (0/1 indicators for multilabel y).

        Examples
        --------
        >>> import numpy as np
        >>> from fastnn import MLPClassifier
        >>> X = np.array([[-1.0], [-0.5], [0.5], [1.0]])
        >>> clf = MLPClassifier((), solver="lbfgs").fit(X, ["no", "no", "yes", "yes"])
        >>> clf.predict([[-2.0], [2.0]])
        array(['no', 'yes'], dtype='<U3')
        """
        probabilities = self._output(X)
        if self.n_outputs_ == 1:
            probabilities = probabilities.ravel()
        return self._label_binarizer.inverse_transform(probabilities)

    def predict_proba(self, X: Any) -> FloatArray:
        """Class probabilities of ``X``.

        Parameters
        ----------
        X : array_like, DataFrame or sparse matrix of shape (n_samples, n_features)
            The samples, one per row, with the features seen in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Column j is the probability of ``classes_[j]`` (for multilabel
            y, of label j); in the network's dtype.

        Examples
        --------
        >>> import numpy as np
        >>> from fastnn import MLPClassifier
        >>> X = np.array([[-1.0], [-0.5], [0.5], [1.0]])
        >>> clf = MLPClassifier((), solver="lbfgs").fit(X, ["no", "no", "yes", "yes"])
        >>> clf.predict_proba([[2.0]]).sum(axis=1)
        array([1.])
        """
        probabilities = self._output(X)
        if self.n_outputs_ == 1:
            p = probabilities.ravel()
            return np.vstack([1 - p, p]).T
        return probabilities

    def predict_log_proba(self, X: Any) -> FloatArray:
        """Return the logarithms of the class probabilities of ``X``.

        As in scikit-learn, a probability that rounds to 0 gives -inf (here
        without a divide-by-zero warning).

        Parameters
        ----------
        X : array_like, DataFrame or sparse matrix of shape (n_samples, n_features)
            The samples, one per row, with the features seen in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``.

        Examples
        --------
        >>> import numpy as np
        >>> from fastnn import MLPClassifier
        >>> X = np.array([[-1.0], [-0.5], [0.5], [1.0]])
        >>> clf = MLPClassifier((), solver="lbfgs").fit(X, [0, 0, 1, 1])
        >>> bool(np.allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X)))
        True
        """
        probabilities = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(probabilities, out=probabilities)
