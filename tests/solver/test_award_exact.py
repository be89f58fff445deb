"""The award is the lexicographic optimum: checked against exhaustive enumeration on tiny rounds."""

from __future__ import annotations

import random

import pytest

from solver.award import award, validate_award
from solver.award.greedy import plain_greedy
from solver.award.instance import parse
from solver.award.prep import prepare
from solver.award.solution import objective
from solver.money import to_cents
from tests.solver.award_helpers import brute_force, tiny_round

SEEDS = range(120)


def _chunks(n: int) -> list[range]:
    step = len(SEEDS) // n
    return [range(i * step, (i + 1) * step) for i in range(n)]


@pytest.mark.parametrize("seeds", _chunks(4), ids=lambda r: f"seeds{r.start}-{r.stop - 1}")
def test_award_equals_brute_force(seeds: range) -> None:
    for seed in seeds:
        doc = tiny_round(random.Random(seed))
        result = award(doc, time_limit=20, work_limit=20)
        assert validate_award(doc, result) == [], seed
        best = brute_force(doc)
        got = (result["awarded_quantity"], to_cents(result["total_price"]))
        assert got == best, f"seed {seed}: {doc['rules']} got {got}, brute force {best}"
        assert result["status"] == "OPTIMAL"
        assert result["stats"]["bound_quantity"] == got[0]
        assert to_cents(result["stats"]["bound_price"]) == got[1]


@pytest.mark.parametrize("seeds", [range(0, 60)], ids=lambda r: f"seeds{r.start}-{r.stop - 1}")
def test_greedy_fallback_is_valid_and_bounds_hold(seeds: range) -> None:
    for seed in seeds:
        doc = tiny_round(random.Random(seed))
        result = award(doc, exact=False)
        assert validate_award(doc, result) == [], seed
        best = brute_force(doc)
        assert result["awarded_quantity"] <= best[0] <= result["stats"]["bound_quantity"]
        if result["awarded_quantity"] == best[0]:
            assert to_cents(result["stats"]["bound_price"]) <= best[1] <= to_cents(result["total_price"])


def _line(line_id: str, quantity: int, excluded: tuple[str, ...] = ()) -> dict:
    return {
        "id": line_id,
        "fleet": "fleet-1",
        "quantity": quantity,
        "max_unit_price": 300000,
        "excluded_suppliers": list(excluded),
    }


def _bid(bid_id: str, supplier: str, lot: str, quantity: int, price: float) -> dict:
    return {
        "id": bid_id,
        "supplier": supplier,
        "lot": lot,
        "min_quantity": 1,
        "max_quantity": quantity,
        "tiers": [{"min_quantity": 1, "unit_price": price}],
    }


def _round(suppliers: dict[str, int], lots: dict[str, list[dict]], bids: list[dict]) -> dict:
    return {
        "rules": {"max_share_per_supplier": 1.0, "line_service": "whole"},
        "suppliers": [{"id": s, "capacity": c} for s, c in suppliers.items()],
        "lots": [{"id": lot, "demand": lines} for lot, lines in lots.items()],
        "bids": bids,
        "packages": [],
    }


def test_when_not_every_line_can_be_served_the_award_still_has_the_most_vehicles() -> None:
    # Every line has a bidder and the quick bounds allow serving all 25 vehicles, but a-1
    # (which excludes oem-2) and b-1 can only go to oem-1, whose capacity is 5: at most 20.
    doc = _round(
        {"oem-1": 5, "oem-2": 15, "oem-3": 5},
        {
            "lot-a": [_line("a-1", 5, ("oem-2",)), _line("a-2", 5)],
            "lot-b": [_line("b-1", 5)],
            "lot-c": [_line("c-1", 5)],
            "lot-d": [_line("d-1", 5)],
        },
        [
            _bid("bid-1", "oem-1", "lot-a", 10, 100000),
            _bid("bid-2", "oem-1", "lot-b", 5, 110000),
            _bid("bid-3", "oem-2", "lot-a", 10, 120000),
            _bid("bid-4", "oem-2", "lot-c", 5, 120000),
            _bid("bid-5", "oem-2", "lot-d", 5, 130000),
            _bid("bid-6", "oem-3", "lot-d", 5, 125000),
        ],
    )
    result = award(doc, time_limit=20)
    assert validate_award(doc, result) == []
    assert brute_force(doc) == (20, to_cents(result["total_price"]))
    assert (result["status"], result["awarded_quantity"], result["stats"]["bound_quantity"]) == ("OPTIMAL", 20, 20)
    assert result["total_price"] == 5 * (100000 + 120000 + 120000 + 125000)


def test_an_award_serving_every_line_is_found_where_the_greedy_misses_it() -> None:
    # oem-1 is cheapest on both lines but can carry only one of them; b-1 has no other bidder.
    doc = _round(
        {"oem-1": 6, "oem-2": 50},
        {"lot-a": [_line("a-1", 6)], "lot-b": [_line("b-1", 6)]},
        [
            _bid("bid-1", "oem-1", "lot-a", 6, 100000),
            _bid("bid-2", "oem-1", "lot-b", 6, 150000),
            _bid("bid-3", "oem-2", "lot-a", 6, 140000),
        ],
    )
    # The plain (cheapest first) construction misses it; the regret one serves lot-b first, as
    # nobody else can, so the greedy start (the better of the two) already has it.
    inst = parse(doc)
    assert objective(inst, plain_greedy(inst, prepare(inst)))[0] < 12
    assert award(doc, exact=False)["awarded_quantity"] == 12
    result = award(doc, time_limit=20)
    assert validate_award(doc, result) == []
    assert (result["status"], result["awarded_quantity"]) == ("OPTIMAL", 12)
    assert to_cents(result["total_price"]) == brute_force(doc)[1] == 6 * (150000 + 140000) * 100


def test_a_line_larger_than_any_source_may_carry_is_not_counted_as_servable() -> None:
    # Whole line service, at most 80 % of lot-a's 8 vehicles (6) per supplier: a-1 (7 vehicles)
    # can never go whole to one source, so the most vehicles is 1 and the quick bounds say so.
    doc = _round(
        {"oem-1": 50, "oem-2": 50},
        {"lot-a": [_line("a-1", 7), _line("a-2", 1)]},
        [_bid("bid-1", "oem-1", "lot-a", 8, 100000), _bid("bid-2", "oem-2", "lot-a", 8, 110000)],
    )
    doc["rules"]["max_share_per_supplier"] = 0.8
    assert brute_force(doc) == (1, 100000 * 100)
    result = award(doc, exact=False)
    assert validate_award(doc, result) == []
    assert (result["status"], result["awarded_quantity"], result["stats"]["bound_quantity"]) == ("OPTIMAL", 1, 1)
    assert result["unserved"] == [
        {
            "demand": "a-1",
            "quantity": 7,
            "reason": "larger than any bid or package may take whole (capacity, share cap or bid range)",
        }
    ]
