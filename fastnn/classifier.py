"""A trainable MLP classifier with scikit-learn's estimator conventions.

`MLPClassifier` wraps `fastnn.MLP` with label encoding, input validation and
three solvers (mini-batch SGD with momentum, Adam, and full-batch L-BFGS via
``scipy.optimize.minimize``).  It follows scikit-learn's conventions (``fit``
returns self, fitted attributes end in ``_``, ``get_params``/``set_params``,
any label values) without importing scikit-learn.
"""

import inspect
import numbers
import sys
import warnings

import numpy as np

from .mlp import ACTIVATIONS, MLP

__all__ = ["MLPClassifier", "ConvergenceWarning", "NotFittedError"]

SOLVERS = ("sgd", "adam", "lbfgs")

# Adam's moment decay rates and denominator guard, as in Kingma & Ba (2015).
_ADAM_BETA1, _ADAM_BETA2, _ADAM_EPSILON = 0.9, 0.999, 1e-8


class ConvergenceWarning(UserWarning):
    """The solver stopped at ``max_epochs`` before the loss stopped improving."""


class NotFittedError(ValueError, AttributeError):
    """``predict`` or ``score`` was called before ``fit``."""


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class MLPClassifier:
    """Multilayer perceptron classifier trained on the mean cross-entropy.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default (100,)
        Units of each hidden layer; ``()`` gives multinomial logistic
        regression.
    activation : {"sigmoid", "tanh", "relu"}, default "sigmoid"
        Activation of the hidden layers.
    solver : {"adam", "sgd", "lbfgs"}, default "adam"
        "adam" and "sgd" (with momentum) take mini-batch steps; "lbfgs"
        minimises the full-batch loss with ``scipy.optimize.minimize(...,
        method="L-BFGS-B", jac=True)``, often the best choice for small
        data sets.
    learning_rate : float, default 1e-3
        Step size of "adam" and "sgd" (for "sgd" try 0.01 to 0.1).  Unused
        by "lbfgs".
    batch_size : int, default 200
        Samples per mini-batch, clipped to the number of training samples.
        Unused by "lbfgs".
    max_epochs : int, default 200
        Most passes over the training data ("adam", "sgd") or iterations
        ("lbfgs").
    l2 : float, default 1e-4
        Weight penalty ``0.5 * l2 * sum ||W||^2`` added to the mean
        cross-entropy of every batch (weights only, not biases).
    tol : float, default 1e-4
        Training stops when the epoch loss (or, with ``early_stopping``,
        the validation accuracy) has not improved by at least ``tol`` for
        ``n_iter_no_change`` epochs.  For "lbfgs" it is the gradient
        tolerance ``gtol``.
    n_iter_no_change : int, default 10
        Patience of the stopping rule above.
    random_state : None, int or numpy.random.Generator
        Seeds the initial weights, the shuffling and the validation split.
    verbose : bool, default False
        Print one line per epoch: the loss, and the validation accuracy
        when ``early_stopping`` is on.
    momentum : float, default 0.9
        Momentum of "sgd", in [0, 1).
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the training data, stop when its
        accuracy stops improving, and keep the parameters of the best epoch.
        Ignored by "lbfgs".
    validation_fraction : float, default 0.1
        Share of the training data held out when ``early_stopping`` is on.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The sorted distinct labels seen in ``fit``.
    n_features_in_ : int
    mlp_ : fastnn.MLP
        The network architecture.
    params_ : ndarray of shape (mlp_.n_params,)
        The trained flat parameter vector.
    coefs_, intercepts_ : list of ndarray
        Per-layer weight matrices and bias vectors (views into ``params_``).
    loss_curve_ : list of float
        Training loss after every epoch (iteration for "lbfgs").
    validation_scores_ : list of float or None
        Validation accuracy after every epoch when ``early_stopping`` is on.
    n_iter_ : int
        Epochs (or L-BFGS iterations) run.

    Notes
    -----
    The network computes in float32 when ``X`` is float32 and the solver is
    "adam" or "sgd", and in float64 otherwise (L-BFGS's line search needs
    the precision).

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import MLPClassifier
    >>> from fastnn.datasets import make_spirals
    >>> X, y = make_spirals(n_samples=300, n_classes=3, noise=0.1, seed=0)
    >>> labels = np.array(["red", "green", "blue"])[y]
    >>> clf = MLPClassifier(hidden_layer_sizes=(50,), activation="tanh",
    ...                     solver="lbfgs", tol=1e-3, random_state=0)
    >>> clf.fit(X, labels).classes_
    array(['blue', 'green', 'red'], dtype='<U5')
    >>> bool(clf.score(X, labels) > 0.95)
    True
    >>> clf.predict([[0.0, 0.5]]).shape
    (1,)
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="sigmoid",
        solver="adam",
        learning_rate=1e-3,
        batch_size=200,
        max_epochs=200,
        l2=1e-4,
        tol=1e-4,
        n_iter_no_change=10,
        random_state=None,
        verbose=False,
        momentum=0.9,
        early_stopping=False,
        validation_fraction=0.1,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.l2 = l2
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.verbose = verbose
        self.momentum = momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction

    # --- estimator protocol ---------------------------------------------------

    @classmethod
    def _param_names(cls):
        signature = inspect.signature(cls.__init__)
        return [name for name in signature.parameters if name != "self"]

    def get_params(self, deep=True):
        """Hyperparameters as a dict, as in scikit-learn.

        Parameters
        ----------
        deep : bool, default True
            Accepted for compatibility; there are no nested estimators.

        Returns
        -------
        dict
            Parameter name to value.

        Examples
        --------
        >>> from fastnn import MLPClassifier
        >>> MLPClassifier(solver="sgd").get_params()["solver"]
        'sgd'
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set hyperparameters by name and return the estimator.

        Raises
        ------
        ValueError
            For a name that is not a parameter.

        Examples
        --------
        >>> from fastnn import MLPClassifier
        >>> MLPClassifier().set_params(l2=0.0, max_epochs=50).max_epochs
        50
        """
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"invalid parameter {name!r} for MLPClassifier; valid parameters "
                    f"are {valid}"
                )
            setattr(self, name, value)
        return self

    def __repr__(self):
        defaults = {
            name: parameter.default
            for name, parameter in inspect.signature(type(self).__init__).parameters.items()
            if name != "self"
        }
        changed = []
        for name, value in self.get_params().items():
            default = defaults[name]
            same = value is default or (
                type(value) is type(default) and not isinstance(value, np.ndarray)
                and value == default
            )
            if not same:
                changed.append(f"{name}={value!r}")
        return f"MLPClassifier({', '.join(changed)})"

    # --- validation -------------------------------------------------------------

    def _checked_hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if _is_int(sizes):
            sizes = (sizes,)
        try:
            sizes = tuple(sizes)
        except TypeError:
            raise ValueError(
                f"hidden_layer_sizes must be an int or a sequence of ints, got {sizes!r}"
            ) from None
        if not all(_is_int(size) and size >= 1 for size in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {sizes!r}")
        return tuple(int(size) for size in sizes)

    def _validate_hyperparameters(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {self.solver!r}")
        checks = [
            ("learning_rate", _is_real(self.learning_rate) and self.learning_rate > 0, "a positive number"),
            ("batch_size", _is_int(self.batch_size) and self.batch_size >= 1, "a positive integer"),
            ("max_epochs", _is_int(self.max_epochs) and self.max_epochs >= 1, "a positive integer"),
            ("l2", _is_real(self.l2) and self.l2 >= 0, "a non-negative number"),
            ("tol", _is_real(self.tol) and self.tol >= 0, "a non-negative number"),
            ("n_iter_no_change", _is_int(self.n_iter_no_change) and self.n_iter_no_change >= 1, "a positive integer"),
            ("momentum", _is_real(self.momentum) and 0 <= self.momentum < 1, "a number in [0, 1)"),
            ("validation_fraction", _is_real(self.validation_fraction) and 0 < self.validation_fraction < 1, "a number in (0, 1)"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ValueError(f"{name} must be {expected}, got {getattr(self, name)!r}")
        return self._checked_hidden_sizes()

    @staticmethod
    def _check_X(X, n_features=None):
        X = np.asarray(X)
        if X.dtype == object or not (
            np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.bool_)
        ) or np.iscomplexobj(X):
            raise ValueError(f"X must hold real numbers, got dtype {X.dtype}")
        if X.ndim != 2:
            raise ValueError(
                f"X must be a 2-D array (n_samples, n_features), got {X.ndim} dimension(s); "
                "reshape a single sample with X.reshape(1, -1)"
            )
        if X.shape[0] < 1 or X.shape[1] < 1:
            raise ValueError(f"X must have at least one sample and one feature, got shape {X.shape}")
        if n_features is not None and X.shape[1] != n_features:
            raise ValueError(f"X has {X.shape[1]} features, but the classifier was fitted with {n_features}")
        if X.dtype != np.float32:
            X = X.astype(np.float64, copy=False)
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or infinity")
        return X

    def _check_fitted(self):
        if not hasattr(self, "params_"):
            raise NotFittedError("this MLPClassifier is not fitted yet; call fit(X, y) first")

    # --- fitting ----------------------------------------------------------------

    def fit(self, X, y):
        """Train the network on ``X`` and labels ``y``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Real, finite features.  Scale them (for example to [0, 1] or to
            zero mean and unit variance): sigmoid units saturate on large
            inputs.
        y : array_like of shape (n_samples,)
            Labels of any type ``numpy.unique`` can sort (ints, strings...),
            at least two distinct ones.

        Returns
        -------
        self : MLPClassifier

        Warns
        -----
        ConvergenceWarning
            When ``max_epochs`` is reached before the stopping rule fires.

        Raises
        ------
        ValueError
            For invalid hyperparameters or inputs, or when the loss becomes
            NaN or infinite (learning rate too large).

        Examples
        --------
        >>> import numpy as np
        >>> from fastnn import MLPClassifier
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> y = np.array([0, 1, 1, 0])  # XOR
        >>> clf = MLPClassifier((8,), activation="tanh", solver="lbfgs", l2=0.0,
        ...                     random_state=1).fit(X, y)
        >>> clf.predict(X)
        array([0, 1, 1, 0])
        """
        hidden_sizes = self._validate_hyperparameters()
        X = self._check_X(X)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            raise ValueError("y must be 1-D (n_samples,); got a column vector, use y.ravel()")
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D (n_samples,), got shape {y.shape}")
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} samples but y has {y.shape[0]} labels")
        classes, y_encoded = np.unique(y, return_inverse=True)
        if classes.shape[0] < 2:
            raise ValueError(f"y needs at least 2 distinct classes, got {classes.shape[0]}")

        rng = np.random.default_rng(self.random_state)
        dtype = np.float32 if X.dtype == np.float32 and self.solver != "lbfgs" else np.float64
        X = X.astype(dtype, copy=False)
        mlp = MLP((X.shape[1], *hidden_sizes, classes.shape[0]), self.activation, dtype)
        params = mlp.init_params(seed=rng)

        self.classes_ = classes
        self.n_features_in_ = X.shape[1]
        self.mlp_ = mlp
        self.loss_curve_ = []
        self.validation_scores_ = None
        # A diverging run overflows somewhere in NumPy before the loss turns
        # non-finite; the solvers detect that and raise one clear error
        # instead of a cascade of RuntimeWarnings.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if self.solver == "lbfgs":
                self.n_iter_ = self._fit_lbfgs(mlp, params, X, y_encoded)
            else:
                self.n_iter_ = self._fit_stochastic(mlp, params, X, y_encoded, rng)
        self.params_ = params
        layers = mlp.unpack(params)
        self.coefs_ = [W for W, _ in layers]
        self.intercepts_ = [b for _, b in layers]
        return self

    def _log(self, message):
        if self.verbose:
            print(message, file=sys.stdout, flush=True)

    def _fit_lbfgs(self, mlp, params, X, y):
        # Imported here, not at the top: scipy.optimize takes about half a
        # second to import, and only this solver needs it.
        from scipy.optimize import minimize

        l2 = float(self.l2)

        def loss_and_grad(p):
            loss, grad = mlp.loss_and_grad(p, X, y, l2)
            return loss, grad.astype(np.float64, copy=False)

        def record(intermediate_result):
            # SciPy >= 1.11 passes an OptimizeResult holding the loss; older
            # versions pass the parameter vector alone.
            loss = getattr(intermediate_result, "fun", None)
            if loss is None:
                loss = mlp.loss(intermediate_result, X, y, l2)
            self.loss_curve_.append(float(loss))
            self._log(f"Iteration {len(self.loss_curve_):4d}: loss {float(loss):.6f}")

        result = minimize(
            loss_and_grad,
            params,
            jac=True,
            method="L-BFGS-B",
            callback=record,
            options={"maxiter": self.max_epochs, "gtol": self.tol},
        )
        if not np.isfinite(result.fun):
            raise ValueError("L-BFGS diverged: the loss became NaN or infinite")
        if result.status != 0:
            warnings.warn(
                f"L-BFGS stopped after {result.nit} iterations without converging: "
                f"{result.message}",
                ConvergenceWarning,
                stacklevel=3,
            )
        params[...] = result.x
        return int(result.nit)

    def _fit_stochastic(self, mlp, params, X, y, rng):
        n_samples = X.shape[0]
        if self.early_stopping:
            n_validation = max(1, int(round(self.validation_fraction * n_samples)))
            if n_samples - n_validation < 1:
                raise ValueError(
                    f"early_stopping needs more than {n_samples} sample(s) to hold some out"
                )
            order = rng.permutation(n_samples)
            X_val, y_val = X[order[:n_validation]], y[order[:n_validation]]
            X, y = X[order[n_validation:]], y[order[n_validation:]]
            n_samples = X.shape[0]
            self.validation_scores_ = []
        batch_size = min(self.batch_size, n_samples)
        lr, l2, momentum = self.learning_rate, float(self.l2), self.momentum
        adam = self.solver == "adam"
        first_moment = np.zeros_like(params)
        second_moment = np.zeros_like(params) if adam else None
        step_buffer = np.empty_like(params)
        n_steps = 0

        best_loss, best_score, best_params = np.inf, -np.inf, None
        epochs_without_improvement = 0
        for epoch in range(1, self.max_epochs + 1):
            order = rng.permutation(n_samples)
            loss_sum = 0.0
            for start in range(0, n_samples, batch_size):
                batch = order[start : start + batch_size]
                loss, grad = mlp.loss_and_grad(params, X[batch], y[batch], l2)
                loss_sum += loss * batch.shape[0]
                n_steps += 1
                if adam:
                    first_moment *= _ADAM_BETA1
                    first_moment += (1 - _ADAM_BETA1) * grad
                    second_moment *= _ADAM_BETA2
                    second_moment += (1 - _ADAM_BETA2) * grad * grad
                    # Bias correction folded into the step size (Kingma & Ba, Sec. 2).
                    step = lr * np.sqrt(1 - _ADAM_BETA2**n_steps) / (1 - _ADAM_BETA1**n_steps)
                    np.sqrt(second_moment, out=step_buffer)
                    step_buffer += _ADAM_EPSILON
                    np.divide(first_moment, step_buffer, out=step_buffer)
                    step_buffer *= step
                    params -= step_buffer
                else:
                    # Heavy-ball momentum: v <- momentum v - lr g, params <- params + v.
                    first_moment *= momentum
                    first_moment -= lr * grad
                    params += first_moment
            epoch_loss = loss_sum / n_samples
            if not np.isfinite(epoch_loss):
                raise ValueError(
                    f"training diverged at epoch {epoch}: the loss became {epoch_loss}; "
                    "lower learning_rate or scale X"
                )
            self.loss_curve_.append(epoch_loss)

            if self.early_stopping:
                probabilities = mlp.forward(params, X_val)
                score = float(np.mean(np.argmax(probabilities, axis=1) == y_val))
                self.validation_scores_.append(score)
                self._log(f"Epoch {epoch:4d}: loss {epoch_loss:.6f}, validation accuracy {score:.4f}")
                if score > best_score + self.tol:
                    epochs_without_improvement = 0
                else:
                    epochs_without_improvement += 1
                if score > best_score:
                    best_score, best_params = score, params.copy()
            else:
                self._log(f"Epoch {epoch:4d}: loss {epoch_loss:.6f}")
                if epoch_loss > best_loss - self.tol:
                    epochs_without_improvement += 1
                else:
                    epochs_without_improvement = 0
                best_loss = min(best_loss, epoch_loss)
            if epochs_without_improvement >= self.n_iter_no_change:
                self._log(f"Stopping: no improvement above tol={self.tol} for "
                          f"{self.n_iter_no_change} epochs")
                break
        else:
            warnings.warn(
                f"{self.solver} reached max_epochs={self.max_epochs} before the loss "
                "stopped improving; raise max_epochs or tol",
                ConvergenceWarning,
                stacklevel=3,
            )
        if self.early_stopping:
            params[...] = best_params
            self.best_validation_score_ = best_score
        return epoch

    # --- prediction -------------------------------------------------------------

    def predict_proba(self, X):
        """Class probabilities of every sample.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Column j is the probability of ``classes_[j]``; rows sum to 1.

        Examples
        --------
        >>> import numpy as np
        >>> from fastnn import MLPClassifier
        >>> X = np.array([[-1.0], [-0.5], [0.5], [1.0]])
        >>> clf = MLPClassifier((), solver="lbfgs").fit(X, ["no", "no", "yes", "yes"])
        >>> clf.predict_proba([[2.0]]).sum(axis=1)
        array([1.])
        """
        self._check_fitted()
        X = self._check_X(X, self.n_features_in_)
        return self.mlp_.forward(self.params_, X)

    def predict(self, X):
        """Most probable label of every sample.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
            Values taken from ``classes_``.

        Examples
        --------
        >>> import numpy as np
        >>> from fastnn import MLPClassifier
        >>> X = np.array([[-1.0], [-0.5], [0.5], [1.0]])
        >>> clf = MLPClassifier((), solver="lbfgs").fit(X, ["no", "no", "yes", "yes"])
        >>> clf.predict([[-2.0], [2.0]])
        array(['no', 'yes'], dtype='<U3')
        """
        self._check_fitted()
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def score(self, X, y):
        """Accuracy: the fraction of samples whose predicted label equals ``y``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)

        Returns
        -------
        float

        Examples
        --------
        >>> import numpy as np
        >>> from fastnn import MLPClassifier
        >>> X = np.array([[-1.0], [-0.5], [0.5], [1.0]])
        >>> clf = MLPClassifier((), solver="lbfgs").fit(X, [0, 0, 1, 1])
        >>> clf.score(X, [0, 0, 1, 0])
        0.75
        """
        y = np.asarray(y)
        predicted = self.predict(X)
        if y.shape != predicted.shape:
            raise ValueError(f"y must have shape {predicted.shape}, got {y.shape}")
        return float(np.mean(predicted == y))
