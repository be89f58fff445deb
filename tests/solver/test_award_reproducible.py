"""Reproducible by default (issue 17): with no --work-limit, every phase runs on deterministic
work derived from the options, so two runs of the same input give the same bytes (but for
stats.solve_seconds) even when a CPU-busy neighbour slows one of them down."""

from __future__ import annotations

import json
from pathlib import Path

from bench.award_instances import make_round
from solver import io, validate_award
from tests.solver.busy import beside_a_busy_neighbour, run_cli


def _without_time(result: dict) -> str:
    stats = {k: v for k, v in result["stats"].items() if k != "solve_seconds"}
    return io.dumps({**result, "stats": stats})


def test_two_default_runs_give_the_same_bytes_with_and_without_a_busy_neighbour(tmp_path: Path) -> None:
    # A mid-size round (12 lots, 6 OEMs, 60 bids and packages, whole lines) where the search is
    # stopped by work, not by completing, so the test would see a clock-dependent answer.
    doc = make_round(12, 6, 60, seed=7)
    path = tmp_path / "in.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    quiet = run_cli("award", path, tmp_path / "a.json")
    loaded = beside_a_busy_neighbour(lambda: run_cli("award", path, tmp_path / "b.json"))
    assert validate_award(doc, quiet) == []
    assert quiet["stats"]["limits"]["stopped_by"] in ("nothing", "work")
    assert _without_time(quiet) == _without_time(loaded)
