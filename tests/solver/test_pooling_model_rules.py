"""Each rule module of the pooling model (solver.pooling.rules) on its own: a feasible and a violating pooling.

As in tests/solver/test_award_model_rules.py: build the lots of one component (explicit form: one
copy per possible lot), add only the rule under test, fix every variable to a small hand-made
pooling and let CP-SAT say whether the rule admits it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ortools.sat.python import cp_model

from solver.pooling.components import Component, prepare
from solver.pooling.parse import parse
from solver.pooling.rules import lot_size, supply
from solver.pooling.rules.variables import LotCopy, new_copy

Rule = Callable[[cp_model.CpModel, Component, list[LotCopy], int, int], None]


def pooling_doc(quantities: list[int], lo: int, hi: int) -> dict[str, Any]:
    """Lines alike in everything but quantity (one segment, region, quarter and standard)."""
    return {
        "rules": {"min_lot_quantity": lo, "max_lot_quantity": hi, "max_levels_up": 0},
        "regions": [{"code": "W", "parent": None}],
        "demand": [
            {
                "id": f"d{i}",
                "segment": "bus",
                "region": "W",
                "quantity": q,
                "window": {"earliest": "2027Q1", "latest": "2027Q1"},
                "requirements": {"charging": ["CCS2"]},
            }
            for i, q in enumerate(quantities)
        ],
    }


def admits(doc: dict[str, Any], lots: list[dict[int, int]], rule: Rule) -> bool:
    """Whether `rule` admits these lots ({line quantity: lines of that quantity}, one dict per lot)."""
    inp = parse(doc)
    (comp,) = prepare(inp).components
    (slot,) = comp.slots
    lo, hi = inp.rules.min_lot, inp.rules.max_lot
    m = cp_model.CpModel()
    copies = [new_copy(m, comp, 0, k, m.new_bool_var(""), hi, True) for k in range(max(1, slot.total // lo))]
    rule(m, comp, copies, lo, hi)
    unit_of = {ci: cl.unit for ci, cl in enumerate(comp.classes)}
    for k, c in enumerate(copies):
        wanted = lots[k] if k < len(lots) else {}
        m.add(c.lots == int(bool(wanted)))
        for it in c.items:
            m.add(it.var == wanted.get(unit_of[it.klass], 0))
    status = cp_model.CpSolver().solve(m)
    assert status in (cp_model.OPTIMAL, cp_model.FEASIBLE, cp_model.INFEASIBLE)
    return status != cp_model.INFEASIBLE


def lot_size_rule(m: cp_model.CpModel, comp: Component, copies: list[LotCopy], lo: int, hi: int) -> None:
    for c in copies:
        lot_size.add(m, c, lo, hi)


def supply_rule(m: cp_model.CpModel, comp: Component, copies: list[LotCopy], lo: int, hi: int) -> None:
    supply.add(m, comp, copies)


def nothing(m: cp_model.CpModel, comp: Component, copies: list[LotCopy], lo: int, hi: int) -> None:
    pass


def test_lot_size_admits_a_lot_within_the_limits() -> None:
    assert admits(pooling_doc([3, 4], 5, 8), [{3: 1, 4: 1}], lot_size_rule)


def test_lot_size_refuses_a_lot_below_the_minimum_or_above_the_maximum() -> None:
    assert not admits(pooling_doc([3, 4], 5, 8), [{3: 1}], lot_size_rule)
    assert admits(pooling_doc([3, 4], 5, 8), [{3: 1}], nothing)
    assert not admits(pooling_doc([3, 4, 4], 5, 10), [{3: 1, 4: 2}], lot_size_rule)  # 11 > 10
    assert admits(pooling_doc([3, 4, 4], 5, 10), [{3: 1, 4: 2}], nothing)


def test_supply_admits_each_line_in_one_lot() -> None:
    assert admits(pooling_doc([3, 3, 3], 3, 6), [{3: 2}, {3: 1}], supply_rule)


def test_supply_refuses_more_lines_than_there_are() -> None:
    assert not admits(pooling_doc([3, 3, 3], 3, 6), [{3: 2}, {3: 2}], supply_rule)
    assert admits(pooling_doc([3, 3, 3], 3, 6), [{3: 2}, {3: 2}], nothing)
