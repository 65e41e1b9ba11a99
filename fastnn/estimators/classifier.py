"""MLPClassifier: a drop-in replacement for scikit-learn's, on fastnn's kernels.

The classifier's own part only: labels, class weights and probabilities.
The network and its gradients are `fastnn.MLP`, the training loops and
stopping rules are the shared core in ``_base.py``, and every scikit-learn
name comes from ``_compat.py`` (scikit-learn's own when it is installed,
NumPy-only stand-ins otherwise).  The parameters, defaults, fitted
attributes and training loop are scikit-learn 1.9's, so that ``from fastnn
import MLPClassifier`` can replace ``from sklearn.neural_network import
MLPClassifier``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Optional, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._typing import FloatArray
from .._validation import is_real
from ._base import (
    SOLVERS,
    BaseMultilayerPerceptron,
    _stochastic_only,
    check_sample_weight,
    warn_at_caller,
)
from ._compat import (
    SKLEARN_INSTALLED,
    ClassifierMixin,
    ConvergenceWarning,
    DataConversionWarning,
    LabelBinarizer,
    NotFittedError,
    type_of_target,
    validate_data,
)
from ._scores import Accuracy
from .labels import check_label_types, class_codes

__all__ = ["MLPClassifier", "ConvergenceWarning", "NotFittedError", "SOLVERS"]

def _as_written(label):
    """A label as the user wrote it: a NumPy scalar as its Python value (1, not np.int64(1))."""
    return label.item() if isinstance(label, np.generic) else label


class MLPClassifier(ClassifierMixin, BaseMultilayerPerceptron):
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
    dropout : float or sequence of float, default 0.0
        Inverted dropout on the hidden layers during training ("sgd" and
        "adam"): each hidden unit is kept with probability ``1 - p`` and
        scaled by ``1 / (1 - p)``; prediction uses every unit.  One rate in
        [0, 1) for every hidden layer, or one per hidden layer.  The masks
        are drawn from ``random_state``'s stream, so a seed gives the same
        fit, and ``warm_start`` and ``partial_fit`` continue them.  With 0
        (the default) the fit is scikit-learn's.

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
        dropout: Union[float, Sequence[float]] = 0.0,
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
        self.dropout = dropout

    if SKLEARN_INSTALLED:

        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.input_tags.sparse = True
            tags.classifier_tags.multi_label = True
            return tags

    # --- labels, weights and targets: the hooks of the shared core ----------------

    def _validate_input(self, X, y, incremental, reset):
        """Validate X and y once; return X and the labels' 0/1 matrix (n_samples, n_outputs)."""
        check_label_types(y)
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
            warn_at_caller(
                "A column-vector y was passed when a 1d array was expected. Please change "
                "the shape of y to (n_samples, ), for example using ravel().",
                DataConversionWarning,
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
        return X, Y

    def _adopt_labels(self, binarizer):
        """Take the labels of a fitted LabelBinarizer; a classifier needs two or more."""
        self._label_binarizer = binarizer
        self.classes_ = binarizer.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"y has only one class, {_as_written(self.classes_[0])!r}; a classifier needs "
                "at least 2 classes"
            )

    def _check_warm_start_classes(self, classes):
        if set(classes) != set(self.classes_):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in the "
                f"previous call to fit. Previously got {self.classes_}, `y` has {classes}"
            )

    def _multilabel(self):
        return self._label_binarizer.y_type_ == "multilabel-indicator"

    def _output_layer_name(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _validation_scorer(self):
        return Accuracy(multilabel=self.out_activation_ == "logistic")

    def _stratify_codes(self, Y):
        return None if self._multilabel() else class_codes(Y)

    def _validate_own_hyperparameters(self, fail):
        weights = self.class_weight
        if not (weights is None or (isinstance(weights, str) and weights == "balanced")
                or isinstance(weights, dict)):
            fail("class_weight", "None, 'balanced' or a dict mapping classes to weights")
        if isinstance(weights, dict) and not all(
            is_real(w) and np.isfinite(w) and w >= 0 for w in weights.values()
        ):
            fail("class_weight", "a dict of finite non-negative weights")

    def _loss_weights(self, sample_weight, Y, incremental):
        """The per-sample weights of the loss: sample_weight times class_weight[y]."""
        weights = check_sample_weight(sample_weight, Y.shape[0])
        if self.class_weight is None:
            return weights
        if self._multilabel():
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
    ) -> MLPClassifier:
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
        sample_weight: Optional[ArrayLike] = None,
        classes: Optional[ArrayLike] = None,
    ) -> MLPClassifier:
        """Train for one epoch on ``X`` and ``y``, continuing from the current state.

        Parameters
        ----------
        X : array_like, DataFrame or sparse matrix of shape (n_samples, n_features)
            The samples, one per row, with the features seen in ``fit``.
        y : array_like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array_like of shape (n_samples,), optional
            Non-negative weight of each sample in the loss.
        classes : array_like of shape (n_classes,), optional
            Every class of the whole data; required on the first call
            (except for multilabel y) and checked on later ones.

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
            check_label_types(classes if classes is not None else y)
            binarizer = LabelBinarizer()
            binarizer.fit(y if multilabel else classes)
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_
            if len(self.classes_) < 2:
                raise ValueError("classes must hold at least 2 classes for a classifier")
        return self._fit(X, y, sample_weight, incremental=True)

    partial_fit = _stochastic_only(_partial_fit)

    # --- prediction ------------------------------------------------------------------

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
