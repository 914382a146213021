"""First-order update rules used to train neural networks.

Each update rule has the same interface:

    def update(w, dw, config=None):
        ...
        return next_w, config

Inputs:
- w: A numpy array giving the current weights.
- dw: A numpy array of the same shape as w giving the gradient of the loss with
  respect to w.
- config: A dictionary of hyperparameters such as the learning rate and momentum,
  and of the state the rule keeps between steps (velocity, caches, moments). If
  the rule needs a value that is missing, it uses its default.

Returns:
- next_w: The next point after the update.
- config: The config dictionary to pass to the next step of the rule.

The rules keep the CS231n conventions (a config dictionary per parameter, defaults
and formulas as in the assignment), so the Solver can use any of them by name.
They never modify w, dw or the arrays of the config passed in: the returned config
is a new dictionary holding new state arrays, which lets a caller keep a snapshot.

Every trainer of the course (Solver, LinearClassifier.train, ...) raises TrainingDivergedError,
defined here, when the loss stops being a finite number.
"""

import numpy as np

from helpers._checks import as_float_array, non_negative_number, number_in, positive_number

# Hyperparameter defaults of each rule (the CS231n values) and the state keys it keeps.
DEFAULTS = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}
STATE_KEYS = {
    "sgd": (),
    "sgd_momentum": ("velocity",),
    "rmsprop": ("cache",),
    "adam": ("m", "v", "t"),
}
UPDATE_RULES = tuple(DEFAULTS)


def get_update_rule(rule):
    """
    An update rule given by name (one of UPDATE_RULES) or as a function with the same
    interface, such as a notebook's own.

    Returns a tuple of:
    - update: The function
    - name: Its name, for messages and checkpoints
    """
    if callable(rule):
        return rule, getattr(rule, "__name__", type(rule).__name__)
    if isinstance(rule, str) and rule in UPDATE_RULES:
        return globals()[rule], rule
    raise ValueError(f"Invalid update_rule {rule!r}; use one of {list(UPDATE_RULES)} "
                     "or a function update(w, dw, config) -> (next_w, config)")


class TrainingDivergedError(FloatingPointError):
    """Raised by a trainer when the training loss becomes NaN or infinite (usually: the learning
    rate, or the initial weight scale, is too large)."""


def _prepare(rule, w, dw, config):
    """Check the inputs of an update rule and return a new config with its defaults filled in."""
    w = as_float_array(f"{rule}: w", w)
    dw = as_float_array(f"{rule}: dw", dw)
    if w.shape != dw.shape:
        raise ValueError(f"{rule}: dw must have the shape of w {w.shape}, got {dw.shape}")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ValueError(f"{rule}: config must be a dict or None, got {type(config).__name__}")
    known = set(DEFAULTS[rule]) | set(STATE_KEYS[rule])
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(f"{rule}: unknown config keys {unknown}; {rule} accepts {sorted(known)}")
    config = {**DEFAULTS[rule], **config}
    for key in DEFAULTS[rule]:
        if key in ("momentum", "decay_rate", "beta1", "beta2"):
            number_in(f"{rule}: {key}", config[key], 0, 1, high_open=True)
        elif key == "epsilon":  # it keeps a division by a zero second moment finite
            positive_number(f"{rule}: {key}", config[key])
        else:
            non_negative_number(f"{rule}: {key}", config[key])
    for key in STATE_KEYS[rule]:
        if key in config and key != "t" and np.shape(config[key]) != w.shape:
            raise ValueError(f"{rule}: config['{key}'] must have the shape of w {w.shape}, "
                             f"got {np.shape(config[key])}")
    return w, dw, config


def sgd(w, dw, config=None):
    """
    Performs vanilla stochastic gradient descent.

    config format:
    - learning_rate: Scalar learning rate (default 1e-2).

    Inputs:
    - w: Array of weights, any shape
    - dw: Gradient of the loss with respect to w, same shape as w
    - config: Dictionary described above, or None for the defaults

    Returns:
    - next_w: w - learning_rate * dw, same shape as w
    - config: The config with its defaults filled in
    """
    w, dw, config = _prepare("sgd", w, dw, config)
    next_w = w - config["learning_rate"] * dw
    return next_w, config


def sgd_momentum(w, dw, config=None):
    """
    Performs stochastic gradient descent with momentum.

    The velocity is a decaying running sum of the negative gradients:
        v = momentum * v - learning_rate * dw
        next_w = w + v

    config format:
    - learning_rate: Scalar learning rate (default 1e-2).
    - momentum: Scalar between 0 and 1 giving the momentum value (default 0.9).
      Setting momentum = 0 reduces to sgd.
    - velocity: A numpy array of the same shape as w and dw used to store a
      moving average of the gradients (zeros when missing).

    Inputs:
    - w: Array of weights, any shape
    - dw: Gradient of the loss with respect to w, same shape as w
    - config: Dictionary described above, or None for the defaults

    Returns:
    - next_w: The updated weights, same shape as w
    - config: The config holding the new velocity
    """
    w, dw, config = _prepare("sgd_momentum", w, dw, config)
    v = config.get("velocity")
    if v is None:
        v = np.zeros_like(w)
    v = config["momentum"] * v - config["learning_rate"] * dw
    next_w = w + v
    config["velocity"] = v
    return next_w, config


def rmsprop(w, dw, config=None):
    """
    Uses the RMSProp update rule, which uses a moving average of squared
    gradient values to set adaptive per-parameter learning rates.

        cache = decay_rate * cache + (1 - decay_rate) * dw**2
        next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)

    config format:
    - learning_rate: Scalar learning rate (default 1e-2).
    - decay_rate: Scalar between 0 and 1 giving the decay rate for the squared
      gradient cache (default 0.99).
    - epsilon: Small scalar used for smoothing to avoid dividing by zero (default 1e-8).
    - cache: Moving average of second moments of gradients, same shape as w
      (zeros when missing).

    Inputs:
    - w: Array of weights, any shape
    - dw: Gradient of the loss with respect to w, same shape as w
    - config: Dictionary described above, or None for the defaults

    Returns:
    - next_w: The updated weights, same shape as w
    - config: The config holding the new cache
    """
    w, dw, config = _prepare("rmsprop", w, dw, config)
    cache = config.get("cache")
    if cache is None:
        cache = np.zeros_like(w)
    decay = config["decay_rate"]
    cache = decay * cache + (1 - decay) * dw**2
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    config["cache"] = cache
    return next_w, config


def adam(w, dw, config=None):
    """
    Uses the Adam update rule, which incorporates moving averages of both the
    gradient and its square and a bias correction term.

        t = t + 1                       (t is incremented before it is used)
        m = beta1 * m + (1 - beta1) * dw
        v = beta2 * v + (1 - beta2) * dw**2
        next_w = w - learning_rate * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + epsilon)

    config format:
    - learning_rate: Scalar learning rate (default 1e-3).
    - beta1: Decay rate for moving average of first moment of gradient (default 0.9).
    - beta2: Decay rate for moving average of second moment of gradient (default 0.999).
    - epsilon: Small scalar used for smoothing to avoid dividing by zero (default 1e-8).
    - m: Moving average of gradient, same shape as w (zeros when missing).
    - v: Moving average of squared gradient, same shape as w (zeros when missing).
    - t: Iteration number (0 when missing).

    Inputs:
    - w: Array of weights, any shape
    - dw: Gradient of the loss with respect to w, same shape as w
    - config: Dictionary described above, or None for the defaults

    Returns:
    - next_w: The updated weights, same shape as w
    - config: The config holding the new m, v and t
    """
    w, dw, config = _prepare("adam", w, dw, config)
    m = config.get("m")
    v = config.get("v")
    t = config.get("t", 0)
    if int(t) != t or t < 0:
        raise ValueError(f"adam: config['t'] must be a non-negative integer, got {t!r}")
    m = np.zeros_like(w) if m is None else m
    v = np.zeros_like(w) if v is None else v
    beta1, beta2 = config["beta1"], config["beta2"]
    t = int(t) + 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw**2
    # Both moments start at zero, so early averages are biased towards zero; dividing
    # by (1 - beta**t) undoes that bias.
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    config.update(m=m, v=v, t=t)
    return next_w, config
