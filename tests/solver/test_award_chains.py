"""Package moves scored exactly per lot (solver.award.chains): each lot's value is its own maximum
under the package decision, the moves only add vehicles, their awards are valid and repeat
themselves exactly, and large rounds make them after the search in the short lots."""

from __future__ import annotations

import importlib
import time

from bench.award_instances import make_round
from solver.award import award, validate_award
from solver.award.chains import _Lots, more_vehicles
from solver.award.greedy import starts
from solver.award.instance import parse
from solver.award.prep import prepare
from solver.award.solution import objective, to_output
from solver.award.vehicles import exact_lot_caps, served_per_lot

DOC = make_round(80, 6, 300, seed=3)


def test_a_lots_value_with_every_package_free_is_its_exact_cap_and_decisions_only_lower_it() -> None:
    inst = parse(DOC)
    prep = prepare(inst)
    caps = exact_lot_caps(inst, prep, [0] * len(inst.lots))
    lots = _Lots(inst, prep)
    sol = starts(inst, prep)[0]
    served = served_per_lot(inst, sol)
    chosen = frozenset(sol.packages)
    for lot in range(len(inst.lots)):
        here = frozenset(p for p, pkg in enumerate(inst.packages) if any(it.lot == lot for it in pkg.items))
        free = lots.best(lot, frozenset(), here)
        assert free is not None and free[0] == caps[lot]
        # the award's own decision: the lot serves at most its value there, at least what it serves
        decided = lots.best(lot, chosen & here)
        assert decided is not None and served[lot] <= decided[0] <= caps[lot]
        none = lots.best(lot, frozenset())
        assert none is not None and none[0] <= free[0]


def test_the_moves_gain_vehicles_validly_and_repeat_themselves() -> None:
    inst = parse(DOC)
    prep = prepare(inst)
    first = starts(inst, prep)[0]
    caps = exact_lot_caps(inst, prep, served_per_lot(inst, first))

    def run() -> tuple:
        return more_vehicles(inst, prep, first, caps, deadline=time.monotonic() + 600, work_limit=3.0)

    sol, spent, ended = run()
    v0 = objective(inst, first)[0]
    v, c = objective(inst, sol)
    assert v > v0 + 200  # 2,695 -> 2,928 of 2,972
    assert v <= sum(caps)
    assert ended == "done" and spent <= 3.0
    out = to_output(inst, prep, sol, status="FEASIBLE", bound_quantity=v, bound_cents=c, seconds=0.0, search="t")
    assert validate_award(DOC, out) == []
    assert run()[0] == sol


def test_the_work_limit_ends_them() -> None:
    inst = parse(DOC)
    prep = prepare(inst)
    first = starts(inst, prep)[0]
    caps = exact_lot_caps(inst, prep, served_per_lot(inst, first))
    sol, _, ended = more_vehicles(inst, prep, first, caps, deadline=time.monotonic() + 600, work_limit=0.01)
    assert ended == "work"
    assert objective(inst, sol)[0] >= objective(inst, first)[0]


def test_large_rounds_make_the_moves_after_the_search_in_the_short_lots(monkeypatch) -> None:
    module = importlib.import_module("solver.award")
    monkeypatch.setattr(module, "MAX_GLOBAL_PRICE_VARS", 0)
    monkeypatch.setattr(importlib.import_module("solver.award.repair"), "MIN_SHORT", 1.0)
    # the search's sub-rounds, not the far starts' own package moves (vehicles.FAR_MOVES), before them
    monkeypatch.setattr(importlib.import_module("solver.award.vehicles"), "FAR_MOVES", 0.0)
    # a work limit that ends the search in the short lots early
    with_them = award(DOC, time_limit=300, work_limit=0.2, backups=False)
    monkeypatch.setattr(module, "CHAIN_SHARE", 0.0)
    without = award(DOC, time_limit=300, work_limit=0.2, backups=False)
    assert validate_award(DOC, with_them) == []
    assert with_them["awarded_quantity"] > without["awarded_quantity"]
