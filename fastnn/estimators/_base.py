"""The estimators' shared core: one multilayer perceptron, trained as scikit-learn trains it.

`BaseMultilayerPerceptron` owns everything that does not depend on what the
network predicts: the hyperparameter checks, the flat parameter vector and
its ``coefs_``/``intercepts_`` views, both solvers with their minibatches
and BLAS limit, early stopping, ``warm_start`` and ``partial_fit``'s
continuation.  The classifier (``classifier.py``) and the regressor
(``regressor.py``) fill in a few hooks: how to check ``y`` and turn it into
the network's targets, which output layer to use, which validation score to
keep, and how to report the loss.  The base never asks which of them it is.

The loops follow scikit-learn 1.9's ``BaseMultilayerPerceptron`` step for
step (the same draws from ``random_state``, the same minibatches, the same
updates and stopping rules), so that a seed gives scikit-learn's weights.
The input is validated once per ``fit`` or ``partial_fit``; the loop over
minibatches calls the network's trusted path.
"""

import functools
import os
import sys
import warnings

import numpy as np

from .._blas_threads import training_blas_limit
from ..mlp import ACTIVATIONS, INIT_SCHEMES, MLP, _is_sparse
from ._compat import (
    BaseEstimator,
    ConvergenceWarning,
    check_is_fitted,
    check_random_state,
    train_test_split,
    validate_data,
)
from ._optimizers import LEARNING_RATE_SCHEDULES, AdamOptimizer, SGDOptimizer
from ._training_rows import InMemoryRows, LossConvention
from .._validation import check_sample_weight, is_integer, is_real
from ..dropout import check_dropout

__all__ = ["BaseMultilayerPerceptron", "SOLVERS", "check_sample_weight"]

SOLVERS = ("adam", "sgd", "lbfgs")
_STOCHASTIC_SOLVERS = ("sgd", "adam")


def _is_bool(value):
    return isinstance(value, (bool, np.bool_))


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def warn_at_caller(message, category):
    """``warnings.warn`` pointed at the first frame outside fastnn: the user's call of
    ``fit`` or ``partial_fit``, however deep in fastnn the warning is raised."""
    # stacklevel 1 is this function; 2 is the frame that called it.
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


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



class BaseMultilayerPerceptron(BaseEstimator):
    """The shared core of `MLPClassifier` and `MLPRegressor`; not for direct use.

    Subclasses define ``__init__`` (scikit-learn reads the parameters from
    its signature) and these hooks:

    - ``_validate_input(X, y, incremental, reset)``: X checked by
      ``validate_data``, and y as a 2-D (n_samples, n_outputs) array;
    - ``_loss_weights(sample_weight, Y, incremental)``: the per-sample
      weights of the loss, or None;
    - ``_output_layer_name()``: the network's output layer, for a new network;
    - ``_targets(Y)``: the network's targets from ``Y``;
    - ``_validation_scorer()``: the early-stopping score (``_scores.py``);
    - ``_stratify_codes(Y)``: class indices to stratify the early-stopping
      split on, or None;
    - ``_loss_convention(targets, weights)``: how the loss is reported
      (``_training_rows.LossConvention``).
    """

    # --- fitted weights as views of the flat parameter vector -----------------

    @property
    def coefs_(self):
        params = self.__dict__.get("params_")
        if params is None:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute 'coefs_'")
        return [W for W, _ in self.mlp_._unpack_trusted(params)]

    @coefs_.setter
    def coefs_(self, coefs):
        for (W, _), new in zip(self.mlp_._unpack_trusted(self.params_), coefs, strict=True):
            W[...] = new

    @property
    def intercepts_(self):
        params = self.__dict__.get("params_")
        if params is None:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute 'intercepts_'")
        return [b for _, b in self.mlp_._unpack_trusted(params)]

    @intercepts_.setter
    def intercepts_(self, intercepts):
        for b, new in zip([b for _, b in self.mlp_._unpack_trusted(self.params_)], intercepts,
                          strict=True):
            b[...] = new

    # --- hyperparameters ---------------------------------------------------------

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
                f"The '{name}' parameter of {type(self).__name__} must be {expected}. "
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
        self._validate_own_hyperparameters(fail)
        self._dropout_rates = check_dropout(self.dropout, len(sizes))
        if self.solver == "lbfgs" and any(self._dropout_rates):
            raise ValueError(
                f"dropout={self.dropout!r} needs a stochastic solver: L-BFGS's line search "
                "compares losses of the same function, which random masks change from one "
                "evaluation to the next; use solver='adam' or 'sgd', or dropout=0"
            )
        return tuple(int(size) for size in sizes)


    def _validate_own_hyperparameters(self, fail):
        """The subclass's own parameters; ``fail(name, expected)`` raises scikit-learn's error."""

    # --- fitting -------------------------------------------------------------------

    def _fit(self, X, y, sample_weight, incremental):
        hidden_sizes = self._validate_hyperparameters()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = "params_" not in self.__dict__ or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        weights = self._loss_weights(sample_weight, Y, incremental)
        self._prepare_network(first_pass, (X.shape[1], *hidden_sizes, Y.shape[1]), X.dtype)
        dtype = self.mlp_.dtype
        # The network keeps the dtype of its first fit; X is converted once.
        X = X.tocsr().astype(dtype, copy=False) if _is_sparse(X) else X.astype(dtype, copy=False)
        targets = self._targets(Y)
        rows = InMemoryRows(
            self.mlp_, X, targets, weights, self._validation_scorer(),
            self._loss_convention(targets, weights),
        )
        return self._train(rows, self._stratify_codes(Y), incremental)

    def _loss_convention(self, targets, weights):
        return LossConvention()

    def _stratify_codes(self, Y):
        return None

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
        self._overflowed = False

        def record_overflow(kind, flag):
            self._overflowed = True

        with np.errstate(over="call", invalid="ignore", divide="ignore", call=record_overflow), \
                training_blas_limit(rows_per_step, self.mlp_.layer_sizes):
            if self.solver == "lbfgs":
                self._fit_lbfgs(rows)
            else:
                self._fit_stochastic(rows, codes, incremental)
        # Kept weights are unusable when they are not finite, and so are
        # weights whose last epoch (or L-BFGS step) overflowed or whose loss is
        # not finite: scikit-learn's float64 arithmetic turns such weights
        # into inf or nan, fastnn's kernels may keep them huge but finite.
        restored = self.early_stopping and self.solver != "lbfgs"
        diverged = not restored and (self._overflowed or not np.isfinite(self.loss_))
        if diverged or not np.all(np.isfinite(self.params_)):
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
        self.out_activation_ = self._output_layer_name()
        self.mlp_ = MLP(layer_sizes, self.activation, dtype, output=self.out_activation_)
        self.params_ = self.mlp_._draw_params(self._random_state, self.init)
        self._optimizer = None
        self._sample_order = None
        # Dropout's masks: a seed drawn from the random stream at the first
        # step that needs one, and the steps taken (warm_start and partial_fit
        # continue both).
        self._dropout_seed = None
        self._dropout_step = 0
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
            self._overflowed = False
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
            warn_at_caller(message, ConvergenceWarning)
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
            warn_at_caller(
                "Got `batch_size` less than 1 or larger than sample size. It is going to "
                "be clipped",
                UserWarning,
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
            self._overflowed = False
            for start in range(0, n_samples, batch_size):
                stop = min(start + batch_size, n_samples)
                batch = sample_idx[start:stop] if self.shuffle else slice(start, stop)
                loss, grad = train.loss_and_grad(params, batch, self.alpha,
                                                 dropout=self._next_dropout(random_state))
                accumulated_loss += loss * (stop - start)
                optimizer.update_params(params, grad)

            self.n_iter_ += 1
            self.loss_ = accumulated_loss / n_samples
            if not np.isfinite(self.loss_) and not self.early_stopping:
                # The fit has diverged: _train raises scikit-learn's error.  (With
                # early stopping the best epoch's weights are kept, as in
                # scikit-learn, and training goes on.)
                self.loss_curve_.append(self.loss_)
                break
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
                warn_at_caller(
                    "Stochastic Optimizer: Maximum iterations (%d) reached and the optimization "
                    "hasn't converged yet." % self.max_iter,
                    ConvergenceWarning
                )
        if self.early_stopping:
            params[...] = self._best_params

    def _next_dropout(self, random_state):
        """``(rates, seed, step)`` for this step's dropout masks, or None without dropout."""
        if not any(self._dropout_rates):
            return None
        if getattr(self, "_dropout_seed", None) is None:
            self._dropout_seed = int(random_state.randint(np.iinfo(np.int32).max))
            self._dropout_step = 0
        step = self._dropout_step
        self._dropout_step += 1
        return self._dropout_rates, self._dropout_seed, step

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
