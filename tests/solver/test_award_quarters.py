"""Delivery quarters in the award (contract section 2, "Delivery quarters"): windows, the quarters a
source can deliver in, suppliers' quarterly capacities, and the deliveries of each allocation."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from solver import schema
from solver.award import award, validate_award
from solver.money import to_cents
from tests.solver.award_helpers import add_quarters, brute_force, highs_award, tiny_round


def quarter_doc() -> dict:
    return {
        "rules": {"prefer_early_delivery": True, "backups": False},
        "suppliers": [
            {
                "id": "oem-2",
                "capacity": 120,
                "quarterly_capacity": [
                    {"quarter": "2027Q1", "capacity": 40},
                    {"quarter": "2027Q1", "segment": "refuse-truck", "capacity": 10},
                    {"quarter": "2027Q2", "capacity": 80},
                ],
            }
        ],
        "lots": [
            {
                "id": "lot-1",
                "segment": "refuse-truck",
                "demand": [
                    {
                        "id": "d-001",
                        "quantity": 12,
                        "max_unit_price": 260000,
                        "window": {"first": "2027Q1", "last": "2027Q4"},
                    }
                ],
            }
        ],
        "bids": [
            {
                "id": "bid-1",
                "supplier": "oem-2",
                "lot": "lot-1",
                "min_quantity": 10,
                "max_quantity": 100,
                "tiers": [{"min_quantity": 10, "unit_price": 250000}],
                "quarters": ["2027Q1", "2027Q2"],
            }
        ],
        "packages": [],
    }


def test_the_input_schema_takes_the_quarter_fields_and_names_a_bad_quarter() -> None:
    assert schema.check(quarter_doc(), "award-input") == []
    bad = quarter_doc()
    bad["lots"][0]["demand"][0]["window"]["last"] = "2027Q5"
    bad["bids"][0]["quarters"] = []
    bad["suppliers"][0]["quarterly_capacity"][0]["quarter"] = "Q1-2027"
    assert {(p.path, p.message) for p in schema.check(bad, "award-input")} == {
        ("lots[0].demand[0].window.last", "must be a quarter like 2027Q2"),
        ("bids[0].quarters", "must be a non-empty list of quarters like 2027Q2"),
        ("suppliers[0].quarterly_capacity[0].quarter", "must be a quarter like 2027Q2"),
    }


def test_the_output_schema_takes_deliveries_and_backups() -> None:
    alloc = {"demand": "d-001", "quantity": 12, "deliveries": [{"quarter": "2027Q2", "quantity": 12}]}
    out = {
        "status": "OPTIMAL",
        "awarded_quantity": 12,
        "total_price": 3000000,
        "awards": [
            {
                "source": "bid-1",
                "supplier": "oem-2",
                "lot": "lot-1",
                "quantity": 12,
                "unit_price": 250000,
                "allocations": [alloc],
            }
        ],
        "unserved": [],
        "backups": [
            {
                "lot": "lot-1",
                "withdrawn": "oem-2",
                "quantity": 12,
                "covered_quantity": 0,
                "replacement": [],
                "total_price": 0,
            }
        ],
        "stats": {"solve_seconds": 0.0, "bound_quantity": 12, "bound_price": 3000000},
    }
    assert schema.check(out, "award-output") == []
    out["awards"][0]["allocations"][0]["deliveries"] = [{"quarter": "2027Q2", "quantity": 0}]
    assert [p.path for p in schema.check(out, "award-output")] == ["awards[0].allocations[0].deliveries[0].quantity"]


# -- an input without quarters is solved exactly as before -------------------------------------

GOLDEN = Path(__file__).parent / "data" / "award_before_quarters.json"


def _dump(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, default=lambda d: float(d) if d != d.to_integral_value() else int(d))


@pytest.mark.parametrize("name", sorted(json.loads(GOLDEN.read_text())))
def test_an_input_without_quarters_gives_the_same_bytes_as_before_quarters_existed(name: str) -> None:
    # Outputs of the award at commit 36dd95a (before delivery quarters), on tiny rounds and two
    # 30-bid rounds, solved with the same work limit (tests/solver/data/award_before_quarters.json).
    case = json.loads(GOLDEN.read_text(), parse_float=Decimal)[name]
    out = award(case["input"], time_limit=60, work_limit=10)
    out["stats"].pop("solve_seconds")
    out.pop("backups", None)  # a separate output (contract: Backups), not part of the award
    assert _dump(out) == _dump(case["output"])


# -- the optimum with quarters: brute force (whole service) and HiGHS (both services) -----------


def quarter_round(seed: int, *, whole: bool, max_lines: int = 5) -> dict[str, Any]:
    rng = random.Random(seed)
    return add_quarters(rng, tiny_round(rng, whole=whole, max_lines=max_lines))


@pytest.mark.parametrize("seeds", [range(0, 25), range(25, 50)], ids=lambda r: f"seeds{r.start}-{r.stop - 1}")
def test_award_with_quarters_equals_brute_force(seeds: range) -> None:
    for seed in seeds:
        doc = quarter_round(seed, whole=True)
        result = award(doc, time_limit=20, work_limit=20)
        assert validate_award(doc, result) == [], seed
        got = (result["awarded_quantity"], to_cents(result["total_price"]))
        assert got == brute_force(doc), f"seed {seed}"
        assert result["status"] == "OPTIMAL"
        greedy = award(doc, exact=False)
        assert validate_award(doc, greedy) == [], seed


@pytest.mark.parametrize("whole", [True, False], ids=["whole", "split"])
def test_award_with_quarters_equals_highs_on_tiny_rounds(whole: bool) -> None:
    for seed in range(100, 130):
        doc = quarter_round(seed, whole=whole, max_lines=6)
        result = award(doc, time_limit=20, work_limit=20)
        assert validate_award(doc, result) == [], seed
        ref = highs_award(doc, time_limit=60)
        assert ref["optimal"]
        assert (result["awarded_quantity"], to_cents(result["total_price"])) == (ref["vehicles"], ref["cents"]), seed
        assert result["status"] == "OPTIMAL"
        assert validate_award(doc, award(doc, exact=False)) == [], seed
