"""Speed of the course's implementations, measured side by side:  python -m helpers.bench

    python -m helpers.bench [--json FILE] [--only PATTERN] [--repeat N] [--quick]

For every operation and shape it prints the median time of each implementation (one
warm-up call, then `--repeat` timed calls), its speedup over the naive (first) one, and
its GFLOP/s, also as a fraction of this machine's own float64 matrix-multiply rate,
which is measured at the start. Ratios are only meaningful within one run: every row
of a table is timed in the same process, one after the other.

Loop implementations are far too slow to run on the full shapes, so they are timed on a
slice of the rows (or images) and their time is scaled linearly; the row says so, e.g.
"two_loops (timed on 10 of 500 rows, scaled)". Their work is exactly linear in the
number of rows, so the scaling is honest.

At the end, one PASS/FAIL line per claim in TARGETS (the speedups the notebooks quote).
The targets are data, not tests: tests never assert wall-clock time.

`--quick` shrinks every shape so that the machinery runs in seconds (used by the tests);
its numbers mean little.
"""

import argparse
import fnmatch
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

DEFAULT_REPEAT = 5


# ----------------------------------------------------------------------------- data model

@dataclass
class Impl:
    """
    One implementation of an operation, ready to be timed.

    - key: Short name that targets refer to, e.g. "no_loops"
    - fn: Zero-argument callable doing the work (None when unavailable)
    - fraction: Share of the full work one call of fn does (time is divided by it)
    - note: Why fn does less than the full work, shown in the row's name
    - skip: Reason the implementation cannot run here (fn is None)
    """

    key: str
    fn: Callable[[], object] | None
    fraction: float = 1.0
    note: str = ""
    skip: str = ""

    @property
    def label(self) -> str:
        return f"{self.key} ({self.note})" if self.note else self.key


@dataclass
class Case:
    """
    One operation at one shape.

    - op: Operation name, e.g. "conv_forward"
    - group: Which part of the course quotes it, e.g. "assignment1"
    - shape: Human-readable shape description
    - flops: Nominal floating-point operations of one full call (same for every implementation)
    - build: Function (quick: bool) -> list of Impl; the first one is the baseline ("naive")
    - quick_shape: Shape description used with --quick
    - quick_flops: Nominal flops with --quick
    """

    op: str
    group: str
    shape: str
    flops: float
    build: Callable[[bool], list[Impl]]
    quick_shape: str
    quick_flops: float


@dataclass
class Row:
    """One timed implementation of one case; `key` is for targets and not written to JSON."""

    op: str
    shape: str
    impl: str
    median_s: float
    speedup_vs_naive: float
    gflops: float
    key: str = field(default="", repr=False)

    def as_dict(self) -> dict:
        return {"op": self.op, "shape": self.shape, "impl": self.impl, "median_s": self.median_s,
                "speedup_vs_naive": self.speedup_vs_naive, "gflops": self.gflops}


@dataclass
class Target:
    """
    A speed claim.

    kind "speedup": time(baseline) / time(impl) >= minimum.
    kind "gemm_fraction": GFLOP/s of impl >= minimum * the measured matmul rate (baseline unused).
    """

    description: str
    op: str
    impl: str
    minimum: float
    baseline: str = ""
    kind: str = "speedup"


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


# ----------------------------------------------------------------------------- timing

def median_time(fn: Callable[[], object], repeat: int, warmup: int = 1, budget_s: float = 2.0) -> float:
    """
    Median wall-clock seconds of fn() over up to `repeat` calls, after `warmup` untimed calls.

    The median ignores the odd call slowed down by another process on a shared machine.
    Calls stop once the timed ones add up to `budget_s` (at least one is always timed):
    a loop implementation that takes seconds per call varies little between calls, and
    repeating it would only make the run long.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    for _ in range(warmup):
        fn()
    times = []
    while len(times) < repeat and (not times or sum(times) < budget_s):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gemm_shape(quick: bool) -> tuple[int, int, int]:
    """(M, K, N) of the reference product: the im2col GEMM of the 64-filter 3x3 conv on 16 images."""
    return (16, 144, 1024) if quick else (64, 576, 16 * 32 * 32)


def measure_gemm_gflops(quick: bool = False, repeat: int = DEFAULT_REPEAT) -> tuple[float, str]:
    """
    Measure this machine's float64 matrix-multiply rate (NumPy's BLAS, all its threads).

    Returns:
    - gflops: Measured rate in GFLOP/s
    - description: The product that was timed
    """
    M, K, N = gemm_shape(quick)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((M, K))
    b = rng.standard_normal((K, N))
    seconds = median_time(lambda: a @ b, repeat)
    return 2.0 * M * K * N / seconds / 1e9, f"float64 ({M}x{K}) @ ({K}x{N})"


# ----------------------------------------------------------------------------- helpers for cases

def _sliced(key: str, fn: Callable[[int], object], part: int, total: int, unit: str) -> Impl:
    """An implementation timed on the first `part` of `total` rows and scaled linearly."""
    part = min(part, total)
    note = f"timed on {part} of {total} {unit}, scaled" if part < total else ""
    return Impl(key, lambda: fn(part), fraction=part / total, note=note)


def _torch():
    """Import torch, or None with the reason (the torch rows are then skipped, loudly)."""
    try:
        import torch
    except ImportError as error:  # torch is in requirements.txt; this is for stripped installs
        return None, f"PyTorch is not installed ({error})"
    return torch, ""


def _cuda_skip() -> str:
    torch, reason = _torch()
    if torch is None:
        return reason
    return "" if torch.cuda.is_available() else "no CUDA GPU on this machine"


def _cuda_sync():
    import torch

    torch.cuda.synchronize()


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
        _sliced("two_loops", lambda n: knn.compute_distances_two_loops(X[:n], X_train),
                2 if quick else 10, num_test, "rows"),
        _sliced("one_loop", lambda n: knn.compute_distances_one_loop(X[:n], X_train),
                4 if quick else 50, num_test, "rows"),
        Impl("no_loops", lambda: knn.compute_distances_no_loops(X, X_train)),
    ]
    torch, reason = _torch()
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
    impls = [_sliced("naive", naive, naive_images, N, "images")]

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
        skip = _cuda_skip() if device == "cuda" else ""
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
    sync = _cuda_sync if device == "cuda" else (lambda: None)
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
            impls = [_sliced("naive", lambda n: layers.max_pool_forward_naive(x[:n], POOL_PARAM), naive_n, N,
                             "images")]
            impls += [Impl(key, lambda f=f: f(x, POOL_PARAM)) for key, f, _ in pairs]
        else:
            naive_cache = layers.max_pool_forward_naive(x[:naive_n], POOL_PARAM)[1]
            impls = [_sliced("naive", lambda n: layers.max_pool_backward_naive(dout[:n], naive_cache),
                             naive_n, N, "images")]
            for key, f, g in pairs:
                cache = f(x, POOL_PARAM)[1]
                impls.append(Impl(key, lambda g=g, cache=cache: g(dout, cache)))
        for device in ("cpu", "cuda"):
            key = f"torch_{device}"
            skip = _cuda_skip() if device == "cuda" else ""
            if skip:
                impls.append(Impl(key, None, skip=skip))
                continue
            sync = _cuda_sync if device == "cuda" else (lambda: None)
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


def select_cases(pattern: str | None) -> list[Case]:
    """
    Cases selected by `pattern`: comma-separated parts, each an exact op name
    ("conv_forward"), a shell-style pattern ("max_pool_*"), or else a substring ("pool").
    None selects every case. Cases keep their order in CASES.
    """
    if not pattern:
        return list(CASES)
    names = {c.op for c in CASES}
    chosen = set()
    for part in (p.strip() for p in pattern.split(",")):
        if part in names:
            matched = {part}
        elif any(ch in part for ch in "*?["):
            matched = {n for n in names if fnmatch.fnmatch(n, part)}
        else:
            matched = {n for n in names if part in n}
        if not matched:
            raise ValueError(f"--only {part!r} matches no operation; the operations are "
                             f"{', '.join(c.op for c in CASES)}")
        chosen |= matched
    return [c for c in CASES if c.op in chosen]


# ----------------------------------------------------------------------------- running

def run_case(case: Case, repeat: int, quick: bool) -> tuple[list[Row], list[str]]:
    """
    Time every implementation of one case.

    Returns:
    - rows: One Row per implementation that ran
    - skipped: One "impl: reason" line per implementation that could not run here
    """
    shape = case.quick_shape if quick else case.shape
    flops = case.quick_flops if quick else case.flops
    rows, skipped = [], []
    baseline = None
    for impl in case.build(quick):
        if impl.fn is None:
            skipped.append(f"{impl.key}: {impl.skip}")
            continue
        seconds = median_time(impl.fn, repeat) / impl.fraction
        if baseline is None:
            baseline = seconds
        rows.append(Row(case.op, shape, impl.label, seconds, baseline / seconds, flops / seconds / 1e9, impl.key))
    return rows, skipped


def format_table(rows: list[Row], gemm_gflops: float) -> str:
    """A fixed-width table of rows: time, speedup over naive, GFLOP/s and its share of the GEMM rate."""
    lines = [f"    {'implementation':<58s} {'median':>12s} {'vs naive':>10s} {'GFLOP/s':>9s} {'of GEMM':>8s}"]
    for r in rows:
        lines.append(f"    {r.impl:<58s} {r.median_s * 1e3:10.3f}ms {r.speedup_vs_naive:9.1f}x "
                     f"{r.gflops:9.2f} {100 * r.gflops / gemm_gflops:7.1f}%")
    return "\n".join(lines)


def evaluate_targets(rows: list[Row], gemm_gflops: float, targets=TARGETS) -> list[tuple[Target, str, str]]:
    """
    Judge each target whose op was timed.

    Returns:
    - List of (target, verdict, detail): verdict is "PASS", "FAIL" or "N/A" (an implementation
      it needs was not timed here, e.g. no Cython build).
    """
    by_key = {(r.op, r.key): r for r in rows}
    ops = {r.op for r in rows}
    results = []
    for t in targets:
        if t.op not in ops:
            continue
        impl = by_key.get((t.op, t.impl))
        base = by_key.get((t.op, t.baseline)) if t.kind == "speedup" else None
        if impl is None or (t.kind == "speedup" and base is None):
            missing = t.impl if impl is None else t.baseline
            results.append((t, "N/A", f"{missing} was not timed"))
            continue
        if t.kind == "speedup":
            value = base.median_s / impl.median_s
            if t.minimum < 1:  # a "no slower than" claim reads best as a time ratio
                detail = (f"{t.impl} takes {1 / value:.2f}x the time of {t.baseline}, "
                          f"needs <= {1 / t.minimum:.2f}x")
            else:
                detail = f"{t.impl} is {value:.1f}x faster than {t.baseline}, needs >= {t.minimum:g}x"
        else:
            value = impl.gflops / gemm_gflops
            detail = f"measured {100 * value:.0f}% ({impl.gflops:.1f} of {gemm_gflops:.1f} GFLOP/s), " \
                     f"needs >= {100 * t.minimum:.0f}%"
        results.append((t, "PASS" if value >= t.minimum else "FAIL", detail))
    return results


def run(only: str | None = None, repeat: int = DEFAULT_REPEAT, quick: bool = False, json_path=None,
        out=None) -> dict:
    """
    Run the selected benchmarks and print their tables and the target verdicts.

    Inputs:
    - only: Pattern selecting operations (see select_cases), or None for all
    - repeat: Timed calls per implementation (after one warm-up call)
    - quick: Use tiny shapes (checks the machinery; the numbers mean little)
    - json_path: If given, write every row there as a JSON list of objects with keys
      op, shape, impl, median_s, speedup_vs_naive, gflops
    - out: Stream to print to (None: standard output)

    Returns:
    - A dict with "gemm_gflops", "rows" (list of Row) and "targets" (list of (Target, verdict, detail)).
    """
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    out = out or sys.stdout
    cases = select_cases(only)
    gemm, gemm_desc = measure_gemm_gflops(quick, repeat)
    print(f"Matrix-multiply reference: {gemm_desc} runs at {gemm:.1f} GFLOP/s on this machine", file=out)
    print(f"Times are medians of up to {repeat} calls after a warm-up (fewer when calls take seconds); "
          "'vs naive' divides the first row's time by each row's.", file=out)
    rows = []
    for case in cases:
        shape = case.quick_shape if quick else case.shape
        print(f"\n[{case.group}] {case.op}  {shape}", file=out, flush=True)
        case_rows, skipped = run_case(case, repeat, quick)
        rows += case_rows
        print(format_table(case_rows, gemm), file=out)
        for line in skipped:
            print(f"    skipped {line}", file=out)
    verdicts = evaluate_targets(rows, gemm)
    if verdicts:
        print("\nTargets:", file=out)
        for t, verdict, detail in verdicts:
            print(f"  {verdict:<4s} {t.description}  ({detail})", file=out)
    if json_path is not None:
        with open(json_path, "w") as f:
            json.dump([r.as_dict() for r in rows], f, indent=1)
        print(f"\nWrote {len(rows)} rows to {json_path}", file=out)
    return {"gemm_gflops": gemm, "rows": rows, "targets": verdicts}


def plot_speedups(rows: list[Row], ax=None):
    """
    Bar plot of each implementation's speedup over naive (log scale), one group per op.

    Inputs:
    - rows: Rows from run() (the "rows" entry of its result)
    - ax: Matplotlib axes to draw on; None makes a new figure

    Returns:
    - The axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(12, 4.5))
    ops = list(dict.fromkeys(r.op for r in rows))
    keys = list(dict.fromkeys(r.key for r in rows))
    colors = {key: plt.get_cmap("tab10")(i % 10) for i, key in enumerate(keys)}
    per_op = {op: [r for r in rows if r.op == op] for op in ops}
    width = 0.8 / max(len(group) for group in per_op.values())
    labelled = set()
    for j, op in enumerate(ops):
        group = per_op[op]
        for i, r in enumerate(group):
            # Each op's bars sit side by side around its tick; a key keeps its colour across ops.
            x = j + (i - (len(group) - 1) / 2) * width
            ax.bar(x, r.speedup_vs_naive, width, color=colors[r.key],
                   label=None if r.key in labelled else r.key)
            labelled.add(r.key)
    ax.set_xticks(range(len(ops)), ops)
    ax.set_yscale("log")
    ax.set_ylabel("speedup over naive (log scale)")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--json", metavar="FILE", help="write every row to FILE as JSON")
    parser.add_argument("--only", metavar="PATTERN",
                        help="operations to run: comma-separated op names, shell patterns or substrings")
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT, help="timed calls per implementation")
    parser.add_argument("--quick", action="store_true", help="tiny shapes: checks the machinery only")
    parser.add_argument("--list", action="store_true", help="list the operations and exit")
    args = parser.parse_args(argv)
    if args.list:
        for case in CASES:
            print(f"{case.op:<22s} [{case.group}] {case.shape}")
        return 0
    try:
        run(args.only, args.repeat, args.quick, args.json)
    except ValueError as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
