"""Pooling: the contract's example, reasons, progress and cancelling, the CLI, invalid input, determinism."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from solver import Cancelled, Progress, io, pool, schema
from solver.pooling.parse import problems as input_problems
from solver.pooling.parse import structurally_ok
from tests.solver.test_pooling_support import solve_checked, triple

ROOT = Path(__file__).resolve().parents[2]


def line(i: int, **over: Any) -> dict[str, Any]:
    d = {
        "id": f"d-{i:03d}",
        "fleet": "fleet-1",
        "segment": "box-truck",
        "region": "US-CA-LA",
        "quantity": 12,
        "window": {"earliest": "2027Q2", "latest": "2027Q4"},
        "requirements": {"min_range_km": 250, "min_payload_kg": 4000, "charging": ["CCS1"]},
        "max_unit_price": 260000,
        "splittable": False,
    }
    d.update(over)
    return d


def doc(*lines: dict[str, Any], lo: int = 20, hi: int = 400, up: int = 2) -> dict[str, Any]:
    return {
        "rules": {"min_lot_quantity": lo, "max_lot_quantity": hi, "max_levels_up": up},
        "regions": [
            {"code": "NA", "parent": None},
            {"code": "US", "parent": "NA"},
            {"code": "US-CA", "parent": "US"},
            {"code": "US-CA-LA", "parent": "US-CA"},
            {"code": "US-CA-SF", "parent": "US-CA"},
            {"code": "US-TX", "parent": "US"},
        ],
        "demand": list(lines),
    }


def test_two_lines_in_sibling_metros_pool_at_their_state_with_the_intersected_window() -> None:
    d = doc(
        line(1),
        line(2, region="US-CA-SF", quantity=10, window={"earliest": "2027Q1", "latest": "2027Q3"},
             requirements={"min_range_km": 300, "min_payload_kg": 3000, "charging": ["CCS1", "NACS"]}),
    )  # fmt: skip
    r = solve_checked(d)
    assert r["status"] == "OPTIMAL"
    [lot] = r["lots"]
    assert lot["id"] == "lot-1" and lot["region"] == "US-CA" and lot["charging"] == "CCS1"
    assert lot["window"] == {"earliest": "2027Q2", "latest": "2027Q3"}
    assert lot["requirements"] == {"min_range_km": 300, "min_payload_kg": 4000}
    assert lot["members"] == [{"demand": "d-001", "quantity": 12}, {"demand": "d-002", "quantity": 10}]
    assert triple(r) == (22, 1, 22) and r["stats"]["bound"] == 22 and r["unpooled"] == []


def test_a_line_at_or_above_the_minimum_is_a_lot_on_its_own_with_no_spread() -> None:
    r = solve_checked(doc(line(1, quantity=25)))
    assert triple(r) == (25, 1, 0) and r["status"] == "OPTIMAL"


def test_reasons_name_what_left_each_line_out() -> None:
    r = solve_checked(
        doc(
            line(1, quantity=5),  # alone in Texas below: no partner
            line(2, quantity=500),  # not splittable, above the maximum
            line(3, region="US-TX", quantity=3),
            line(4, region="US-TX", quantity=4, window={"earliest": "2027Q2", "latest": "2027Q2"}),
            line(5, region="US-CA-SF", quantity=6, window={"earliest": "2029Q1", "latest": "2029Q1"}),
        )
    )
    reasons = {u["demand"]: u["reason"] for u in r["unpooled"]}
    assert "maximum lot size of 400" in reasons["d-002"]
    assert "does not reach the minimum lot size of 20" in reasons["d-003"]
    assert "(12 vehicles at most)" in reasons["d-003"]  # with d-001 and d-004, at US
    assert "no other compatible line" in reasons["d-005"]
    assert triple(r) == (0, 0, 0) and r["stats"]["bound"] == 0


def test_a_splittable_line_above_the_maximum_is_divided_and_its_remainder_explained() -> None:
    r = solve_checked(
        doc(line(1, quantity=830, splittable=True), line(2, quantity=500, splittable=True, region="US-TX"))
    )
    # 4 lots, not 3 + 2: the leftovers 30 (LA, 2 levels) and 100 (TX, 1 level) meet at US.
    assert triple(r) == (1330, 4, 160) and r["status"] == "OPTIMAL" and r["unpooled"] == []
    r = solve_checked(doc(line(1, quantity=77, splittable=True), hi=40, lo=39))  # 77 < 2 x 39
    assert triple(r) == (40, 1, 0)
    [u] = r["unpooled"]
    assert u["quantity"] == 37 and "maximum lot size of 40" in u["reason"]


def test_progress_is_reported_and_a_cancelling_callback_stops_the_solve() -> None:
    d = doc(*(line(i, quantity=3 + i % 7, region=("US-CA-LA", "US-CA-SF", "US-TX")[i % 3]) for i in range(40)))
    seen: list[Progress] = []
    solve_checked(d, progress=seen.append)
    assert seen and seen[0].phase == "greedy" and seen[-1].phase == "done"
    assert all(p.quantity <= p.quantity_bound for p in seen)

    def cancel(p: Progress) -> None:
        raise Cancelled("stop")

    with pytest.raises(Cancelled):
        pool(d, progress=cancel)


def run_cli(tmp_path: Path, document: Any, *extra: str) -> subprocess.CompletedProcess[str]:
    src = tmp_path / "in.json"
    src.write_text(document if isinstance(document, str) else io.dumps(document), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "solver", "pool", str(src), *extra],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip


def test_cli_result_and_identical_bytes_on_rerun(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.pooling_instances import generate

    d = generate(150, seed=7)
    outs = []
    for _ in range(2):
        p = run_cli(tmp_path, d)
        assert p.returncode == 0, p.stderr
        r = json.loads(p.stdout)
        r["stats"]["solve_seconds"] = 0
        outs.append(io.dumps(r))
        assert schema.check(r, "pooling-output") == []
    assert outs[0] == outs[1]
    p = run_cli(tmp_path, d, "--work-limit", "50", "-o", str(tmp_path / "out.json"))
    assert p.returncode == 0 and p.stdout == ""
    w = json.loads((tmp_path / "out.json").read_text())
    assert triple(w) == triple(json.loads(outs[0]))


def mutate(d: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    d = copy.deepcopy(d)
    obj: Any = d
    keys = [int(k) if k.isdigit() else k for k in path.replace("[", ".").replace("]", "").split(".")]
    for k in keys[:-1]:
        obj = obj[k]
    if value is KeyError:
        del obj[keys[-1]]
    else:
        obj[keys[-1]] = value
    return d


BASE = doc(*(line(i) for i in range(5)))
INVALID = [
    ("demand[3].window.earliest", "2027Q5", "demand[3].window.earliest: not a quarter like 2027Q2"),
    ("demand[1].window.latest", "Q2-2027", "demand[1].window.latest: not a quarter like 2027Q2"),
    ("demand[2].quantity", 0, "demand[2].quantity: must be a positive integer"),
    ("demand[2].quantity", -3, "demand[2].quantity: must be a positive integer"),
    ("demand[2].quantity", "12", "demand[2].quantity: must be a positive integer"),
    ("demand[2].quantity", 2.5, "demand[2].quantity: must be a positive integer"),
    ("demand[0].splittable", "yes", "demand[0].splittable: must be true or false"),
    ("demand[4].region", "US-NV", "demand[4].region: unknown region US-NV"),
    ("regions[5].parent", "XX", "regions[5].parent: unknown region XX"),
    ("regions[0].parent", "US-CA", "regions[0].parent: region tree has a cycle (parent chain NA > US-CA > US > NA)"),
    ("demand[4].id", "d-001", "demand[4].id: duplicate demand id d-001 (also demand[1])"),
    ("regions[5].code", "US", "regions[5].code: duplicate region code US (also regions[1])"),
    ("demand[1].window", {"earliest": "2027Q4", "latest": "2027Q2"}, "demand[1].window.earliest: is after latest 2027Q2"),
    ("rules.min_lot_quantity", 500, "rules.min_lot_quantity: must not exceed max_lot_quantity (400)"),
    ("rules.max_levels_up", -1, "rules.max_levels_up: must be a whole number, 0 or more"),
    ("demand[0].max_unit_price", 1.234, "demand[0].max_unit_price: must have at most 2 decimals"),
    ("demand[0].requirements.charging", [], "demand[0].requirements.charging: must be a non-empty list"),
    ("demand[0].requirements.charging", ["CCS1", "CCS1"], "demand[0].requirements.charging: must be a non-empty list"),
    ("demand[0].segment", KeyError, "demand[0].segment: is required"),
    ("demand[0].colour", "red", "demand[0].colour: unknown field"),
    ("demand", {}, "demand: must be a list of demand lines"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "value", "expected"), INVALID, ids=[c[2].split(":")[0] + "=" + repr(c[1]) for c in INVALID]
)
def test_invalid_input_names_the_field(path: str, value: Any, expected: str) -> None:
    bad = mutate(BASE, path, value)
    found = [str(p) for p in input_problems(bad)]
    assert any(f.startswith(expected) for f in found), found
    assert structurally_ok(bad) == (schema.check(bad, "pooling-input") == [])


def test_invalid_input_on_the_cli_exits_2_with_every_problem_and_nothing_on_stdout(tmp_path: Path) -> None:
    bad = mutate(mutate(BASE, "demand[3].window.earliest", "2027Q5"), "demand[2].quantity", 0)
    bad = mutate(bad, "regions[0].parent", "US-CA")
    p = run_cli(tmp_path, bad)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.splitlines() == [
        "demand[2].quantity: must be a positive integer, at most 1,000,000",
        "demand[3].window.earliest: not a quarter like 2027Q2",
        "regions[0].parent: region tree has a cycle (parent chain NA > US-CA > US > NA)",
    ]
    p = run_cli(tmp_path, "{not json")
    assert p.returncode == 2 and p.stdout == "" and p.stderr.startswith("$: not valid JSON")
