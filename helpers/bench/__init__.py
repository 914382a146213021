"""Speed of the course's implementations, measured side by side:  python -m helpers.bench

`harness` times and reports (see its docstring for what each column means); the case
modules say what is timed and which speed claims the notebooks make.
"""

from helpers.bench import cases, cases_attention, cases_detection, cases_recurrent
from helpers.bench.harness import DEFAULT_REPEAT, Case, Impl, Row, Target, best_time, plot_speedups, time_function
from helpers.bench.harness import main as _main
from helpers.bench.harness import run as _run

# One module per part of the course; each holds its CASES and the TARGETS its notebook quotes.
CASE_MODULES = (cases, cases_recurrent, cases_attention, cases_detection)
CASES: list[Case] = [case for module in CASE_MODULES for case in module.CASES]
TARGETS: list[Target] = [target for module in CASE_MODULES for target in module.TARGETS]


def run(only=None, repeat=DEFAULT_REPEAT, quick=False, json_path=None, out=None) -> dict:
    """Run the course's benchmarks (all, or those `only` selects); see harness.run."""
    return _run(CASES, TARGETS, only, repeat, quick, json_path, out)


def main(argv=None) -> int:
    return _main(CASES, TARGETS, argv)


__all__ = ["CASES", "TARGETS", "Case", "Impl", "Row", "Target", "best_time", "main", "plot_speedups", "run",
           "time_function"]
