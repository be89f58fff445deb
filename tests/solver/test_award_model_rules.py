"""Each rule module of the award model (solver.award.rules) on its own: a feasible and a violating award.

In the style of cpsat-primer's examples: build the variables (tiers and packages) and only the
rule under test, fix every allocation to a small hand-made award, and let CP-SAT say whether the
rule admits it. The violating award of each pair breaks only that rule, so the test fails if the
module stops stating it (and the feasible one fails if it states too much).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ortools.sat.python import cp_model

from solver.award.instance import parse
from solver.award.prep import prepare
from solver.award.rules import capacity, line_service, packages, share_caps, tiers, winners
from solver.award.rules.variables import Families

Allocation = dict[str, dict[str, int]]  # source id -> {line id: vehicles}


def round_doc(
    lines: dict[str, dict[str, int]],
    bids: list[tuple[str, str, str, int, int, list[tuple[int, int]]]],
    packages_: list[tuple[str, str, list[tuple[str, int, int]]]] | None = None,
    *,
    capacity_: dict[str, int] | None = None,
    **rules: Any,
) -> dict[str, Any]:
    """lines: lot -> {line: quantity} (reserve 1000); bids: (id, supplier, lot, min, max, tiers
    [(min, price)]); packages: (id, supplier, items [(lot, quantity, price)])."""
    packages_ = packages_ or []
    suppliers = sorted({b[1] for b in bids} | {p[1] for p in packages_})
    return {
        "rules": {"line_service": "split", **rules},
        "suppliers": [{"id": s, "capacity": (capacity_ or {}).get(s, 100)} for s in suppliers],
        "lots": [
            {"id": lot, "demand": [{"id": d, "quantity": q, "max_unit_price": 1000} for d, q in ds.items()]}
            for lot, ds in lines.items()
        ],
        "bids": [
            {
                "id": bid,
                "supplier": s,
                "lot": lot,
                "min_quantity": lo,
                "max_quantity": hi,
                "tiers": [{"min_quantity": m, "unit_price": p} for m, p in ts],
            }
            for bid, s, lot, lo, hi, ts in bids
        ],
        "packages": [
            {"id": pid, "supplier": s, "items": [{"lot": lot, "quantity": q, "unit_price": p} for lot, q, p in items]}
            for pid, s, items in packages_
        ],
    }


def admits(
    doc: dict[str, Any], award: Allocation, *rules: Callable[[Families], None], chosen: dict[str, int] | None = None
) -> bool:
    """Whether the model made of the variables and `rules` admits `award` (every allocation fixed;
    a tier is chosen by its bid's quantity unless `chosen` fixes tier booleans by "bid#tier")."""
    inst = parse(doc)
    f = Families(cp_model.CpModel(), inst, prepare(inst))
    tiers.add(f)
    packages.add(f)
    for rule in rules:
        rule(f)
    m = f.model
    line_ids = [line.id for line in inst.lines]

    def fixed(got: dict[str, int], li: int, unit: int) -> int:
        v = got.get(line_ids[li], 0)
        return int(bool(v)) if unit > 1 else v

    for t in f.tiers:
        bid = inst.bids[t.opt.bid]
        got = award.get(bid.id, {})
        q = sum(got.values())
        on = bool(q) and bid.tier_at(q) == t.opt.tier
        if chosen is not None and f"{bid.id}#{t.opt.tier}" in chosen:
            on = bool(chosen[f"{bid.id}#{t.opt.tier}"])
        m.add(t.chosen == int(on))
        for a in t.lines:
            m.add(a.var == (fixed(got, a.line, a.unit) if on else 0))
    for p in f.packages:
        pid = inst.packages[p.opt.package].id
        m.add(p.chosen == int(pid in award))
        for it in p.items:
            for a in it.lines:
                m.add(a.var == fixed(award.get(pid, {}), a.line, a.unit))
    missing = {src for src in award} - {b.id for b in inst.bids} - {p.id for p in inst.packages}
    assert not missing, missing
    status = cp_model.CpSolver().solve(m)
    assert status in (cp_model.OPTIMAL, cp_model.FEASIBLE, cp_model.INFEASIBLE)
    return status != cp_model.INFEASIBLE


# -- tiers ---------------------------------------------------------------------------------

TIERED = round_doc({"L1": {"d1": 4, "d2": 6}}, [("b1", "s1", "L1", 2, 10, [(2, 100), (8, 90)])])


def test_tiers_admit_a_quantity_in_its_tier_band() -> None:
    assert admits(TIERED, {"b1": {"d1": 4}})
    assert admits(TIERED, {"b1": {"d1": 4, "d2": 5}})  # 9: the second tier


def test_tiers_refuse_a_quantity_outside_the_bid_range() -> None:
    assert not admits(TIERED, {"b1": {"d1": 1}})


def test_tiers_refuse_a_quantity_outside_the_chosen_tier_band() -> None:
    assert not admits(TIERED, {"b1": {"d1": 4, "d2": 5}}, chosen={"b1#0": 1, "b1#1": 0})  # 9 is not priced at tier 0


def test_tiers_refuse_two_tiers_of_one_bid() -> None:
    assert admits(TIERED, {"b1": {"d1": 4}}, chosen={"b1#0": 1, "b1#1": 0})
    assert not admits(TIERED, {"b1": {"d1": 4}}, chosen={"b1#0": 1, "b1#1": 1})


# -- packages ------------------------------------------------------------------------------

PACKAGED = round_doc(
    {"L1": {"d1": 3}, "L2": {"d2": 2}}, [], [("p1", "s1", [("L1", 3, 100), ("L2", 2, 100)])]
)  # fmt: skip


def test_packages_admit_every_item_at_its_quantity() -> None:
    assert admits(PACKAGED, {"p1": {"d1": 3, "d2": 2}})
    assert admits(PACKAGED, {})


def test_packages_refuse_an_item_partly_awarded() -> None:
    assert not admits(PACKAGED, {"p1": {"d1": 3, "d2": 1}})
    assert not admits(PACKAGED, {"p1": {"d1": 3}})


# -- line service --------------------------------------------------------------------------

TWO_BIDS = [("b1", "s1", "L1", 1, 6, [(1, 100)]), ("b2", "s2", "L1", 1, 6, [(1, 100)])]


def test_line_service_admits_a_line_within_its_quantity() -> None:
    split = round_doc({"L1": {"d1": 6}}, TWO_BIDS)
    assert admits(split, {"b1": {"d1": 2}, "b2": {"d1": 4}}, line_service.add)
    whole = round_doc({"L1": {"d1": 6}}, TWO_BIDS, line_service="whole")
    assert admits(whole, {"b1": {"d1": 6}}, line_service.add)


def test_line_service_refuses_a_line_over_its_quantity_or_from_two_sources_when_whole() -> None:
    split = round_doc({"L1": {"d1": 6}}, TWO_BIDS)
    assert not admits(split, {"b1": {"d1": 3}, "b2": {"d1": 4}}, line_service.add)
    assert admits(split, {"b1": {"d1": 3}, "b2": {"d1": 4}})  # without the rule it would pass
    whole = round_doc({"L1": {"d1": 6}}, TWO_BIDS, line_service="whole")
    assert not admits(whole, {"b1": {"d1": 6}, "b2": {"d1": 6}}, line_service.add)


def test_serve_all_refuses_a_servable_line_left_short() -> None:
    split = round_doc({"L1": {"d1": 6}}, TWO_BIDS)

    def serve_all(f: Families) -> None:
        line_service.add(f, serve_all=True)

    assert admits(split, {"b1": {"d1": 2}, "b2": {"d1": 4}}, serve_all)
    assert not admits(split, {"b1": {"d1": 2}}, serve_all)


# -- capacity ------------------------------------------------------------------------------

TWO_LOTS = round_doc(
    {"L1": {"d1": 5}, "L2": {"d2": 5}},
    [("b1", "s1", "L1", 1, 5, [(1, 100)]), ("b2", "s1", "L2", 1, 5, [(1, 100)])],
    capacity_={"s1": 5},
)


def test_capacity_admits_a_supplier_within_it() -> None:
    assert admits(TWO_LOTS, {"b1": {"d1": 3}, "b2": {"d2": 2}}, capacity.add)


def test_capacity_refuses_a_supplier_over_it() -> None:
    assert not admits(TWO_LOTS, {"b1": {"d1": 3}, "b2": {"d2": 3}}, capacity.add)
    assert admits(TWO_LOTS, {"b1": {"d1": 3}, "b2": {"d2": 3}})


# -- winners per lot -----------------------------------------------------------------------

CROWDED = round_doc(
    {"L1": {"d1": 4, "d2": 4}},
    [("b1", "s1", "L1", 1, 4, [(1, 100)]), ("b2", "s2", "L1", 1, 4, [(1, 100)])],
    max_winners_per_lot=1,
)


def test_winners_admit_as_many_winners_as_the_limit() -> None:
    assert admits(CROWDED, {"b2": {"d1": 4}}, winners.add)


def test_winners_refuse_more_winners_than_the_limit() -> None:
    assert not admits(CROWDED, {"b1": {"d1": 4}, "b2": {"d2": 4}}, winners.add)
    assert admits(CROWDED, {"b1": {"d1": 4}, "b2": {"d2": 4}})


# -- share caps ----------------------------------------------------------------------------

SHARED = round_doc(
    {"L1": {"d1": 5, "d2": 5}},
    [("b1", "s1", "L1", 1, 5, [(1, 100)])],
    [("p1", "s1", [("L1", 4, 100)])],
    max_share_per_supplier=0.5,
)  # s1's cap in L1: 5 of 10


# s2 bids too, and one winner at most: the cap is then the bound of s1's winner indicator
SHARED_LIMITED = round_doc(
    {"L1": {"d1": 5, "d2": 5}},
    [("b1", "s1", "L1", 1, 5, [(1, 100)]), ("b2", "s2", "L1", 1, 5, [(1, 100)])],
    [("p1", "s1", [("L1", 4, 100)])],
    max_share_per_supplier=0.5,
    max_winners_per_lot=1,
)


@pytest.mark.parametrize("doc", [SHARED, SHARED_LIMITED], ids=["plain", "with-a-winner-limit"])
def test_share_caps_admit_a_supplier_within_its_share(doc: dict[str, Any]) -> None:
    assert admits(doc, {"b1": {"d1": 1}, "p1": {"d2": 4}}, winners.add)


@pytest.mark.parametrize("doc", [SHARED, SHARED_LIMITED], ids=["plain", "with-a-winner-limit"])
def test_share_caps_refuse_a_supplier_over_its_share(doc: dict[str, Any]) -> None:
    assert not admits(doc, {"b1": {"d1": 2}, "p1": {"d2": 4}}, winners.add)
    assert admits(doc, {"b1": {"d1": 2}, "p1": {"d2": 4}})
    inst = parse(doc)
    assert share_caps.cap(Families(cp_model.CpModel(), inst, prepare(inst)), 0, 0) == 5
