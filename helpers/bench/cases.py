"""The benchmark cases of assignments 1 and 2 and the speed claims their notebooks make.

Each Case builds its implementations lazily (`build(quick)`), so listing the cases imports
nothing heavy; the first implementation of a case is its baseline ("naive").
"""

import numpy as np

from helpers.bench.harness import Case, Impl, Target, cuda_skip, cuda_sync, import_torch, sliced

TARGETS = [
    Target("L2 distances: no_loops >= 100x two_loops", "l2_distances", "no_loops", 100, "two_loops"),
    Target("L2 distances: no_loops within 1.5x of torch.cdist", "l2_distances", "no_loops", 1 / 1.5,
           "torch_cdist_cpu"),
    Target("svm_loss: vectorized >= 20x naive", "svm_loss", "vectorized", 20, "naive"),
    Target("softmax_loss: vectorized >= 20x naive", "softmax_loss", "vectorized", 20, "naive"),
    Target("batchnorm_backward_alt >= 1.5x batchnorm_backward", "batchnorm_backward", "alt", 1.5,
           "batchnorm_backward"),
    Target("conv forward (small): cython >= 300x naive", "conv_forward", "cython", 300, "naive"),
    Target("conv backward (small): cython >= 400x naive", "conv_backward", "cython", 400, "naive"),
    Target("conv forward 64x64x3x3: cython time <= 1.25x torch conv2d", "conv_forward_large", "cython",
           1 / 1.25, "torch_conv2d_cpu"),
    Target("conv backward 64x64x3x3: cython time <= 1.25x torch conv2d", "conv_backward_large", "cython",
           1 / 1.25, "torch_conv2d_cpu"),
    Target("conv forward 64x64x3x3: cython >= 50% of the matmul rate", "conv_forward_large", "cython", 0.5,
           kind="gemm_fraction"),
    Target("max pool forward: fast (reshape) >= 100x naive", "max_pool_forward", "reshape", 100, "naive"),
    Target("max pool backward: fast (reshape) >= 50x naive", "max_pool_backward", "reshape", 50, "naive"),
]



def _conv_flops(x_shape, w_shape, stride, pad) -> float:
    N, C, H, W = x_shape
    F, _, HH, WW = w_shape
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    return 2.0 * N * F * C * HH * WW * H_out * W_out


def _pool_flops(x_shape, size, stride) -> float:
    N, C, H, W = x_shape
    return float(N * C * ((H - size) // stride + 1) * ((W - size) // stride + 1) * size * size)


# ----------------------------------------------------------------------------- assignment 1

L2_SHAPE, L2_QUICK = (500, 5000, 3072), (8, 40, 64)


def _build_l2(quick: bool) -> list[Impl]:
    from helpers.classifiers import k_nearest_neighbor as knn

    num_test, num_train, dim = L2_QUICK if quick else L2_SHAPE
    rng = np.random.default_rng(0)
    X = rng.standard_normal((num_test, dim))
    X_train = rng.standard_normal((num_train, dim))
    impls = [
        sliced("two_loops", lambda n: knn.compute_distances_two_loops(X[:n], X_train),
                2 if quick else 10, num_test, "rows"),
        sliced("one_loop", lambda n: knn.compute_distances_one_loop(X[:n], X_train),
                4 if quick else 50, num_test, "rows"),
        Impl("no_loops", lambda: knn.compute_distances_no_loops(X, X_train)),
    ]
    torch, reason = import_torch()
    if torch is None:
        impls.append(Impl("torch_cdist_cpu", None, skip=reason))
    else:
        Xt, Xt_train = torch.from_numpy(X), torch.from_numpy(X_train)
        impls.append(Impl("torch_cdist_cpu", lambda: torch.cdist(Xt, Xt_train).numpy()))
    return impls


LINEAR_SHAPE, LINEAR_QUICK = (500, 3073, 10), (20, 65, 5)


def _build_linear_loss(naive_fn_name: str, vectorized_fn_name: str, module_name: str):
    def build(quick: bool) -> list[Impl]:
        import importlib

        module = importlib.import_module(module_name)
        N, D, C = LINEAR_QUICK if quick else LINEAR_SHAPE
        rng = np.random.default_rng(0)
        W = 1e-4 * rng.standard_normal((D, C))
        X = rng.standard_normal((N, D))
        y = rng.integers(C, size=N)
        naive, vectorized = getattr(module, naive_fn_name), getattr(module, vectorized_fn_name)
        return [Impl("naive", lambda: naive(W, X, y, 5e-6)), Impl("vectorized", lambda: vectorized(W, X, y, 5e-6))]

    return build


# ----------------------------------------------------------------------------- assignment 2, part 1

BN_SHAPE, BN_QUICK = (500, 1000), (16, 8)


def _build_batchnorm(quick: bool) -> list[Impl]:
    from helpers import layers

    N, D = BN_QUICK if quick else BN_SHAPE
    rng = np.random.default_rng(0)
    x = 5 * rng.standard_normal((N, D)) + 12
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    dout = rng.standard_normal((N, D))
    _, cache = layers.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    return [Impl("batchnorm_backward", lambda: layers.batchnorm_backward(dout, cache)),
            Impl("alt", lambda: layers.batchnorm_backward_alt(dout, cache))]


# ----------------------------------------------------------------------------- assignment 2, part 2: conv

CONV_SMALL = ((100, 3, 31, 31), (25, 3, 3, 3), 2, 1)
CONV_SMALL_QUICK = ((4, 3, 9, 9), (2, 3, 3, 3), 2, 1)
CONV_LARGE = ((64, 64, 32, 32), (64, 64, 3, 3), 1, 1)
CONV_LARGE_QUICK = ((4, 4, 8, 8), (4, 4, 3, 3), 1, 1)


def _conv_inputs(spec):
    x_shape, w_shape, stride, pad = spec
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))
    b = rng.standard_normal(w_shape[0])
    return x, w, b, {"stride": stride, "pad": pad}


def _conv_impls(spec, backward: bool, naive_images: int, numpy_paths: bool, torch_paths: tuple[str, ...]):
    """Implementations of conv forward (or backward: the timed call is only the backward pass)."""
    from helpers import fast_layers, layers, torch_layers

    x, w, b, conv_param = _conv_inputs(spec)
    N = x.shape[0]
    out_shape_probe, _ = fast_layers.conv_forward_fast(x[:1], w, b, conv_param)
    dout = np.random.default_rng(1).standard_normal((N,) + out_shape_probe.shape[1:])

    def naive(n):
        if not backward:
            return layers.conv_forward_naive(x[:n], w, b, conv_param)
        return layers.conv_backward_naive(dout[:n], naive_caches[n])

    naive_caches = {}
    if backward:
        n = min(naive_images, N)
        naive_caches[n] = layers.conv_forward_naive(x[:n], w, b, conv_param)[1]
    impls = [sliced("naive", naive, naive_images, N, "images")]

    def numpy_pair(key, forward, backward_fn):
        if not backward:
            return Impl(key, lambda: forward(x, w, b, conv_param))
        cache = forward(x, w, b, conv_param)[1]
        return Impl(key, lambda: backward_fn(dout, cache))

    if numpy_paths:
        impls.append(numpy_pair("numpy_im2col", fast_layers.conv_forward_im2col, fast_layers.conv_backward_im2col))
        impls.append(numpy_pair("strides", fast_layers.conv_forward_strides, fast_layers.conv_backward_strides))
    if fast_layers.cython_available():
        impls.append(numpy_pair("cython", fast_layers.conv_forward_cython, fast_layers.conv_backward_cython))
    else:
        impls.append(Impl("cython", None, skip="the Cython extension is not built (pip install -e .)"))

    torch_kinds = {"unfold": (torch_layers.conv_forward_unfold, torch_layers.conv_backward_unfold),
                   "conv2d": (torch_layers.conv_forward_torch, torch_layers.conv_backward_torch)}
    for device in ("cpu", "cuda"):
        skip = cuda_skip() if device == "cuda" else ""
        for kind in torch_paths:
            key = f"torch_{kind}_{device}"
            if skip:
                impls.append(Impl(key, None, skip=skip))
                continue
            forward, backward_fn = torch_kinds[kind]
            impls.append(_torch_conv_impl(key, forward, backward_fn if backward else None, x, w, b, conv_param,
                                          dout, device))
    return impls


def _torch_conv_impl(key, forward, backward, x, w, b, conv_param, dout, device):
    """
    Time a torch_layers conv forward (backward None) or backward pass, on tensors already on
    `device`: host/device transfers are not the layer's cost.
    """
    import torch

    xt, wt, bt = (torch.tensor(a, device=device) for a in (x, w, b))
    sync = cuda_sync if device == "cuda" else (lambda: None)
    if not backward:
        def run():
            out = forward(xt, wt, bt, conv_param)[0]
            sync()
            return out
        return Impl(key, run)
    cache = forward(xt, wt, bt, conv_param)[1]
    doutt = torch.tensor(dout, device=device)

    def run_backward():
        grads = backward(doutt, cache)
        sync()
        return grads
    return Impl(key, run_backward)


def _build_conv(backward: bool, large: bool):
    def build(quick: bool) -> list[Impl]:
        if large:
            spec = CONV_LARGE_QUICK if quick else CONV_LARGE
            return _conv_impls(spec, backward, naive_images=1, numpy_paths=False, torch_paths=("conv2d",))
        spec = CONV_SMALL_QUICK if quick else CONV_SMALL
        return _conv_impls(spec, backward, naive_images=1 if quick else 4, numpy_paths=True,
                           torch_paths=("unfold", "conv2d"))

    return build


# ----------------------------------------------------------------------------- assignment 2, part 2: pool

POOL_SHAPE, POOL_QUICK = (100, 3, 32, 32), (4, 2, 8, 8)
POOL_PARAM = {"pool_height": 2, "pool_width": 2, "stride": 2}


def _build_pool(backward: bool):
    def build(quick: bool) -> list[Impl]:
        import torch

        from helpers import fast_layers, layers, torch_layers

        shape = POOL_QUICK if quick else POOL_SHAPE
        N = shape[0]
        rng = np.random.default_rng(0)
        x = rng.standard_normal(shape)
        out_shape = (shape[0], shape[1], shape[2] // 2, shape[3] // 2)
        dout = rng.standard_normal(out_shape)
        naive_n = 1 if quick else 20
        pairs = [
            ("reshape", fast_layers.max_pool_forward_reshape, fast_layers.max_pool_backward_reshape),
            ("im2col", fast_layers.max_pool_forward_im2col, fast_layers.max_pool_backward_im2col),
        ]
        if not backward:
            impls = [sliced("naive", lambda n: layers.max_pool_forward_naive(x[:n], POOL_PARAM), naive_n, N,
                             "images")]
            impls += [Impl(key, lambda f=f: f(x, POOL_PARAM)) for key, f, _ in pairs]
        else:
            naive_cache = layers.max_pool_forward_naive(x[:naive_n], POOL_PARAM)[1]
            impls = [sliced("naive", lambda n: layers.max_pool_backward_naive(dout[:n], naive_cache),
                             naive_n, N, "images")]
            for key, f, g in pairs:
                cache = f(x, POOL_PARAM)[1]
                impls.append(Impl(key, lambda g=g, cache=cache: g(dout, cache)))
        for device in ("cpu", "cuda"):
            key = f"torch_{device}"
            skip = cuda_skip() if device == "cuda" else ""
            if skip:
                impls.append(Impl(key, None, skip=skip))
                continue
            sync = cuda_sync if device == "cuda" else (lambda: None)
            xt = torch.tensor(x, device=device)
            if not backward:
                impls.append(Impl(key, lambda xt=xt, sync=sync: (torch_layers.max_pool_forward_torch(
                    xt, POOL_PARAM), sync())))
            else:
                cache = torch_layers.max_pool_forward_torch(xt, POOL_PARAM)[1]
                doutt = torch.tensor(dout, device=device)
                impls.append(Impl(key, lambda d=doutt, c=cache, sync=sync: (
                    torch_layers.max_pool_backward_torch(d, c), sync())))
        return impls

    return build


# ----------------------------------------------------------------------------- the cases

def _case_list() -> list[Case]:
    n, m, d = L2_SHAPE
    qn, qm, qd = L2_QUICK
    ln, ld, lc = LINEAR_SHAPE
    qln, qld, qlc = LINEAR_QUICK
    bn, bd = BN_SHAPE
    qbn, qbd = BN_QUICK

    def conv_desc(spec):
        x_shape, w_shape, stride, pad = spec
        return f"x {x_shape} w {w_shape} stride {stride} pad {pad} float64"

    def conv_case(op, spec, quick_spec, backward, large):
        factor = 2.0 if backward else 1.0  # backward computes dx and dw: two products of forward's size
        return Case(op, "assignment2 part 2", conv_desc(spec), factor * _conv_flops(*spec),
                    _build_conv(backward, large), conv_desc(quick_spec), factor * _conv_flops(*quick_spec))

    pool_desc = "x {} 2x2 stride 2 float64"
    return [
        Case("l2_distances", "assignment1", f"{n}x{m}x{d} float64", 3.0 * n * m * d, _build_l2,
             f"{qn}x{qm}x{qd} float64", 3.0 * qn * qm * qd),
        Case("svm_loss", "assignment1", f"W ({ld},{lc}) X ({ln},{ld}) float64", 4.0 * ln * ld * lc,
             _build_linear_loss("svm_loss_naive", "svm_loss_vectorized", "helpers.classifiers.linear_svm"),
             f"W ({qld},{qlc}) X ({qln},{qld}) float64", 4.0 * qln * qld * qlc),
        Case("softmax_loss", "assignment1", f"W ({ld},{lc}) X ({ln},{ld}) float64", 4.0 * ln * ld * lc,
             _build_linear_loss("softmax_loss_naive", "softmax_loss_vectorized", "helpers.classifiers.softmax"),
             f"W ({qld},{qlc}) X ({qln},{qld}) float64", 4.0 * qln * qld * qlc),
        Case("batchnorm_backward", "assignment2 part 1", f"x ({bn},{bd}) float64", 10.0 * bn * bd,
             _build_batchnorm, f"x ({qbn},{qbd}) float64", 10.0 * qbn * qbd),
        conv_case("conv_forward", CONV_SMALL, CONV_SMALL_QUICK, False, False),
        conv_case("conv_backward", CONV_SMALL, CONV_SMALL_QUICK, True, False),
        conv_case("conv_forward_large", CONV_LARGE, CONV_LARGE_QUICK, False, True),
        conv_case("conv_backward_large", CONV_LARGE, CONV_LARGE_QUICK, True, True),
        Case("max_pool_forward", "assignment2 part 2", pool_desc.format(POOL_SHAPE),
             _pool_flops(POOL_SHAPE, 2, 2), _build_pool(False), pool_desc.format(POOL_QUICK),
             _pool_flops(POOL_QUICK, 2, 2)),
        Case("max_pool_backward", "assignment2 part 2", pool_desc.format(POOL_SHAPE),
             _pool_flops(POOL_SHAPE, 2, 2), _build_pool(True), pool_desc.format(POOL_QUICK),
             _pool_flops(POOL_QUICK, 2, 2)),
    ]


CASES = _case_list()
