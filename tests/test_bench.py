"""The benchmark machinery (helpers.bench) on tiny shapes. Speed itself is never asserted here."""

import json

import pytest

from helpers import bench
from helpers.bench import harness

ROW_KEYS = {"op", "shape", "impl", "median_s", "speedup_vs_naive", "gflops"}


def _check_rows(rows):
    assert rows, "the run produced no rows"
    for row in rows:
        assert set(row) == ROW_KEYS
        assert isinstance(row["op"], str) and isinstance(row["shape"], str) and isinstance(row["impl"], str)
        assert row["median_s"] > 0, row
        assert row["speedup_vs_naive"] > 0, row
        assert row["gflops"] > 0, row


def test_cli_writes_json_rows(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert bench.main(["--quick", "--only", "batchnorm", "--repeat", "2", "--json", str(path)]) == 0
    rows = json.loads(path.read_text())
    _check_rows(rows)
    assert [r["impl"] for r in rows] == ["batchnorm_backward", "alt"]
    assert rows[0]["speedup_vs_naive"] == pytest.approx(1.0)
    printed = capsys.readouterr().out
    assert "GFLOP/s on this machine" in printed
    # Quick shapes are too small for the speed claims: they are judged only at the full shapes.
    assert "judged only at the full shapes" in printed and "PASS" not in printed and "FAIL" not in printed


def test_every_operation_runs_on_quick_shapes(tmp_path):
    result = bench.run(repeat=1, quick=True, json_path=tmp_path / "all.json")
    rows = json.loads((tmp_path / "all.json").read_text())
    _check_rows(rows)
    assert {r["op"] for r in rows} == {case.op for case in bench.CASES}
    # Every target names implementations that the bench really produces.
    assert {verdict for _, verdict, _ in result["targets"]} <= {"PASS", "FAIL", "N/A"}
    timed = {(r.op, r.key) for r in result["rows"]}
    for target, verdict, detail in result["targets"]:
        if verdict == "N/A":
            assert "cython" in detail, f"only an unbuilt extension may leave a target unmeasured: {detail}"
            continue
        assert (target.op, target.impl) in timed


def test_sliced_rows_are_scaled_and_labelled(monkeypatch):
    monkeypatch.setattr(harness, "median_time", lambda fn, repeat, **_: 1.0)

    def build(quick):
        return [harness.sliced("loops", lambda n: None, 5, 20, "rows"), bench.Impl("vectorized", lambda: None),
                bench.Impl("gpu", None, skip="no CUDA GPU on this machine")]

    case = bench.Case("toy", "tests", "20 rows", 8e9, build, "20 rows", 8e9)
    rows, skipped = harness.run_case(case, repeat=3, quick=False)
    assert [r.impl for r in rows] == ["loops (timed on 5 of 20 rows, scaled)", "vectorized"]
    assert rows[0].median_s == pytest.approx(4.0) and rows[1].median_s == pytest.approx(1.0)
    assert rows[1].speedup_vs_naive == pytest.approx(4.0)
    assert rows[1].gflops == pytest.approx(8.0)
    assert skipped == ["gpu: no CUDA GPU on this machine"]


def test_targets_pass_fail_and_missing():
    rows = [bench.Row("op", "s", "naive", 2.0, 1.0, 1.0, "naive"),
            bench.Row("op", "s", "fast", 0.01, 200.0, 200.0, "fast")]
    targets = [bench.Target("fast >= 100x", "op", "fast", 100, "naive"),
               bench.Target("fast >= 300x", "op", "fast", 300, "naive"),
               bench.Target("gpu >= 2x", "op", "gpu", 2, "naive"),
               bench.Target("fast at half the GEMM rate", "op", "fast", 0.5, kind="gemm_fraction"),
               bench.Target("other op", "absent", "fast", 1, "naive")]
    verdicts = [v for _, v, _ in harness.evaluate_targets(rows, gemm_gflops=300.0, targets=targets)]
    assert verdicts == ["PASS", "FAIL", "N/A", "PASS"]


def test_targets_are_printed_only_at_the_full_shapes(monkeypatch, capsys):
    monkeypatch.setattr(harness, "median_time", lambda fn, repeat, **_: 1.0 if str(fn()) == "slow" else 0.001)
    case = bench.Case("toy", "tests", "big", 1e9, lambda quick: [bench.Impl("naive", lambda: "slow"),
                                                                  bench.Impl("fast", lambda: "fast")], "tiny", 1e6)
    targets = [bench.Target("fast >= 100x", "toy", "fast", 100, "naive")]
    quick = harness.run([case], targets, quick=True, repeat=1)
    printed = capsys.readouterr().out
    assert "1 speed claims are judged only at the full shapes" in printed and "PASS" not in printed
    assert [v for _, v, _ in quick["targets"]] == ["PASS"]  # computed all the same, for callers that want them
    harness.run([case], targets, quick=False, repeat=1)
    assert "PASS fast >= 100x  (fast is 1000.0x faster than naive, needs >= 100x)" in capsys.readouterr().out


def test_best_time_and_time_function():
    calls = []
    seconds, result = bench.best_time(lambda: calls.append(1) or len(calls), 3)
    assert result == 3 and len(calls) == 3 and seconds >= 0
    assert bench.time_function(sorted, [3, 1, 2]) >= 0
    with pytest.raises(ValueError, match="repeats must be a positive integer, got 0"):
        bench.best_time(lambda: None, 0)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="matches no operation"):
        harness.select_cases(bench.CASES, "no_such_op")
    with pytest.raises(ValueError, match="repeat must be >= 1"):
        bench.run(only="batchnorm", repeat=0, quick=True)
    with pytest.raises(SystemExit):
        bench.main(["--only", "no_such_op"])


def test_patterns_select_cases():
    large = harness.select_cases(bench.CASES, "conv_*_large")
    assert [c.op for c in large] == ["conv_forward_large", "conv_backward_large"]
    assert {c.op for c in harness.select_cases(bench.CASES, "pool")} == {"max_pool_forward", "max_pool_backward"}
    assert len(harness.select_cases(bench.CASES, None)) == len(bench.CASES)
    assert [c.op for c in harness.select_cases(bench.CASES, "conv_forward,max_pool_*")] == [
        "conv_forward", "max_pool_forward", "max_pool_backward"]


def test_plot_speedups_draws_one_bar_per_row():
    import matplotlib

    matplotlib.use("agg")
    rows = [bench.Row("a", "s", "naive", 2.0, 1.0, 1.0, "naive"), bench.Row("a", "s", "fast", 1.0, 2.0, 2.0, "fast"),
            bench.Row("b", "s", "naive", 4.0, 1.0, 1.0, "naive")]
    ax = bench.plot_speedups(rows)
    assert len(ax.patches) == len(rows)


@pytest.mark.parametrize("op", ["rnn_forward", "rnn_backward", "lstm_forward", "lstm_backward"])
def test_recurrent_cases_time_the_same_computation(op):
    # The torch rows must run the network the NumPy rows run (same weights, LSTM gates reordered).
    import numpy as np

    case = next(c for c in bench.CASES if c.op == op)
    impls = {impl.key: impl for impl in case.build(True)}
    numpy_result, float32_result, torch_result = (impls[key].fn() for key in ("numpy", "numpy_float32", "torch_cpu"))
    if op.endswith("forward"):
        np.testing.assert_allclose(numpy_result[0], torch_result.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(float32_result[0], numpy_result[0], rtol=1e-4, atol=1e-5)
    else:  # dx and dh0
        np.testing.assert_allclose(numpy_result[0], torch_result[0].numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(numpy_result[1], torch_result[1].numpy()[0], rtol=1e-10, atol=1e-12)


def test_best_time_returns_the_shortest_call_and_the_last_result(monkeypatch):
    ticks = iter([0.0, 5.0, 10.0, 11.0, 20.0, 23.0])  # calls of 5, 1 and 3 seconds
    monkeypatch.setattr(harness.time, "perf_counter", lambda: next(ticks))
    calls = []
    seconds, result = harness.best_time(lambda: calls.append(1) or len(calls), 3)
    assert seconds == 1.0 and result == 3
    with pytest.raises(ValueError, match="repeats must be a positive integer, got 0"):
        harness.best_time(lambda: None, 0)
