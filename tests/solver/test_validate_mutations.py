"""The validators on wrong results: every corruption of a valid result is caught by its rule's check.

The rest of the suite only shows validate_award / validate_pooling accepting results the solver
produced; a validator that always answered [] would pass it. Here a set of valid results (small
random rounds solved by the solver, plus the contract's example) is corrupted one way at a time
(over capacity, share cap broken, a package partly awarded, a wrong tier price, ...) and the
check named for that rule must report it (and so must the whole validator).
"""

from __future__ import annotations

import copy
import functools
import random
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import Any

import pytest

from solver.award import award
from solver.award import validate as av
from solver.pooling import pool
from solver.pooling import validate as pv
from tests.solver.award_helpers import contract_example, tiny_round
from tests.solver.test_pooling_support import REGIONS, small_instance

Doc = dict[str, Any]
# A corruption returns the (input, result) pair it made, or None when the case has nothing to corrupt.
Corruption = Callable[[Doc, Doc, random.Random], tuple[Doc, Doc] | None]


@cache
def award_cases() -> tuple[tuple[Doc, Doc], ...]:
    cases = []
    for seed in range(24):
        doc = tiny_round(random.Random(seed), whole=seed % 2 == 0, max_lines=8)
        for sup in doc["suppliers"]:  # room for more awards to corrupt
            sup["capacity"] += 8
        for lot in doc["lots"]:
            for line in lot["demand"]:
                line["max_unit_price"] = max(line["max_unit_price"], 110 if seed % 3 else 100)
        cases.append((doc, award(doc, workers=1)))
    for doc in (contract_example(), two_lot_package()):
        cases.append((doc, award(doc, workers=1)))
    return tuple(cases)


def two_lot_package() -> Doc:
    """A round a package of two lots wins (most vehicles, lowest price), beside a bid on one lot."""
    return {
        "rules": {"line_service": "whole", "max_winners_per_lot": 2},
        "suppliers": [{"id": "s1", "capacity": 20}, {"id": "s2", "capacity": 20}],
        "lots": [
            {"id": "L1", "demand": [{"id": "d1", "quantity": 5, "max_unit_price": 100}]},
            {"id": "L2", "demand": [{"id": "d2", "quantity": 3, "max_unit_price": 100}]},
        ],
        "bids": [
            {
                "id": "b1",
                "supplier": "s2",
                "lot": "L1",
                "min_quantity": 1,
                "max_quantity": 5,
                "tiers": [{"min_quantity": 1, "unit_price": 95}],
            }
        ],
        "packages": [
            {
                "id": "p1",
                "supplier": "s1",
                "items": [
                    {"lot": "L1", "quantity": 5, "unit_price": 90},
                    {"lot": "L2", "quantity": 3, "unit_price": 90},
                ],
            }
        ],
    }


@cache
def pooling_cases() -> tuple[tuple[Doc, Doc], ...]:
    cases = []
    for seed in range(24):
        doc = small_instance(random.Random(seed), max_items=20)
        cases.append((doc, pool(doc, time_limit=20.0)))
    return tuple(cases)


def test_the_valid_results_pass_every_check() -> None:
    for doc, result in award_cases():
        a = av.read(doc, result)
        assert av.validate_award(doc, result) == []
        assert {c.__name__: c(a) for c in av.CHECKS} == {c.__name__: [] for c in av.CHECKS}
    for doc, result in pooling_cases():
        p = pv.read(pv.parse(doc), result)
        assert {c.__name__: c(p) for c in pv.CHECKS} == {c.__name__: [] for c in pv.CHECKS}
    # the set exercises what the corruptions need
    rows = [r for _, res in award_cases() for r in res["awards"]]
    assert any(r["source"].startswith("p") for r in rows) and len(rows) > 25
    assert sum(len(res["lots"]) for _, res in pooling_cases()) > 10


# -- award corruptions -----------------------------------------------------------------------


def on_a_row(mutate: Callable[[Doc, Doc, Doc, random.Random], bool | None]) -> Corruption:
    """A corruption of copies of the input and result around one award row chosen at random (none: nothing
    to corrupt); `mutate(doc, result, row, rng)` changes them in place, or returns False when it cannot."""

    @functools.wraps(mutate)
    def corrupt(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
        if not result["awards"]:
            return None
        doc, result = copy.deepcopy(doc), copy.deepcopy(result)
        return None if mutate(doc, result, rng.choice(result["awards"]), rng) is False else (doc, result)

    return corrupt


def _bid_rows(doc: Doc, result: Doc) -> list[tuple[int, Doc]]:
    bids = {b["id"]: b for b in doc["bids"]}
    return [(i, r) for i, r in enumerate(result["awards"]) if r["source"] in bids]


def _price(cents: int) -> int | Decimal:
    return cents // 100 if cents % 100 == 0 else Decimal(cents) / 100


def _cents(x: Any) -> int:
    return int(Decimal(str(x)) * 100)


@on_a_row
def over_capacity(doc: Doc, result: Doc, row: Doc, rng: random.Random) -> None:
    used = sum(r["quantity"] for r in result["awards"] if r["supplier"] == row["supplier"])
    next(s for s in doc["suppliers"] if s["id"] == row["supplier"])["capacity"] = used - 1


@on_a_row
def share_cap_broken(doc: Doc, result: Doc, row: Doc, rng: random.Random) -> None:
    won = sum(r["quantity"] for r in result["awards"] if (r["supplier"], r["lot"]) == (row["supplier"], row["lot"]))
    demand = sum(d["quantity"] for lot in doc["lots"] if lot["id"] == row["lot"] for d in lot["demand"])
    doc["rules"]["max_share_per_supplier"] = Decimal(won - 1) / demand  # the cap is now one vehicle short


def too_many_winners(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    winners: dict[str, set[str]] = {}
    for r in result["awards"]:
        winners.setdefault(r["lot"], set()).add(r["supplier"])
    most = max((len(s) for s in winners.values()), default=0)
    if most < 2:
        return None
    doc = copy.deepcopy(doc)
    doc["rules"]["max_winners_per_lot"] = most - 1
    return doc, result


def package_partly_awarded(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    packages = {p["id"] for p in doc.get("packages") or [] if len({it["lot"] for it in p["items"]}) > 1}
    rows = [i for i, r in enumerate(result["awards"]) if r["source"] in packages]
    if not rows:
        return None
    result = copy.deepcopy(result)
    del result["awards"][rng.choice(rows)]
    return doc, result


def package_item_changed(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    packages = {p["id"] for p in doc.get("packages") or []}
    rows = [i for i, r in enumerate(result["awards"]) if r["source"] in packages]
    if not rows:
        return None
    result = copy.deepcopy(result)
    row = result["awards"][rng.choice(rows)]
    row["unit_price"] = _price(_cents(row["unit_price"]) - 1)
    return doc, result


def tier_price_wrong(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    rows = _bid_rows(doc, result)
    if not rows:
        return None
    result = copy.deepcopy(result)
    row = result["awards"][rng.choice(rows)[0]]
    row["unit_price"] = _price(_cents(row["unit_price"]) + rng.choice((-100, -1, 1)))
    return doc, result


def quantity_outside_range(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    rows = _bid_rows(doc, result)
    if not rows:
        return None
    i, row = rng.choice(rows)
    bid = next(b for b in doc["bids"] if b["id"] == row["source"])
    q = bid["max_quantity"] + 1 if rng.random() < 0.5 or bid["min_quantity"] == 1 else bid["min_quantity"] - 1
    result = copy.deepcopy(result)
    row = result["awards"][i]
    row["allocations"][0]["quantity"] += q - row["quantity"]
    if row["allocations"][0]["quantity"] < 1:
        return None
    row["quantity"] = q
    return doc, result


@on_a_row
def reserve_price_broken(doc: Doc, result: Doc, row: Doc, rng: random.Random) -> None:
    line = rng.choice(row["allocations"])["demand"]
    d = next(d for lot in doc["lots"] for d in lot["demand"] if d["id"] == line)
    d["max_unit_price"] = _price(_cents(row["unit_price"]) - 1)


@on_a_row
def excluded_supplier(doc: Doc, result: Doc, row: Doc, rng: random.Random) -> None:
    line = rng.choice(row["allocations"])["demand"]
    d = next(d for lot in doc["lots"] for d in lot["demand"] if d["id"] == line)
    d["excluded_suppliers"] = [*d.get("excluded_suppliers", []), row["supplier"]]


@on_a_row
def allocation_in_other_lot(doc: Doc, result: Doc, row: Doc, rng: random.Random) -> bool | None:
    if len(doc["lots"]) < 2:
        return False
    other = next(lot for lot in doc["lots"] if lot["id"] != row["lot"])
    row["allocations"][0]["demand"] = other["demand"][0]["id"]
    return None


@on_a_row
def allocations_do_not_sum(doc: Doc, result: Doc, row: Doc, rng: random.Random) -> None:
    row["quantity"] += 1


def line_over_served(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    """A second row takes an already served line (split service: beyond its quantity)."""
    if doc["rules"]["line_service"] == "whole" or len(result["awards"]) < 2:
        return None
    result = copy.deepcopy(result)
    a, b = rng.sample(result["awards"], 2)
    full = [al for al in a["allocations"] if al["demand"] not in {x["demand"] for x in b["allocations"]}]
    lot_lines = {d["id"]: d["quantity"] for lot in doc["lots"] for d in lot["demand"] if lot["id"] == b["lot"]}
    full = [al for al in full if al["demand"] in lot_lines and al["quantity"] == lot_lines[al["demand"]]]
    if not full:
        return None
    b["allocations"].append({"demand": full[0]["demand"], "quantity": 1})
    b["quantity"] += 1
    return doc, result


def whole_line_split(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    """Whole line service: a row takes part of a line instead of all of it."""
    if doc["rules"]["line_service"] != "whole":
        return None
    rows = [r for r in result["awards"] if any(al["quantity"] > 1 for al in r["allocations"])]
    if not rows:
        return None
    result = copy.deepcopy(result)
    row = result["awards"][result["awards"].index(rng.choice(rows))]
    al = next(al for al in row["allocations"] if al["quantity"] > 1)
    al["quantity"] -= 1
    row["quantity"] -= 1
    return doc, result


def awarded_quantity_wrong(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    result = copy.deepcopy(result)
    result["awarded_quantity"] += rng.choice((1, 2))
    return doc, result


def total_price_off_by_a_cent(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    result = copy.deepcopy(result)
    result["total_price"] = _price(_cents(result["total_price"]) + 1)
    return doc, result


@on_a_row
def unit_price_not_to_the_cent(doc: Doc, result: Doc, row: Doc, rng: random.Random) -> None:
    row["unit_price"] = Decimal(str(row["unit_price"])) + Decimal("0.001")


@on_a_row
def unknown_source(doc: Doc, result: Doc, row: Doc, rng: random.Random) -> None:
    row["source"] = "no-such-bid"


@on_a_row
def source_of_another_supplier(doc: Doc, result: Doc, row: Doc, rng: random.Random) -> bool | None:
    if len(doc["suppliers"]) < 2:
        return False
    row["supplier"] = next(s["id"] for s in doc["suppliers"] if s["id"] != row["supplier"])
    return None


@on_a_row
def row_repeated(doc: Doc, result: Doc, row: Doc, rng: random.Random) -> None:
    result["awards"].append(copy.deepcopy(row))


def unserved_without_reason(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    if not result["unserved"]:
        return None
    result = copy.deepcopy(result)
    del rng.choice(result["unserved"])["reason"]
    return doc, result


def unserved_line_not_listed(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    if not result["unserved"]:
        return None
    result = copy.deepcopy(result)
    result["unserved"].remove(rng.choice(result["unserved"]))
    return doc, result


@on_a_row
def served_line_listed_unserved(doc: Doc, result: Doc, row: Doc, rng: random.Random) -> bool | None:
    al = rng.choice(row["allocations"])
    if any(u["demand"] == al["demand"] for u in result["unserved"]):
        return False
    result["unserved"].append({"demand": al["demand"], "quantity": 1, "reason": "made up"})
    return None


def bound_below_award(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    if not result["awarded_quantity"]:
        return None
    result = copy.deepcopy(result)
    result["stats"]["bound_quantity"] = result["awarded_quantity"] - 1
    return doc, result


def optimal_with_a_gap(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    if result["status"] != "OPTIMAL":
        return None
    result = copy.deepcopy(result)
    result["stats"]["bound_quantity"] += 1
    return doc, result


AWARD_CORRUPTIONS: list[tuple[Corruption, str]] = [
    (over_capacity, "check_capacity"),
    (share_cap_broken, "check_share_cap"),
    (too_many_winners, "check_winners_per_lot"),
    (package_partly_awarded, "check_packages_all_or_nothing"),
    (package_item_changed, "check_package_items"),
    (tier_price_wrong, "check_tier_price"),
    (quantity_outside_range, "check_bid_quantity_range"),
    (reserve_price_broken, "check_reserve_prices"),
    (excluded_supplier, "check_exclusions"),
    (allocation_in_other_lot, "check_allocations_in_lot"),
    (allocations_do_not_sum, "check_allocations_sum"),
    (line_over_served, "check_line_quantity"),
    (whole_line_split, "check_whole_line_service"),
    (awarded_quantity_wrong, "check_totals"),
    (total_price_off_by_a_cent, "check_totals"),
    (unit_price_not_to_the_cent, "check_prices_to_the_cent"),
    (unknown_source, "check_sources"),
    (source_of_another_supplier, "check_sources"),
    (row_repeated, "check_sources"),
    (unserved_without_reason, "schema"),
    (unserved_line_not_listed, "check_unserved"),
    (served_line_listed_unserved, "check_unserved"),
    (bound_below_award, "check_bounds"),
    (optimal_with_a_gap, "check_bounds"),
]


def _award_check(name: str, doc: Doc, result: Doc) -> list[Any]:
    if name == "schema":
        return av.schema.check(result, "award-output")
    check = getattr(av, name)
    assert check in av.CHECKS
    return check(av.read(doc, result))


@pytest.mark.parametrize(("corrupt", "check"), AWARD_CORRUPTIONS, ids=[c.__name__ for c, _ in AWARD_CORRUPTIONS])
def test_every_award_corruption_is_caught_by_its_rule(corrupt: Corruption, check: str) -> None:
    applied = 0
    for k, (doc, result) in enumerate(award_cases()):
        made = corrupt(doc, result, random.Random(k))
        if made is None:
            continue
        applied += 1
        bad_doc, bad = made
        assert _award_check(check, bad_doc, bad), (k, corrupt.__name__)
        assert av.validate_award(bad_doc, bad), (k, corrupt.__name__)
    assert applied >= 1, "no valid result could be corrupted this way: widen the set"


# -- pooling corruptions ---------------------------------------------------------------------


def _lots(result: Doc, *, members: int = 1) -> list[int]:
    return [i for i, lot in enumerate(result["lots"]) if len(lot["members"]) >= members]


def _line(doc: Doc, line_id: str) -> Doc:
    return next(d for d in doc["demand"] if d["id"] == line_id)


def on_a_lot(members: int = 1) -> Callable[[Callable[[Doc, Doc, Doc, random.Random], bool | None]], Corruption]:
    """Like on_a_row, around one lot (of at least `members` members) of copies of the input and result."""

    def wrap(mutate: Callable[[Doc, Doc, Doc, random.Random], bool | None]) -> Corruption:
        @functools.wraps(mutate)
        def corrupt(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
            lots = _lots(result, members=members)
            if not lots:
                return None
            doc, result = copy.deepcopy(doc), copy.deepcopy(result)
            return None if mutate(doc, result, result["lots"][rng.choice(lots)], rng) is False else (doc, result)

        return corrupt

    return wrap


@on_a_lot(members=2)
def lot_mixes_segments(doc: Doc, result: Doc, lot: Doc, rng: random.Random) -> None:
    _line(doc, rng.choice(lot["members"])["demand"])["segment"] = "another segment"


@on_a_lot(members=2)
def lot_mixes_windows(doc: Doc, result: Doc, lot: Doc, rng: random.Random) -> None:
    a, b = rng.sample(lot["members"], 2)
    _line(doc, a["demand"])["window"] = {"earliest": "2026Q1", "latest": "2026Q2"}
    _line(doc, b["demand"])["window"] = {"earliest": "2026Q3", "latest": "2026Q4"}


@on_a_lot()
def member_refuses_charging(doc: Doc, result: Doc, lot: Doc, rng: random.Random) -> None:
    _line(doc, rng.choice(lot["members"])["demand"])["requirements"]["charging"] = ["another standard"]


@on_a_lot()
def member_too_far_below(doc: Doc, result: Doc, lot: Doc, rng: random.Random) -> bool | None:
    # the deepest region under the lot's, and no level up allowed
    below = [r["code"] for r in REGIONS if r["parent"] == lot["region"]]
    if not below:
        return False
    _line(doc, rng.choice(lot["members"])["demand"])["region"] = below[0]
    doc["rules"]["max_levels_up"] = 0
    return None


@on_a_lot()
def lot_region_not_above_member(doc: Doc, result: Doc, lot: Doc, rng: random.Random) -> None:
    lot["region"] = "B1" if not any(_line(doc, m["demand"])["region"] == "B1" for m in lot["members"]) else "A1x"


@on_a_lot()
def lot_window_not_the_intersection(doc: Doc, result: Doc, lot: Doc, rng: random.Random) -> None:
    lot["window"]["latest"] = "2030Q4"


@on_a_lot()
def lot_requirements_too_lax(doc: Doc, result: Doc, lot: Doc, rng: random.Random) -> None:
    lot["requirements"]["min_range_km"] -= 1


@on_a_lot()
def lot_quantity_not_the_sum(doc: Doc, result: Doc, lot: Doc, rng: random.Random) -> None:
    lot["quantity"] += 1


def lot_outside_size_limits(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    lots = [i for i in _lots(result) if result["lots"][i]["quantity"] > 1]
    if not lots:
        return None
    q = result["lots"][rng.choice(lots)]["quantity"]
    doc = copy.deepcopy(doc)
    rules = doc["rules"]
    rules["max_lot_quantity"] = q - 1
    rules["min_lot_quantity"] = min(rules["min_lot_quantity"], q - 1)
    return doc, result


def whole_line_split_in_a_lot(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    found = [
        (i, j)
        for i, lot in enumerate(result["lots"])
        for j, m in enumerate(lot["members"])
        if m["quantity"] > 1 and not _line(doc, m["demand"])["splittable"]
    ]
    if not found:
        return None
    i, j = rng.choice(found)
    result = copy.deepcopy(result)
    result["lots"][i]["members"][j]["quantity"] -= 1
    return doc, result


@on_a_lot()
def whole_line_in_two_lots(doc: Doc, result: Doc, lot: Doc, rng: random.Random) -> bool | None:
    if _line(doc, lot["members"][0]["demand"])["splittable"]:
        return False
    result["lots"].append(copy.deepcopy(lot) | {"id": "lot-copy"})
    return None


@on_a_lot()
def member_listed_twice(doc: Doc, result: Doc, lot: Doc, rng: random.Random) -> None:
    lot["members"].append(dict(lot["members"][0]))


def duplicate_lot_id(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    if len(result["lots"]) < 2:
        return None
    result = copy.deepcopy(result)
    result["lots"][1]["id"] = result["lots"][0]["id"]
    return doc, result


def unknown_region(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    if not result["lots"]:
        return None
    result = copy.deepcopy(result)
    rng.choice(result["lots"])["region"] = "Atlantis"
    return doc, result


def unpooled_missing(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    if not result["unpooled"]:
        return None
    result = copy.deepcopy(result)
    result["unpooled"].remove(rng.choice(result["unpooled"]))
    return doc, result


def pooled_stats_wrong(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    result = copy.deepcopy(result)
    key = rng.choice(("total_quantity", "pooled_quantity", "lots", "spread"))
    result["stats"][key] += 1
    return doc, result


def vehicle_bound_below_pooled(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    if not result["stats"]["pooled_quantity"]:
        return None
    result = copy.deepcopy(result)
    result["stats"]["bound"] = result["stats"]["pooled_quantity"] - 1
    return doc, result


def pooling_optimal_with_a_gap(doc: Doc, result: Doc, rng: random.Random) -> tuple[Doc, Doc] | None:
    if result["status"] != "OPTIMAL":
        return None
    result = copy.deepcopy(result)
    result["stats"]["bound"] += 1
    return doc, result


POOLING_CORRUPTIONS: list[tuple[Corruption, str]] = [
    (lot_mixes_segments, "check_segment"),
    (lot_mixes_windows, "check_window"),
    (member_refuses_charging, "check_charging"),
    (member_too_far_below, "check_region_levels"),
    (lot_region_not_above_member, "check_region_levels"),
    (lot_window_not_the_intersection, "check_window"),
    (lot_requirements_too_lax, "check_requirements"),
    (lot_quantity_not_the_sum, "check_lot_quantity"),
    (lot_outside_size_limits, "check_lot_size"),
    (whole_line_split_in_a_lot, "check_whole_lines"),
    (whole_line_in_two_lots, "check_whole_lines"),
    (member_listed_twice, "check_members_known"),
    (duplicate_lot_id, "check_lot_ids"),
    (unknown_region, "check_regions_known"),
    (unpooled_missing, "check_unpooled"),
    (pooled_stats_wrong, "check_stats"),
    (vehicle_bound_below_pooled, "check_bounds"),
    (pooling_optimal_with_a_gap, "check_bounds"),
]


@pytest.mark.parametrize(("corrupt", "check"), POOLING_CORRUPTIONS, ids=[c.__name__ for c, _ in POOLING_CORRUPTIONS])
def test_every_pooling_corruption_is_caught_by_its_rule(corrupt: Corruption, check: str) -> None:
    applied = 0
    for k, (doc, result) in enumerate(pooling_cases()):
        made = corrupt(doc, result, random.Random(k))
        if made is None:
            continue
        applied += 1
        bad_doc, bad = made
        named = getattr(pv, check)
        assert named in pv.CHECKS
        assert named(pv.read(pv.parse(bad_doc), bad)), (k, corrupt.__name__)
        assert pv.validate_pooling(bad_doc, bad), (k, corrupt.__name__)
    assert applied >= 1, "no valid result could be corrupted this way: widen the set"
