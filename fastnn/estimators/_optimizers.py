"""Stochastic optimisers for MLPClassifier: SGD with momentum, Adam, learning-rate schedules.

Each optimiser is a small object that owns its state (SGD's velocity, Adam's
moments and step count, the current learning rate) and offers the hooks the
training loop calls: ``update_params`` after every minibatch,
``iteration_ends`` after every epoch and ``trigger_stopping`` when the loss
stops improving.  The split follows scikit-learn's
``sklearn/neural_network/_stochastic_optimizers.py``, with two differences:
the parameters are fastnn's one flat vector, updated in place with
preallocated scratch buffers, and the estimator keeps the optimiser between
``fit(warm_start=True)`` and ``partial_fit`` calls, so that training resumes
exactly where it stopped (scikit-learn builds a new optimiser on every
``fit``, resetting momentum and Adam's moments).

The arithmetic follows scikit-learn's operation for operation, so with the
same gradients a float64 run gives the same parameters.
"""

import numpy as np

__all__ = ["SGDOptimizer", "AdamOptimizer", "LEARNING_RATE_SCHEDULES"]

LEARNING_RATE_SCHEDULES = ("constant", "invscaling", "adaptive")

# The adaptive schedule divides the rate by this after each plateau and
# gives up below _MIN_ADAPTIVE_RATE (scikit-learn's values).
_ADAPTIVE_DIVISOR = 5.0
_MIN_ADAPTIVE_RATE = 1e-6


class _BaseOptimizer:
    """The parts every optimiser shares: the rate and the stopping hook."""

    def __init__(self, params, learning_rate_init):
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        # Scratch buffers for the update, so that a step allocates nothing.
        self._scratch = np.empty_like(params)
        self._step = np.empty_like(params)

    def iteration_ends(self, time_step):
        """Hook called after every epoch with the number of samples seen so far."""

    def trigger_stopping(self, message, verbose):
        """Whether to stop training after ``n_iter_no_change`` epochs without progress."""
        if verbose:
            print(message + " Stopping.")
        return True

    def matches(self, params):
        """True when this optimiser's state fits ``params`` (same length and dtype)."""
        return self._step.shape == params.shape and self._step.dtype == params.dtype


class SGDOptimizer(_BaseOptimizer):
    """Minibatch SGD with (Nesterov) momentum and a learning-rate schedule.

    Parameters
    ----------
    params : ndarray
        The flat parameter vector; gives the shape and dtype of the state.
    learning_rate_init : float
    lr_schedule : {"constant", "invscaling", "adaptive"}
        "invscaling": after each epoch the rate becomes
        ``learning_rate_init / (t + 1) ** power_t`` with ``t`` the number of
        samples seen.  "adaptive": the rate is divided by 5 each time the
        loss stops improving, and training stops once it falls below 1e-6.
    momentum : float
    nesterov : bool
    power_t : float

    Notes
    -----
    With velocity ``v``, gradient ``g`` and rate ``lr``:
    ``v <- momentum * v - lr * g``, then the parameters move by ``v``, or
    with Nesterov's momentum by ``momentum * v - lr * g``.
    """

    def __init__(self, params, learning_rate_init=0.1, lr_schedule="constant",
                 momentum=0.9, nesterov=True, power_t=0.5):
        super().__init__(params, learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.power_t = float(power_t)
        self.velocity = np.zeros_like(params)

    def update_params(self, params, grad):
        """Move ``params`` (in place) one step against ``grad``."""
        lr_grad = np.multiply(grad, self.learning_rate, out=self._scratch)
        self.velocity *= self.momentum
        self.velocity -= lr_grad
        if self.nesterov:
            step = np.multiply(self.velocity, self.momentum, out=self._step)
            step -= lr_grad
            params += step
        else:
            params += self.velocity

    def iteration_ends(self, time_step):
        if self.lr_schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (time_step + 1) ** self.power_t

    def trigger_stopping(self, message, verbose):
        if self.lr_schedule != "adaptive":
            return super().trigger_stopping(message, verbose)
        if self.learning_rate <= _MIN_ADAPTIVE_RATE:
            if verbose:
                print(message + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= _ADAPTIVE_DIVISOR
        if verbose:
            print(message + " Setting learning rate to %f" % self.learning_rate)
        return False


class AdamOptimizer(_BaseOptimizer):
    """Adam (Kingma & Ba, 2015) on the flat parameter vector.

    Parameters
    ----------
    params : ndarray
        The flat parameter vector; gives the shape and dtype of the state.
    learning_rate_init : float
    beta_1, beta_2 : float
        Decay rates of the first and second moment estimates, in [0, 1).
    epsilon : float
        Added to the root of the second moment before dividing.

    Notes
    -----
    After ``t`` steps, ``m <- beta_1 m + (1 - beta_1) g``,
    ``v <- beta_2 v + (1 - beta_2) g^2`` and the parameters move by
    ``-lr_t m / (sqrt(v) + epsilon)`` with the bias correction folded into
    the rate, ``lr_t = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)`` (Kingma &
    Ba, section 2).
    """

    def __init__(self, params, learning_rate_init=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        super().__init__(params, learning_rate_init)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.t = 0
        self.first_moment = np.zeros_like(params)
        self.second_moment = np.zeros_like(params)

    def update_params(self, params, grad):
        """Move ``params`` (in place) one step against ``grad``."""
        self.t += 1
        m, v = self.first_moment, self.second_moment
        m *= self.beta_1
        m += np.multiply(grad, 1 - self.beta_1, out=self._scratch)
        squared = np.square(grad, out=self._scratch)
        squared *= 1 - self.beta_2
        v *= self.beta_2
        v += squared
        self.learning_rate = (
            self.learning_rate_init * np.sqrt(1 - self.beta_2**self.t) / (1 - self.beta_1**self.t)
        )
        denominator = np.sqrt(v, out=self._scratch)
        denominator += self.epsilon
        step = np.multiply(m, -self.learning_rate, out=self._step)
        step /= denominator
        params += step
