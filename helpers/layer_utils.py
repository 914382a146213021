"""Convenience "sandwich" layers: common sequences of layers from `helpers.layers`,
each a forward function returning `(out, cache)` and its backward counterpart.

The sandwiches take an optional `layers` table (see `layer_table`) so that a notebook can
run a network on a learner's own implementations of the layers instead of the references.
"""

from helpers import layers as reference_layers
from helpers._checks import one_of

NORMALIZATIONS = (None, "batchnorm", "layernorm")

LAYER_NAMES = (
    "affine_forward", "affine_backward", "relu_forward", "relu_backward",
    "batchnorm_forward", "batchnorm_backward_alt", "layernorm_forward", "layernorm_backward",
    "dropout_forward", "dropout_backward", "softmax_loss", "svm_loss",
)


def layer_table(overrides=None, names=LAYER_NAMES, modules=(reference_layers,)):
    """
    The layer functions a network runs: the references, some possibly replaced.

    Inputs:
    - overrides: Optional dict mapping some of `names` (e.g. 'batchnorm_forward') to functions
      with the same signature, such as a learner's exercise functions
    - names: The layer functions the network calls
    - modules: Where the reference of each name is found (the first module that has it)

    Returns:
    - table: dict mapping every name in `names` to the function to call
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise ValueError(f"layers can only replace {tuple(names)}, got unknown names {unknown}")
    for name, fn in overrides.items():
        if not callable(fn):
            raise ValueError(f"layers[{name!r}] must be a function, got {fn!r}")
    table = {name: next(getattr(m, name) for m in modules if hasattr(m, name)) for name in names}
    table.update(overrides)
    return table


def affine_relu_forward(x, w, b, layers=None):
    """
    Convenience layer that performs an affine transform followed by a ReLU.

    Inputs:
    - x: Input to the affine layer, of shape (N, d_1, ..., d_k)
    - w: Weights for the affine layer, of shape (D, M) with D = d_1 * ... * d_k
    - b: Biases for the affine layer, of shape (M,)
    - layers: Optional table from layer_table(); None runs the reference layers

    Returns a tuple of:
    - out: Output from the ReLU, of shape (N, M)
    - cache: Object to give to the backward pass
    """
    layers = layers or layer_table()
    a, fc_cache = layers["affine_forward"](x, w, b)
    out, relu_cache = layers["relu_forward"](a)
    cache = (layers, fc_cache, relu_cache)
    return out, cache


def affine_relu_backward(dout, cache):
    """
    Backward pass for the affine-relu convenience layer.

    Inputs:
    - dout: Upstream derivatives, of shape (N, M)
    - cache: Object from affine_relu_forward

    Returns a tuple of:
    - dx: Gradient with respect to x, of shape (N, d_1, ..., d_k)
    - dw: Gradient with respect to w, of shape (D, M)
    - db: Gradient with respect to b, of shape (M,)
    """
    layers, fc_cache, relu_cache = cache
    da = layers["relu_backward"](dout, relu_cache)
    dx, dw, db = layers["affine_backward"](da, fc_cache)
    return dx, dw, db


def affine_norm_relu_forward(x, w, b, gamma, beta, norm_param, normalization, layers=None):
    """
    Convenience layer: affine transform, then batch or layer normalization, then a ReLU.

    Inputs:
    - x: Input to the affine layer, of shape (N, d_1, ..., d_k)
    - w: Weights for the affine layer, of shape (D, M) with D = d_1 * ... * d_k
    - b: Biases for the affine layer, of shape (M,)
    - gamma, beta: Scale and shift of the normalization, each of shape (M,)
    - norm_param: bn_param for batchnorm_forward or ln_param for layernorm_forward
    - normalization: 'batchnorm', 'layernorm', or None (no normalization: affine-relu)
    - layers: Optional table from layer_table(); None runs the reference layers

    Returns a tuple of:
    - out: Output from the ReLU, of shape (N, M)
    - cache: Object to give to the backward pass
    """
    one_of("normalization", normalization, NORMALIZATIONS)
    layers = layers or layer_table()
    a, fc_cache = layers["affine_forward"](x, w, b)
    if normalization == "batchnorm":
        a, norm_cache = layers["batchnorm_forward"](a, gamma, beta, norm_param)
    elif normalization == "layernorm":
        a, norm_cache = layers["layernorm_forward"](a, gamma, beta, norm_param)
    else:
        norm_cache = None
    out, relu_cache = layers["relu_forward"](a)
    cache = (layers, normalization, fc_cache, norm_cache, relu_cache)
    return out, cache


def affine_norm_relu_backward(dout, cache):
    """
    Backward pass for the affine-norm-relu convenience layer.

    Inputs:
    - dout: Upstream derivatives, of shape (N, M)
    - cache: Object from affine_norm_relu_forward

    Returns a tuple of:
    - dx: Gradient with respect to x, of shape (N, d_1, ..., d_k)
    - dw: Gradient with respect to w, of shape (D, M)
    - db: Gradient with respect to b, of shape (M,)
    - dgamma, dbeta: Gradients with respect to gamma and beta, of shape (M,);
      None when the layer has no normalization
    """
    layers, normalization, fc_cache, norm_cache, relu_cache = cache
    da = layers["relu_backward"](dout, relu_cache)
    dgamma = dbeta = None
    if normalization == "batchnorm":
        da, dgamma, dbeta = layers["batchnorm_backward_alt"](da, norm_cache)
    elif normalization == "layernorm":
        da, dgamma, dbeta = layers["layernorm_backward"](da, norm_cache)
    dx, dw, db = layers["affine_backward"](da, fc_cache)
    return dx, dw, db, dgamma, dbeta


# ---- convolutional sandwich layers ----
# These run the fast conv/pool layers (Cython, or NumPy when the extension is not built).
# fast_layers is imported on first use so that the fully connected sandwiches above load
# without the convolution stack.


def _fast_layers():
    from helpers import fast_layers

    return fast_layers


def conv_relu_forward(x, w, b, conv_param):
    """
    A convenience layer that performs a convolution followed by a ReLU.

    Inputs:
    - x: Input to the convolutional layer, of shape (N, C, H, W)
    - w: Filter weights, of shape (F, C, HH, WW)
    - b: Biases, of shape (F,)
    - conv_param: Dictionary with the keys 'stride' and 'pad'

    Returns a tuple of:
    - out: Output from the ReLU, of shape (N, F, H', W')
    - cache: Object to give to the backward pass
    """
    a, conv_cache = _fast_layers().conv_forward_fast(x, w, b, conv_param)
    out, relu_cache = reference_layers.relu_forward(a)
    cache = (conv_cache, relu_cache)
    return out, cache


def conv_relu_backward(dout, cache):
    """
    Backward pass for the conv-relu convenience layer.

    Inputs:
    - dout: Upstream derivatives, of shape (N, F, H', W')
    - cache: Object from conv_relu_forward

    Returns a tuple of:
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    - dw: Gradient with respect to w, of shape (F, C, HH, WW)
    - db: Gradient with respect to b, of shape (F,)
    """
    conv_cache, relu_cache = cache
    da = reference_layers.relu_backward(dout, relu_cache)
    dx, dw, db = _fast_layers().conv_backward_fast(da, conv_cache)
    return dx, dw, db


def conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, bn_param):
    """
    A convenience layer that performs a convolution, spatial batch normalization and a ReLU.

    Inputs:
    - x: Input to the convolutional layer, of shape (N, C, H, W)
    - w: Filter weights, of shape (F, C, HH, WW)
    - b: Biases, of shape (F,)
    - gamma, beta: Scale and shift of the batch normalization, each of shape (F,)
    - conv_param: Dictionary with the keys 'stride' and 'pad'
    - bn_param: Dictionary of parameters for spatial_batchnorm_forward ('mode', ...)

    Returns a tuple of:
    - out: Output from the ReLU, of shape (N, F, H', W')
    - cache: Object to give to the backward pass
    """
    a, conv_cache = _fast_layers().conv_forward_fast(x, w, b, conv_param)
    an, bn_cache = reference_layers.spatial_batchnorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = reference_layers.relu_forward(an)
    cache = (conv_cache, bn_cache, relu_cache)
    return out, cache


def conv_bn_relu_backward(dout, cache):
    """
    Backward pass for the conv-bn-relu convenience layer.

    Inputs:
    - dout: Upstream derivatives, of shape (N, F, H', W')
    - cache: Object from conv_bn_relu_forward

    Returns a tuple of:
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    - dw: Gradient with respect to w, of shape (F, C, HH, WW)
    - db: Gradient with respect to b, of shape (F,)
    - dgamma, dbeta: Gradients with respect to gamma and beta, each of shape (F,)
    """
    conv_cache, bn_cache, relu_cache = cache
    dan = reference_layers.relu_backward(dout, relu_cache)
    da, dgamma, dbeta = reference_layers.spatial_batchnorm_backward(dan, bn_cache)
    dx, dw, db = _fast_layers().conv_backward_fast(da, conv_cache)
    return dx, dw, db, dgamma, dbeta


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """
    A convenience layer that performs a convolution, a ReLU, and a max pool.

    Inputs:
    - x: Input to the convolutional layer, of shape (N, C, H, W)
    - w: Filter weights, of shape (F, C, HH, WW)
    - b: Biases, of shape (F,)
    - conv_param: Dictionary with the keys 'stride' and 'pad'
    - pool_param: Dictionary with the keys 'pool_height', 'pool_width' and 'stride'

    Returns a tuple of:
    - out: Output from the pooling layer, of shape (N, F, H'', W'')
    - cache: Object to give to the backward pass
    """
    fast = _fast_layers()
    a, conv_cache = fast.conv_forward_fast(x, w, b, conv_param)
    s, relu_cache = reference_layers.relu_forward(a)
    out, pool_cache = fast.max_pool_forward_fast(s, pool_param)
    cache = (conv_cache, relu_cache, pool_cache)
    return out, cache


def conv_relu_pool_backward(dout, cache):
    """
    Backward pass for the conv-relu-pool convenience layer.

    Inputs:
    - dout: Upstream derivatives, of shape (N, F, H'', W'')
    - cache: Object from conv_relu_pool_forward

    Returns a tuple of:
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    - dw: Gradient with respect to w, of shape (F, C, HH, WW)
    - db: Gradient with respect to b, of shape (F,)
    """
    fast = _fast_layers()
    conv_cache, relu_cache, pool_cache = cache
    ds = fast.max_pool_backward_fast(dout, pool_cache)
    da = reference_layers.relu_backward(ds, relu_cache)
    dx, dw, db = fast.conv_backward_fast(da, conv_cache)
    return dx, dw, db
