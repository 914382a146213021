"""Benchmark cases of the DetectionSegmentation notebook: transpose convolution, the upsampling layer of
a fully convolutional network's decoder.

Implementations of the same layer on the same float64 inputs, forward and backward:
- naive: layers.conv_transpose_forward_naive / backward_naive (a loop over the input pixels, each
  painting its filter), timed on a slice of the images and scaled;
- numpy_im2col, strides, cython: fast_layers.conv_transpose_forward_fast with each col2im (one matrix
  product per chunk of images, then col2im folds the columns into the output);
- torch_cpu, torch_cuda: torch_layers.conv_transpose_forward_torch (torch.nn.functional.conv_transpose2d),
  on tensors already on the device; CUDA is skipped, with the reason, without a GPU.

The shape is the FCN decoder's first upsampling at a typical width: 4x4 filters, stride 2, pad 1, so
the output has twice the input's height and width. Its flop count is that of the matrix product,
2 N C H W F HH WW (the convolution from the output back to the input has the same); the backward pass
does two such products (dx and dw).
"""

import numpy as np

from helpers.bench.harness import Case, Impl, Target, cuda_skip, cuda_sync, sliced

# x (N, C, H, W), w (C, F, HH, WW), stride, pad
CONV_TRANSPOSE = ((32, 64, 16, 16), (64, 32, 4, 4), 2, 1)
CONV_TRANSPOSE_QUICK = ((2, 4, 4, 4), (4, 3, 4, 4), 2, 1)


def conv_transpose_flops(x_shape, w_shape) -> float:
    """Multiply-adds (x2) of a transpose convolution: every input value times every filter entry."""
    N, C, H, W = x_shape
    F, HH, WW = w_shape[1:]
    return 2.0 * N * C * H * W * F * HH * WW


def _build(backward: bool):
    def build(quick: bool) -> list[Impl]:
        from helpers import fast_layers, layers

        x_shape, w_shape, stride, pad = CONV_TRANSPOSE_QUICK if quick else CONV_TRANSPOSE
        conv_param = {"stride": stride, "pad": pad}
        rng = np.random.default_rng(0)
        x = rng.standard_normal(x_shape)
        w = rng.standard_normal(w_shape) / np.sqrt(w_shape[0] * w_shape[2] * w_shape[3])
        b = rng.standard_normal(w_shape[1])
        N = x_shape[0]
        out, _ = fast_layers.conv_transpose_forward_fast(x[:1], w, b, conv_param)
        dout = rng.standard_normal((N, *out.shape[1:]))
        naive_images = 1 if quick else 2

        if backward:
            naive_cache = layers.conv_transpose_forward_naive(x[:naive_images], w, b, conv_param)[1]
            impls = [sliced("naive", lambda n: layers.conv_transpose_backward_naive(dout[:n], naive_cache),
                            naive_images, N, "images")]
        else:
            impls = [sliced("naive", lambda n: layers.conv_transpose_forward_naive(x[:n], w, b, conv_param),
                            naive_images, N, "images")]
        paths = [("numpy_im2col", "indices"), ("strides", "strides"), ("cython", "cython")]
        for key, im2col in paths:
            if im2col == "cython" and not fast_layers.cython_available():
                impls.append(Impl(key, None, skip="the Cython extension is not built (pip install -e .)"))
                continue
            if backward:
                cache = fast_layers.conv_transpose_forward_fast(x, w, b, conv_param, im2col=im2col)[1]
                impls.append(Impl(key, lambda c=cache: fast_layers.conv_transpose_backward_fast(dout, c)))
            else:
                impls.append(Impl(key, lambda i=im2col: fast_layers.conv_transpose_forward_fast(x, w, b, conv_param,
                                                                                              im2col=i)))
        for device in ("cpu", "cuda"):
            key = f"torch_{device}"
            skip = cuda_skip() if device == "cuda" else ""
            if skip:
                impls.append(Impl(key, None, skip=skip))
                continue
            impls.append(_torch_impl(key, x, w, b, dout, conv_param, device, backward))
        return impls

    return build


def _torch_impl(key, x, w, b, dout, conv_param, device, backward):
    """Time torch_layers' transpose convolution on tensors already on `device`."""
    import torch

    from helpers import torch_layers

    xt, wt, bt = (torch.tensor(a, device=device) for a in (x, w, b))
    sync = cuda_sync if device == "cuda" else (lambda: None)
    if not backward:
        def run():
            out = torch_layers.conv_transpose_forward_torch(xt, wt, bt, conv_param)[0]
            sync()
            return out
        return Impl(key, run)
    cache = torch_layers.conv_transpose_forward_torch(xt, wt, bt, conv_param)[1]
    doutt = torch.tensor(dout, device=device)

    def run_backward():
        grads = torch_layers.conv_transpose_backward_torch(doutt, cache)
        sync()
        return grads
    return Impl(key, run_backward)


def _description(spec):
    x_shape, w_shape, stride, pad = spec
    return f"x {x_shape} w {w_shape} stride {stride} pad {pad} float64"


CASES = [
    Case(op, "assignment3 DetectionSegmentation", _description(CONV_TRANSPOSE),
         factor * conv_transpose_flops(*CONV_TRANSPOSE[:2]), _build(backward), _description(CONV_TRANSPOSE_QUICK),
         factor * conv_transpose_flops(*CONV_TRANSPOSE_QUICK[:2]))
    for op, factor, backward in (("conv_transpose_forward", 1.0, False), ("conv_transpose_backward", 2.0, True))
]
TARGETS = [
    # The naive forward pass already hands each pixel's C x F x HH x WW work to one tensordot; what the
    # col2im path adds is one big matrix product instead of N H W small ones.
    Target("conv transpose forward: cython (col2im) >= 2x naive", "conv_transpose_forward", "cython", 2, "naive"),
    Target("conv transpose backward: cython (im2col) >= 10x naive", "conv_transpose_backward", "cython", 10,
           "naive"),
    Target("conv transpose forward: cython time <= 1.5x torch conv_transpose2d", "conv_transpose_forward", "cython",
           1 / 1.5, "torch_cpu"),
]
