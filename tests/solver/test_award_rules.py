"""Award behaviour on hand-made rounds: the contract example, reasons, cancellation, determinism."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver import io
from solver.award import award, validate_award
from solver.errors import Cancelled
from solver.money import to_cents
from solver.progress import Progress
from tests.solver.award_helpers import contract_example, tiny_round

UNREACHABLE = (
    "no bid or package can serve it within its maximum unit price (tier minimums or package quantities out of reach)"
)


def _canonical(result: dict[str, Any]) -> str:
    result = copy.deepcopy(result)
    result["stats"].pop("solve_seconds")
    return io.dumps(result)


def test_contract_example_optimum() -> None:
    doc = contract_example()
    r = award(doc)
    assert validate_award(doc, r) == []
    assert r["status"] == "OPTIMAL"
    # bid-1 takes lot-1 whole at its 50+ tier (60 x 235000), bid-2 lot-2 (40 x 185000.25):
    # cheaper than the package (60 x 240000 + 40 x 180000) for the same 100 vehicles.
    assert r["awarded_quantity"] == 100
    assert to_cents(r["total_price"]) == 60 * 235000_00 + 40 * 185000_25
    assert [(a["source"], a["lot"], a["quantity"], a["unit_price"]) for a in r["awards"]] == [
        ("bid-1", "lot-1", 60, 235000),
        ("bid-2", "lot-2", 40, 185000.25),
    ]
    assert r["awards"][0]["allocations"] == [{"demand": "d-001", "quantity": 12}, {"demand": "d-002", "quantity": 48}]
    assert r["unserved"] == []


def test_package_rows_per_item_all_or_nothing() -> None:
    doc = contract_example()
    doc["bids"] = [b for b in doc["bids"] if b["id"] != "bid-2"]
    r = award(doc)
    assert validate_award(doc, r) == []
    assert [(a["source"], a["lot"], a["quantity"]) for a in r["awards"]] == [
        ("pkg-1", "lot-1", 60),
        ("pkg-1", "lot-2", 40),
    ]
    assert r["awarded_quantity"] == 100


def test_empty_award_is_optimal_with_reasons() -> None:
    doc = contract_example()
    for lot in doc["lots"]:
        for d in lot["demand"]:
            d["max_unit_price"] = 1000
    r = award(doc)
    assert validate_award(doc, r) == []
    assert r["status"] == "OPTIMAL" and r["awards"] == [] and r["awarded_quantity"] == 0 and r["total_price"] == 0
    assert {u["demand"] for u in r["unserved"]} == {"d-001", "d-002", "d-003"}
    assert all(u["reason"] == "no bid within the line's maximum unit price" for u in r["unserved"])


def test_reason_excluded_supplier() -> None:
    doc = contract_example()
    doc["packages"] = []
    doc["lots"][1]["demand"][0]["excluded_suppliers"] = ["oem-3"]
    r = award(doc)
    assert validate_award(doc, r) == []
    (u,) = r["unserved"]
    assert u == {"demand": "d-003", "quantity": 40, "reason": "every affordable supplier is excluded from the line"}


def test_reason_capacity_and_winner_limit() -> None:
    doc = contract_example()
    doc["packages"] = []
    doc["suppliers"][2]["capacity"] = 0
    r = award(doc)
    assert validate_award(doc, r) == []
    assert [u["reason"] for u in r["unserved"]] == [UNREACHABLE]

    doc = contract_example()
    doc["packages"] = []
    doc["rules"]["max_winners_per_lot"] = 1
    doc["suppliers"].append({"id": "oem-4", "capacity": 100})
    doc["lots"][0]["demand"][0]["excluded_suppliers"] = ["oem-1"]
    doc["lots"][0]["demand"][1]["max_unit_price"] = 250000
    doc["bids"].append(
        {"id": "bid-3", "supplier": "oem-4", "lot": "lot-1", "min_quantity": 12, "max_quantity": 12,
         "tiers": [{"min_quantity": 12, "unit_price": 255000}]}
    )  # fmt: skip
    r = award(doc)
    assert validate_award(doc, r) == []
    # one winner in lot-1: bid-1 takes d-002 (48 vehicles) and d-001 stays unserved
    assert [(u["demand"], u["reason"]) for u in r["unserved"]] == [("d-001", "winner limit reached in its lot")]


def test_split_service_partial_line() -> None:
    doc = contract_example()
    doc["rules"]["line_service"] = "split"
    doc["packages"] = []
    doc["bids"][1]["max_quantity"] = 30
    r = award(doc)
    assert validate_award(doc, r) == []
    assert r["unserved"] == [{"demand": "d-003", "quantity": 10, "reason": "capacity taken by cheaper lines"}] or (
        r["unserved"][0]["demand"] == "d-003" and r["unserved"][0]["quantity"] == 10
    )


def test_progress_and_cancel() -> None:
    from bench.award_instances import make_round

    doc = make_round(20, 10, 200, seed=3)
    seen: list[Progress] = []
    r = award(doc, time_limit=2, progress=seen.append)
    assert seen and seen[0].phase == "greedy" and seen[-1].phase == "done"
    assert all(p.quantity <= p.quantity_bound for p in seen)
    assert seen[-1].quantity == r["awarded_quantity"]

    def cancel(p: Progress) -> None:
        if p.phase != "greedy":
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        award(doc, time_limit=30, progress=cancel)


def test_same_bytes_and_input_order_does_not_matter() -> None:
    from bench.award_instances import make_round

    doc = make_round(6, 3, 16, seed=5)
    a = award(doc, time_limit=30, work_limit=10)
    shuffled = copy.deepcopy(doc)
    rng = random.Random(1)
    for key in ("suppliers", "lots", "bids", "packages"):
        rng.shuffle(shuffled[key])
    for lot in shuffled["lots"]:
        rng.shuffle(lot["demand"])
    b = award(shuffled, time_limit=30, work_limit=10)
    c = award(doc, time_limit=30, work_limit=10)
    assert _canonical(a) == _canonical(b) == _canonical(c)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**9), whole=st.booleans())
def test_properties_on_random_rounds(seed: int, whole: bool) -> None:
    doc = tiny_round(random.Random(seed), whole=whole, max_lines=6)
    exact = award(doc, time_limit=20, work_limit=20)
    greedy = award(doc, exact=False)
    for r in (exact, greedy):
        assert validate_award(doc, r) == []
        assert r["awarded_quantity"] <= r["stats"]["bound_quantity"]
        assert to_cents(r["stats"]["bound_price"]) <= to_cents(r["total_price"])
    assert (exact["awarded_quantity"], -to_cents(exact["total_price"])) >= (
        greedy["awarded_quantity"],
        -to_cents(greedy["total_price"]),
    )
    assert exact["stats"]["bound_quantity"] <= greedy["stats"]["bound_quantity"]
    assert _canonical(exact) == _canonical(award(doc, time_limit=20, work_limit=20))
    served = {a["demand"] for row in exact["awards"] for a in row["allocations"]}
    for u in exact["unserved"]:
        assert u["reason"]
        if whole:
            assert u["demand"] not in served
