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

At the end, one PASS/FAIL line per claim (a Target) (the speedups the notebooks quote).
The targets are data, not tests: tests never assert wall-clock time.

`--quick` shrinks every shape so that the machinery runs in seconds (used by the tests and
the quick scale of the notebooks); its numbers mean little, so its targets are not judged.
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

from helpers._checks import positive_int

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


def time_function(f, *args):
    """
    Call f(*args) once and return how long it took, in seconds of wall-clock time.

    One call of a slow function (a loop implementation taking seconds) varies little; for
    fast ones, take the best of several calls with best_time.
    """
    start = time.perf_counter()
    f(*args)
    return time.perf_counter() - start


def best_time(fn, repeats=1):
    """
    Call fn() `repeats` times and return the shortest time and the result of the last call.

    The shortest time is the one least disturbed by other processes on a shared machine.

    Inputs:
    - fn: Zero-argument callable
    - repeats: Number of calls (at least 1; 1 by default)

    Returns a tuple of:
    - seconds: The shortest wall-clock time of one call
    - result: What the last call returned
    """
    positive_int("repeats", repeats)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


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

def sliced(key: str, fn: Callable[[int], object], part: int, total: int, unit: str) -> Impl:
    """An implementation timed on the first `part` of `total` rows and scaled linearly."""
    part = min(part, total)
    note = f"timed on {part} of {total} {unit}, scaled" if part < total else ""
    return Impl(key, lambda: fn(part), fraction=part / total, note=note)


def import_torch():
    """Import torch, or None with the reason (the torch rows are then skipped, loudly)."""
    try:
        import torch
    except ImportError as error:  # torch is in requirements.txt; this is for stripped installs
        return None, f"PyTorch is not installed ({error})"
    return torch, ""


def cuda_skip() -> str:
    torch, reason = import_torch()
    if torch is None:
        return reason
    return "" if torch.cuda.is_available() else "no CUDA GPU on this machine"


def cuda_sync():
    import torch

    torch.cuda.synchronize()




def select_cases(cases: list[Case], pattern: str | None) -> list[Case]:
    """
    Cases selected by `pattern`: comma-separated parts, each an exact op name
    ("conv_forward"), a shell-style pattern ("max_pool_*"), or else a substring ("pool").
    None selects every case. Cases keep their order in `cases`.
    """
    if not pattern:
        return list(cases)
    names = {c.op for c in cases}
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
                             f"{', '.join(c.op for c in cases)}")
        chosen |= matched
    return [c for c in cases if c.op in chosen]


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


def evaluate_targets(rows: list[Row], gemm_gflops: float, targets: list[Target]) -> list[tuple[Target, str, str]]:
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


def run(cases: list[Case], targets: list[Target], only: str | None = None, repeat: int = DEFAULT_REPEAT,
        quick: bool = False, json_path=None, out=None) -> dict:
    """
    Run the selected benchmarks and print their tables and the target verdicts.

    Inputs:
    - cases, targets: Everything there is to run, and the claims to judge
    - only: Pattern selecting operations (see select_cases), or None for all
    - repeat: Timed calls per implementation (after one warm-up call)
    - quick: Use tiny shapes (checks the machinery; the numbers mean little)
    - json_path: If given, write every row there as a JSON list of objects with keys
      op, shape, impl, median_s, speedup_vs_naive, gflops
    - out: Stream to print to (None: standard output)

    Returns:
    - A dict with "gemm_gflops", "rows" (list of Row) and "targets" (list of (Target, verdict, detail)).
      With quick, the verdicts are computed but not printed: the targets are claims about the
      full shapes, so a quick run prints one line saying so instead of PASS/FAIL lines.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    out = out or sys.stdout
    selected = select_cases(cases, only)
    gemm, gemm_desc = measure_gemm_gflops(quick, repeat)
    print(f"Matrix-multiply reference: {gemm_desc} runs at {gemm:.1f} GFLOP/s on this machine", file=out)
    print(f"Times are medians of up to {repeat} calls after a warm-up (fewer when calls take seconds); "
          "'vs naive' divides the first row's time by each row's.", file=out)
    rows = []
    for case in selected:
        shape = case.quick_shape if quick else case.shape
        print(f"\n[{case.group}] {case.op}  {shape}", file=out, flush=True)
        case_rows, skipped = run_case(case, repeat, quick)
        rows += case_rows
        print(format_table(case_rows, gemm), file=out)
        for line in skipped:
            print(f"    skipped {line}", file=out)
    verdicts = evaluate_targets(rows, gemm, targets)
    if verdicts and quick:
        # The claims are about the full shapes: on tiny ones BLAS and the compiled loops barely
        # get going, so a ratio that misses its target there says nothing.
        print(f"\nTargets: {len(verdicts)} speed claims are judged only at the full shapes (run without "
              "--quick, or at CS231N_SCALE=full in the notebooks).", file=out)
    elif verdicts:
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


def main(cases: list[Case], targets: list[Target], argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--json", metavar="FILE", help="write every row to FILE as JSON")
    parser.add_argument("--only", metavar="PATTERN",
                        help="operations to run: comma-separated op names, shell patterns or substrings")
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT, help="timed calls per implementation")
    parser.add_argument("--quick", action="store_true", help="tiny shapes: checks the machinery only")
    parser.add_argument("--list", action="store_true", help="list the operations and exit")
    args = parser.parse_args(argv)
    if args.list:
        for case in cases:
            print(f"{case.op:<22s} [{case.group}] {case.shape}")
        return 0
    try:
        run(cases, targets, args.only, args.repeat, args.quick, args.json)
    except ValueError as error:
        parser.error(str(error))
    return 0

