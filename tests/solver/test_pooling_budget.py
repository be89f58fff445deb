"""How the pooling's budget is shared over independent components (solver/pooling/solve.py)."""

from __future__ import annotations

from pathlib import Path

from bench.pooling_instances import generate
from solver import io, validate_pooling
from solver.pooling import default_work_limit
from solver.pooling.components import prepare
from solver.pooling.parse import parse
from tests.solver.busy import beside_a_busy_neighbour, run_cli
from tests.solver.test_pooling_support import solve_checked


def test_a_tight_work_budget_still_proves_the_small_components() -> None:
    # 1,000 lines form 53 components, most of them a few (class, slot) pairs. A share by model
    # size alone gave each small one too little work to prove anything (8 of 53 proven); an
    # equal share of what is left at the least proves 41, and the bound comes closer.
    doc = generate(1000, seed=1)
    st = solve_checked(doc, time_limit=120, work_limit=0.05)["stats"]
    assert st["components"] == 53
    assert st["components_proven"] >= 35
    assert st["bound"] - st["pooled_quantity"] <= 60  # 163 with the share by size alone


def test_two_default_runs_give_the_same_bytes_with_and_without_a_busy_neighbour(tmp_path: Path) -> None:
    # No --work-limit: the exact phases still run on deterministic work derived from the model's
    # size (stats.limits says how much and that nothing but completion ended them).
    doc = generate(1000, seed=2, skewed=True)
    path = tmp_path / "in.json"
    path.write_text(io.dumps(doc), encoding="utf-8")
    quiet = run_cli("pool", path, tmp_path / "a.json")
    loaded = beside_a_busy_neighbour(lambda: run_cli("pool", path, tmp_path / "b.json"))
    assert validate_pooling(doc, quiet) == []
    assert quiet["status"] == "OPTIMAL"
    pairs = sum(c.size() for c in prepare(parse(doc)).components)
    limits = quiet["stats"]["limits"]  # numbers come back as Decimal
    assert (float(limits["work_limit"]), limits["stopped_by"]) == (round(default_work_limit_for(pairs), 6), "nothing")
    quiet["stats"]["solve_seconds"] = loaded["stats"]["solve_seconds"] = 0
    assert io.dumps(quiet) == io.dumps(loaded)


def default_work_limit_for(pairs: int) -> float:
    return min(6.0, 5.0 + pairs / 4000)  # as documented in docs/solver-io.md


def test_a_search_cut_by_work_says_so_and_is_the_same_twice() -> None:
    doc = generate(1000, seed=1)
    a = solve_checked(doc, time_limit=120, work_limit=0.2)
    b = solve_checked(doc, time_limit=120, work_limit=0.2)
    assert a["status"] == "FEASIBLE"
    assert a["stats"]["limits"] == {"work_limit": 0.2, "stopped_by": "work"}
    a["stats"]["solve_seconds"] = b["stats"]["solve_seconds"] = 0
    assert io.dumps(a) == io.dumps(b)


def test_the_default_work_of_a_100000_line_round_stays_what_ends_on_work() -> None:
    # 100,000 lines (bench.pooling_instances, seed 1) make 533,466 (class, slot) pairs. On the
    # former ceiling of 60 deterministic seconds their default run spent 200 s of CPU and ended on
    # the 60 s clock, so two runs could differ; the ceiling of 6 leaves it ending on work (and
    # 10,000 default lines, 57,558 pairs, within 45 s of CPU: 50-55 s at the former 8).
    comps = [_Sized(533_466 // 36)] * 36
    assert default_work_limit(comps) == 6.0  # type: ignore[arg-type]
    assert default_work_limit([_Sized(57_558)]) == 6.0  # type: ignore[list-item]
    assert default_work_limit([_Sized(4_000)]) == 6.0  # type: ignore[list-item]
    assert default_work_limit([_Sized(2_000)]) == 5.5  # type: ignore[list-item]


class _Sized:
    def __init__(self, pairs: int):
        self.pairs = pairs

    def size(self) -> int:
        return self.pairs


def test_the_benchmark_says_what_ended_each_run_and_whether_a_second_run_gave_the_same_bytes(tmp_path: Path) -> None:
    from bench import pooling as bench

    # A wide safety cap (as tests/solver/busy.run_cli): under the suite's load the work, not the
    # clock, must end both runs.
    out = tmp_path / "pooling.md"
    assert bench.main(["--sizes", "300", "--time-limit", "300", "--no-reference", "--twice", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "stopped by nothing" in text
    assert "| 300 lines: the default run ends on work, not the clock (stopped by nothing or work) |" in text
    # Each fact once: the issue-17 rows say what ended the runs and whether the bytes matched.
    assert "give the same bytes (but for stats.solve_seconds) | identical (second run " in text
    assert text.count("300 lines: two default runs") == 1 and text.count("beside a CPU-busy") == 1
