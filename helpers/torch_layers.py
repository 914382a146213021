"""Convolution and max pooling through PyTorch, on any device, behind the CS231n layer API.

The same operations as `helpers.layers` (naive) and `helpers.fast_layers`, with the same
output-size rule (floored, as PyTorch itself does) and the same input checks:
- conv_forward_unfold: im2col with `torch.nn.functional.unfold`, then one batched matrix
  product, the algorithm of fast_layers written in PyTorch;
- conv_forward_torch: the library's `torch.nn.functional.conv2d`;
- conv_transpose_forward_torch: `torch.nn.functional.conv_transpose2d`;
- max_pool_forward_torch: `torch.nn.functional.max_pool2d`;
and their backward passes through autograd: the forward pass records its graph in the
cache, and `*_backward(dout, cache)` asks autograd for the gradients of the cached inputs.
A cache may be used for several backward passes.

Inputs may be NumPy arrays or torch tensors:
- NumPy in, NumPy out: arrays are moved to `device` (default: 'cuda' when available, else
  'cpu'), and results come back as NumPy arrays.
- Tensors in, tensors out: tensors stay on their device unless `device` says otherwise;
  this is how a benchmark times the layer without host/device transfers.
The dtype is preserved: float32 if every input is float32, else float64 (integers are
promoted to float64), as in fast_layers.
"""

import numpy as np
import torch
import torch.nn.functional as F

from helpers._checks import check_shape, conv_geometry, conv_transpose_geometry, pool_geometry


def available_devices():
    """
    The devices PyTorch can run on here.

    Returns:
    - List of device names, 'cpu' first, then 'cuda' and 'mps' when present
    """
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def default_device():
    """'cuda' when a CUDA GPU is available, else 'cpu'."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def _common_dtype(values):
    """float32 if every value is float32, else float64."""
    is_float32 = []
    for value in values:
        if torch.is_tensor(value):
            complex_valued, float32 = value.is_complex(), value.dtype == torch.float32
        else:
            complex_valued, float32 = np.iscomplexobj(value), np.asarray(value).dtype == np.float32
        if complex_valued:
            raise ValueError("expected real-valued inputs, got a complex array")
        is_float32.append(float32)
    return torch.float32 if all(is_float32) else torch.float64


def _as_leaves(values, device):
    """
    Turn NumPy arrays or tensors into leaf tensors that require grad, on one device and dtype.

    Returns a tuple of:
    - leaves: The tensors (they share memory with tensor inputs already on the device)
    - as_numpy: True when the first input was not a tensor (results are then returned as NumPy)
    """
    as_numpy = not torch.is_tensor(values[0])
    if device is None:
        device = values[0].device if not as_numpy else default_device()
    dtype = _common_dtype(values)
    leaves = []
    for value in values:
        if not torch.is_tensor(value):
            # ascontiguousarray: torch.from_numpy rejects negative strides.
            value = torch.from_numpy(np.ascontiguousarray(value))
        leaves.append(value.detach().to(device=device, dtype=dtype).requires_grad_(True))
    return tuple(leaves), as_numpy


def _result(tensor, as_numpy):
    tensor = tensor.detach()
    return tensor.cpu().numpy() if as_numpy else tensor


def _autograd_backward(dout, cache):
    """Gradients of the cached inputs, given the upstream gradient of the cached output."""
    out, leaves, as_numpy = cache
    check_shape("dout", dout, tuple(out.shape))
    if not torch.is_tensor(dout):
        dout = torch.from_numpy(np.ascontiguousarray(dout))
    dout = dout.to(device=out.device, dtype=out.dtype)
    grads = torch.autograd.grad(out, leaves, grad_outputs=dout, retain_graph=True)
    return tuple(_result(g, as_numpy) for g in grads)


def conv_forward_unfold(x, w, b, conv_param, device=None):
    """
    Forward pass for a convolutional layer: im2col with torch.nn.functional.unfold, then
    one batched matrix product (F, C*HH*WW) @ (N, C*HH*WW, H'*W').

    Inputs:
    - x: Input data of shape (N, C, H, W), NumPy array or tensor
    - w: Filter weights of shape (F, C, HH, WW)
    - b: Biases, of shape (F,)
    - conv_param: A dictionary with 'stride' and 'pad', as for conv_forward_naive
    - device: Torch device to compute on; None means x's device for a tensor, else
      'cuda' when available, else 'cpu'

    Returns a tuple of:
    - out: Output data, of shape (N, F, H', W'), H' = 1 + (H + 2 * pad - HH) // stride
      (W' likewise); NumPy if x is NumPy, else a tensor on the compute device
    - cache: The recorded graph, for conv_backward_unfold (or conv_backward_torch)
    """
    stride, pad, H_out, W_out = conv_geometry(np.shape(x), np.shape(w), np.shape(b), conv_param)
    (xt, wt, bt), as_numpy = _as_leaves((x, w, b), device)
    N, num_filters, HH, WW = xt.shape[0], wt.shape[0], wt.shape[2], wt.shape[3]
    with torch.enable_grad():
        cols = F.unfold(xt, (HH, WW), padding=pad, stride=stride)  # (N, C * HH * WW, H' * W')
        out = wt.reshape(num_filters, -1) @ cols + bt.reshape(1, -1, 1)  # (F, K) @ (N, K, P) -> (N, F, P)
        out = out.reshape(N, num_filters, H_out, W_out)  # (N, F, H', W')
    cache = (out, (xt, wt, bt), as_numpy)
    return _result(out, as_numpy), cache


def conv_forward_torch(x, w, b, conv_param, device=None):
    """
    Forward pass for a convolutional layer with torch.nn.functional.conv2d.

    Inputs:
    - x: Input data of shape (N, C, H, W), NumPy array or tensor
    - w: Filter weights of shape (F, C, HH, WW)
    - b: Biases, of shape (F,)
    - conv_param: A dictionary with 'stride' and 'pad', as for conv_forward_naive
    - device: Torch device to compute on; None means x's device for a tensor, else
      'cuda' when available, else 'cpu'

    Returns a tuple of:
    - out: Output data, of shape (N, F, H', W'); NumPy if x is NumPy, else a tensor
    - cache: The recorded graph, for conv_backward_torch
    """
    stride, pad, _, _ = conv_geometry(np.shape(x), np.shape(w), np.shape(b), conv_param)
    (xt, wt, bt), as_numpy = _as_leaves((x, w, b), device)
    with torch.enable_grad():
        out = F.conv2d(xt, wt, bt, stride=stride, padding=pad)
    cache = (out, (xt, wt, bt), as_numpy)
    return _result(out, as_numpy), cache


def conv_backward_torch(dout, cache):
    """
    Backward pass for conv_forward_torch or conv_forward_unfold, through autograd.

    Inputs:
    - dout: Upstream derivatives, of shape (N, F, H', W'), NumPy array or tensor
    - cache: The cache returned by conv_forward_torch or conv_forward_unfold

    Returns a tuple of (NumPy if the forward input was NumPy, else tensors):
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    - dw: Gradient with respect to w, of shape (F, C, HH, WW)
    - db: Gradient with respect to b, of shape (F,)
    """
    return _autograd_backward(dout, cache)


def conv_backward_unfold(dout, cache):
    """
    Backward pass for conv_forward_unfold (autograd through unfold and the matrix product).

    Inputs:
    - dout: Upstream derivatives, of shape (N, F, H', W'), NumPy array or tensor
    - cache: The cache returned by conv_forward_unfold

    Returns a tuple of:
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    - dw: Gradient with respect to w, of shape (F, C, HH, WW)
    - db: Gradient with respect to b, of shape (F,)
    """
    return _autograd_backward(dout, cache)


def conv_transpose_forward_torch(x, w, b, conv_param, device=None):
    """
    Forward pass for a transpose convolutional layer with torch.nn.functional.conv_transpose2d.

    Inputs:
    - x: Input data of shape (N, C, H, W), NumPy array or tensor
    - w: Filter weights of shape (C, F, HH, WW), as for conv_transpose_forward_naive
    - b: Biases, of shape (F,)
    - conv_param: A dictionary with 'stride' and 'pad', as for conv_transpose_forward_naive
    - device: Torch device to compute on; None means x's device for a tensor, else
      'cuda' when available, else 'cpu'

    Returns a tuple of:
    - out: Output data, of shape (N, F, H', W'), H' = (H - 1) * stride - 2 * pad + HH
      (W' likewise); NumPy if x is NumPy, else a tensor
    - cache: The recorded graph, for conv_transpose_backward_torch
    """
    stride, pad, _, _ = conv_transpose_geometry(np.shape(x), np.shape(w), np.shape(b), conv_param)
    (xt, wt, bt), as_numpy = _as_leaves((x, w, b), device)
    with torch.enable_grad():
        out = F.conv_transpose2d(xt, wt, bt, stride=stride, padding=pad)
    cache = (out, (xt, wt, bt), as_numpy)
    return _result(out, as_numpy), cache


def conv_transpose_backward_torch(dout, cache):
    """
    Backward pass for conv_transpose_forward_torch, through autograd.

    Inputs:
    - dout: Upstream derivatives, of shape (N, F, H', W'), NumPy array or tensor
    - cache: The cache returned by conv_transpose_forward_torch

    Returns a tuple of (NumPy if the forward input was NumPy, else tensors):
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    - dw: Gradient with respect to w, of shape (C, F, HH, WW)
    - db: Gradient with respect to b, of shape (F,)
    """
    return _autograd_backward(dout, cache)


def max_pool_forward_torch(x, pool_param, device=None):
    """
    Forward pass for a max-pooling layer with torch.nn.functional.max_pool2d.

    Inputs:
    - x: Input data, of shape (N, C, H, W), NumPy array or tensor
    - pool_param: Dictionary with 'pool_height', 'pool_width' and 'stride'
    - device: Torch device to compute on; None means x's device for a tensor, else
      'cuda' when available, else 'cpu'

    Returns a tuple of:
    - out: Output data, of shape (N, C, H', W'), H' = 1 + (H - pool_height) // stride
      (W' likewise); NumPy if x is NumPy, else a tensor
    - cache: The recorded graph, for max_pool_backward_torch
    """
    ph, pw, stride, _, _ = pool_geometry(np.shape(x), pool_param)
    (xt,), as_numpy = _as_leaves((x,), device)
    with torch.enable_grad():
        out = F.max_pool2d(xt, (ph, pw), stride=stride)
    cache = (out, (xt,), as_numpy)
    return _result(out, as_numpy), cache


def max_pool_backward_torch(dout, cache):
    """
    Backward pass for max_pool_forward_torch, through autograd.

    Inputs:
    - dout: Upstream derivatives, of shape (N, C, H', W'), NumPy array or tensor
    - cache: The cache returned by max_pool_forward_torch

    Returns:
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    """
    return _autograd_backward(dout, cache)[0]
