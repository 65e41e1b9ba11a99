"""MLPRegressor: a drop-in replacement for scikit-learn's, on fastnn's kernels.

The regressor's own part only: real targets, the loss's output layer and
R².  Everything else is the shared core in ``_base.py``, as for
`MLPClassifier`.  The parameters, defaults, fitted attributes and training
loop are scikit-learn 1.9's ``sklearn.neural_network.MLPRegressor``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Optional, Union

import numpy as np
from numpy.typing import ArrayLike

from .._typing import FloatArray
from ._base import (
    BaseMultilayerPerceptron,
    _stochastic_only,
    check_sample_weight,
    warn_at_caller,
)
from ._compat import SKLEARN_INSTALLED, DataConversionWarning, RegressorMixin, validate_data
from ._scores import RSquared
from ._training_rows import LossConvention

__all__ = ["MLPRegressor", "LOSSES"]

#: The losses and the output layer (`fastnn.output_layers`) each trains.
LOSSES = {"squared_error": "identity", "poisson": "exp"}


class MLPRegressor(RegressorMixin, BaseMultilayerPerceptron):
    """Multilayer perceptron regressor: scikit-learn's MLPRegressor on fastnn's kernels.

    The parameters, defaults, fitted attributes and behaviour are those of
    scikit-learn 1.9's ``sklearn.neural_network.MLPRegressor``; ``init``,
    and the optimiser state kept across ``warm_start`` and
    ``partial_fit``, are fastnn's additions.  scikit-learn is optional:
    when it is installed this is a scikit-learn estimator.

    Parameters
    ----------
    loss : {"squared_error", "poisson"}, default "squared_error"
        "squared_error": identity outputs trained with half the squared
        error.  "poisson": outputs ``exp(z)`` (a log link) trained with half
        the Poisson deviance, for non-negative targets such as counts.
    hidden_layer_sizes : int or sequence of int, default (100,)
        Units of each hidden layer; ``()`` gives a linear model (a Poisson
        GLM with ``loss="poisson"``).
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
        validation R²) has not improved by ``tol`` for more than
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
        Hold out ``validation_fraction`` of the training data, stop when its
        R² stops improving, and keep the best epoch's weights ("sgd",
        "adam").
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
    loss_ : float
        The loss after the last epoch or iteration, as scikit-learn reports
        it: half the squared error averaged over samples and outputs, or
        half the Poisson deviance summed over outputs, plus the penalty.
    best_loss_ : float or None
        The lowest training loss reached ("sgd", "adam"); None with early
        stopping.
    loss_curve_ : list of float
        The loss after every epoch (every iteration for "lbfgs").
    validation_scores_ : list of float or None
        Validation R² after every epoch with early stopping.
    validation_loss_curve_ : list of float or None
        Loss of the validation set (without the penalty) after every epoch
        with early stopping.
    best_validation_score_ : float or None
        The best validation R², whose weights are kept.
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
        Number of outputs (columns of a 2-D y).
    out_activation_ : str
        "identity" for the squared error, "exp" for the Poisson loss.
    mlp_ : fastnn.MLP
        The network (fastnn's addition).
    params_ : ndarray
        The flat parameter vector; ``coefs_`` and ``intercepts_`` are views
        into it (fastnn's addition).

    Notes
    -----
    The network computes in float32 when ``X`` is float32 and in float64
    otherwise, for every solver.  With sample weights ``w`` the loss is the
    weighted mean over samples plus ``0.5 * alpha * sum ||W||^2 / sum_n
    w_n`` per batch (scikit-learn's definition).  For a multi-output
    squared error, scikit-learn averages the loss over the outputs but
    takes the gradient of their sum; fastnn does the same, so that its
    steps are scikit-learn's.  ``X`` may be a SciPy sparse matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import MLPRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(200, 2))
    >>> y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2
    >>> reg = MLPRegressor(hidden_layer_sizes=(50,), activation="tanh", solver="lbfgs",
    ...                    max_iter=500, random_state=0).fit(X, y)
    >>> bool(reg.score(X, y) > 0.99)
    True
    >>> reg.predict(X[:3]).shape
    (3,)

    Counts with the Poisson loss; the predictions are positive:

    >>> counts = rng.poisson(np.exp(X[:, 0] + 1))
    >>> poisson = MLPRegressor("poisson", hidden_layer_sizes=(), solver="lbfgs")
    >>> poisson = poisson.fit(X, counts)
    >>> poisson.out_activation_, bool(np.all(poisson.predict(X) > 0))
    ('exp', True)
    """

    def __init__(
        self,
        loss: Literal["squared_error", "poisson"] = "squared_error",
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
        init: Literal["glorot", "he"] = "glorot",
        dropout: Union[float, Sequence[float]] = 0.0,
    ) -> None:
        self.loss = loss
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
        self.init = init
        self.dropout = dropout

    if SKLEARN_INSTALLED:

        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.input_tags.sparse = True
            # The Poisson loss needs y >= 0, as scikit-learn's PoissonRegressor.
            tags.target_tags.positive_only = self.loss == "poisson"
            return tags

    # --- targets and the loss: the hooks of the shared core --------------------------

    def _validate_own_hyperparameters(self, fail):
        if not isinstance(self.loss, str) or self.loss not in LOSSES:
            fail("loss", f"a str among {list(LOSSES)}")

    def _validate_input(self, X, y, incremental, reset):
        """Validate X and y once; return X and y as a 2-D float array (n_samples, n_outputs)."""
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"y must hold numbers, got dtype {y.dtype}") from None
        if y.ndim == 2 and y.shape[1] == 1:
            warn_at_caller(
                "A column-vector y was passed when a 1d array was expected. Please change "
                "the shape of y to (n_samples, ), for example using ravel().",
                DataConversionWarning,
            )
        if not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity.")
        if self.loss == "poisson" and y.size and np.min(y) < 0:
            raise ValueError(
                f"y must be non-negative for loss='poisson' (counts or rates), got a minimum "
                f"of {float(np.min(y))!r}"
            )
        return X, y.reshape(y.shape[0], -1)

    def _output_layer_name(self):
        return LOSSES[self.loss]

    def _loss_weights(self, sample_weight, Y, incremental):
        return check_sample_weight(sample_weight, Y.shape[0])

    def _targets(self, Y):
        return np.ascontiguousarray(Y, dtype=self.mlp_.dtype)

    def _validation_scorer(self):
        return RSquared()

    def _loss_convention(self, targets, weights):
        """scikit-learn's loss values: the squared error averaged over the outputs too,
        and the Poisson deviance with its constant term ``y log y - y``."""
        if self.out_activation_ == "exp":
            y = targets.astype(np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                constant = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0) - y
            return LossConvention(1.0, constant.sum(axis=1))
        return LossConvention(1.0 / targets.shape[1])

    # --- fitting -------------------------------------------------------------------

    def fit(
        self, X: Any, y: ArrayLike, sample_weight: Optional[ArrayLike] = None
    ) -> MLPRegressor:
        """Fit the network to ``X`` and targets ``y``.

        Parameters
        ----------
        X : array_like, DataFrame or sparse matrix of shape (n_samples, n_features)
            The samples, one per row.
        y : array_like of shape (n_samples,) or (n_samples, n_outputs)
            The targets (non-negative for ``loss="poisson"``).
        sample_weight : array_like of shape (n_samples,), optional
            Non-negative weight of each sample in the loss.

        Returns
        -------
        MLPRegressor
            The fitted estimator itself.

        Warns
        -----
        ConvergenceWarning
            When ``max_iter`` is reached before the stopping rule fires.

        Examples
        --------
        >>> import numpy as np
        >>> from fastnn import MLPRegressor
        >>> X = np.linspace(-1, 1, 50).reshape(-1, 1)
        >>> reg = MLPRegressor(hidden_layer_sizes=(), solver="lbfgs").fit(X, 3 * X[:, 0] + 1)
        >>> np.round(reg.predict([[0.0], [1.0]]), 3)
        array([1., 4.])
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _partial_fit(
        self, X: Any, y: ArrayLike, sample_weight: Optional[ArrayLike] = None
    ) -> MLPRegressor:
        """Train for one epoch on ``X`` and ``y``, continuing from the current state.

        Parameters
        ----------
        X : array_like, DataFrame or sparse matrix of shape (n_samples, n_features)
            The samples, one per row.
        y : array_like of shape (n_samples,) or (n_samples, n_outputs)
            The targets.
        sample_weight : array_like of shape (n_samples,), optional
            Non-negative weight of each sample in the loss.

        Returns
        -------
        self : MLPRegressor

        Notes
        -----
        Only for the "sgd" and "adam" solvers.  The optimiser state carries
        over from call to call, so ``k`` calls on the same data equal ``fit``
        with ``max_iter=k`` (and ``tol=0``).

        Examples
        --------
        >>> import numpy as np
        >>> from fastnn import MLPRegressor
        >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
        >>> reg = MLPRegressor(hidden_layer_sizes=(5,), random_state=0)
        >>> reg = reg.partial_fit(X[:2], [0.0, 1.0]).partial_fit(X[2:], [2.0, 3.0])
        >>> reg.n_outputs_, reg.t_
        (1, 4)
        """
        return self._fit(X, y, sample_weight, incremental=True)

    partial_fit = _stochastic_only(_partial_fit)

    # --- prediction ------------------------------------------------------------------

    def predict(self, X: Any) -> FloatArray:
        """Predicted targets of ``X``.

        Parameters
        ----------
        X : array_like, DataFrame or sparse matrix of shape (n_samples, n_features)
            The samples, one per row, with the features seen in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples,), or (n_samples, n_outputs) for a 2-D y
            In the network's dtype; positive for ``loss="poisson"``.

        Examples
        --------
        >>> import numpy as np
        >>> from fastnn import MLPRegressor
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> reg = MLPRegressor(hidden_layer_sizes=(), solver="lbfgs")
        >>> reg = reg.fit(X, np.c_[X[:, 0], -X[:, 0]])
        >>> reg.predict(X).shape
        (3, 2)
        """
        predictions = self._output(X)
        if predictions.shape[1] == 1:
            return predictions.ravel()
        return predictions
