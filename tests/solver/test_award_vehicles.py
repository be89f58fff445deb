"""The search in the lots an award serves below their bound (solver.award.vehicles): it only adds
vehicles (never loses any, never a worse award), its awards are valid, it repeats itself exactly,
the per-lot caps it aims at bound every award, and large rounds use it before the neighbourhood
search."""

from __future__ import annotations

import importlib
import time

import pytest

from bench.award_instances import make_round
from solver.award import award, validate_award
from solver.award.bounds import lot_vehicle_caps, vehicle_bound
from solver.award.greedy import starts
from solver.award.instance import parse
from solver.award.prep import prepare
from solver.award.solution import objective, to_output
from solver.award.vehicles import more_vehicles, served_per_lot

# 30 lots x 5 OEMs: a winner limit and few offers per lot leave the greedy start 69 vehicles
# short of what the short lots can take (777 -> 846 of a bound of 872, 0.6 units of work).
DOC = make_round(30, 5, 100, seed=5)


def _run(doc: dict, work: float) -> tuple:
    inst = parse(doc)
    prep = prepare(inst)
    first = starts(inst, prep)[0]
    sol, spent, ended = more_vehicles(inst, prep, first, deadline=time.monotonic() + 600, work_limit=work)
    return inst, prep, first, sol, spent, ended


def test_short_lots_gain_vehicles_validly_and_the_search_repeats_itself() -> None:
    inst, prep, first, sol, spent, ended = _run(DOC, 3.0)
    v0 = objective(inst, first)[0]
    v, c = objective(inst, sol)
    assert v > v0 + 50  # 777 -> 846
    assert v <= vehicle_bound(inst, prep)
    assert ended == "done" and spent <= 3.0
    out = to_output(inst, prep, sol, status="FEASIBLE", bound_quantity=v, bound_cents=c, seconds=0.0, search="t")
    assert validate_award(DOC, out) == []
    again = _run(DOC, 3.0)[3]
    assert again == sol


def test_the_search_proves_every_short_lot_settled_within_its_work() -> None:
    """Sub-rounds prove the most vehicles only (not then the lowest price): on this 60-lot round
    the search ends "done" (no short lot can gain in its largest neighbourhoods) at 2,157
    vehicles on 2.5 of its 3 units; proving the price too, it was still at work when they ran out."""
    inst, _, first, sol, spent, ended = _run(make_round(60, 6, 200, seed=4), 3.0)
    assert objective(inst, first)[0] == 2005
    assert (objective(inst, sol)[0], ended) == (2157, "done")
    assert spent < 3.0


def test_the_work_limit_ends_it_and_it_never_returns_a_worse_award() -> None:
    inst, _, first, sol, _, ended = _run(DOC, 0.05)
    assert ended == "work"
    assert (objective(inst, sol)[0], -objective(inst, sol)[1]) >= (
        objective(inst, first)[0],
        -objective(inst, first)[1],
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_each_lots_cap_bounds_what_the_proven_optimum_serves_there(seed: int) -> None:
    doc = make_round(8, 4, 30, seed=seed)
    result = award(doc, time_limit=120, work_limit=30, backups=False)
    assert result["status"] == "OPTIMAL"
    inst = parse(doc)
    prep = prepare(inst)
    caps = lot_vehicle_caps(inst, prep)
    served: dict[str, int] = {}
    for row in result["awards"]:
        served[row["lot"]] = served.get(row["lot"], 0) + row["quantity"]
    for i, lot in enumerate(inst.lots):
        assert served.get(lot.id, 0) <= caps[i], lot.id
    assert sum(caps) >= result["awarded_quantity"]


def test_large_rounds_search_the_short_lots_first(monkeypatch) -> None:
    module = importlib.import_module("solver.award")
    monkeypatch.setattr(module, "MAX_GLOBAL_PRICE_VARS", 0)
    # from the plain starts (solver.award.repair's vehicle-first repair reaches 846 here on its own)
    monkeypatch.setattr(importlib.import_module("solver.award.repair"), "MIN_SHORT", 1.0)
    with_it = award(DOC, time_limit=300, work_limit=0.3, backups=False)
    monkeypatch.setattr(module, "VEHICLE_SHARE", 0.0)
    without = award(DOC, time_limit=300, work_limit=0.3, backups=False)
    assert with_it["stats"]["limits"]["stopped_by"] == "work" == without["stats"]["limits"]["stopped_by"]
    assert validate_award(DOC, with_it) == []
    assert with_it["awarded_quantity"] > without["awarded_quantity"]


def test_served_per_lot_counts_bids_and_package_items() -> None:
    inst = parse(DOC)
    sol = starts(inst, prepare(inst))[0]
    assert sum(served_per_lot(inst, sol)) == objective(inst, sol)[0]


def test_a_window_covering_the_round_proves_the_most_vehicles_and_the_bound_holds_above_it() -> None:
    """bench.award_vehicles --ceiling: its window sweep never loses vehicles and, with one window
    over every lot proven, reaches the true maximum, which the award's Lagrangian vehicle bound
    must not undercut (here it is one vehicle above it)."""
    from bench.award_vehicles import ceiling, window_sweep

    inst, _, first, _, _, _ = _run(DOC, 0.0)
    sol, windows, proven = window_sweep(inst, first, width=30, step=15, sub_work=5.0)
    assert (windows, proven) == (1, 1)
    most, cents = objective(inst, sol)
    out = to_output(
        inst, prepare(inst), sol, status="FEASIBLE", bound_quantity=most, bound_cents=cents, seconds=0.0, search="t"
    )
    assert validate_award(DOC, out) == []
    assert most > objective(inst, first)[0]
    r = ceiling(DOC, 0.3)
    assert r["sweeps"][-1][2] == most
    assert r["search"][1] <= most <= r["lagrange"] <= r["lp"] <= r["cheap"]


def _allocations(inst, prep) -> set:  # type: ignore[no-untyped-def]
    """Every award of the round's model (bids' and packages' line allocations), enumerated."""
    from ortools.sat.python import cp_model

    from solver.award.cpsat import AwardModel

    model = AwardModel(inst, prep)
    found: set = set()

    class _All(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            sol = model.extract(self.value)
            found.add((tuple(sorted((b, tuple(sorted(a.items()))) for b, a in sol.bids.items())), str(sol.packages)))

    solver = cp_model.CpSolver()
    solver.parameters.enumerate_all_solutions = True
    solver.parameters.num_workers = 1
    solver.parameters.cp_model_presolve = False
    solver.solve(model.model, _All())
    return found


def test_merged_tiers_keep_exactly_the_same_awards() -> None:
    """The vehicles-only sub-rounds merge the tiers of a bid that reach the same lines
    (vehicles.merged_tiers): on tiny random rounds the merged model has exactly the awards of the
    model as before (every one enumerated), with fewer variables on some."""
    import random

    from solver.award.cpsat import model_size
    from solver.award.solution import Solution
    from solver.award.vehicles import merged_tiers
    from tests.solver.award_helpers import tiny_round

    rng = random.Random(17)
    smaller = 0
    for _ in range(100):
        doc = tiny_round(rng, max_lines=4)
        inst = parse(doc)
        prep = prepare(inst)
        merged = merged_tiers(inst, prep, Solution())
        smaller += model_size(inst, merged) < model_size(inst, prep)
        assert _allocations(inst, merged) == _allocations(inst, prep)
    assert smaller >= 10


@pytest.mark.parametrize("seed", [4, 6])
def test_exact_lot_caps_are_each_lots_own_maximum_below_the_cheap_caps(seed: int, monkeypatch) -> None:
    """vehicles.exact_lot_caps: per lot the most vehicles of the lot's own model (every rule of the
    lot, its package items free), as CP-SAT proves it there, where the award serves below the
    cheap cap; the cheap cap where it serves that much. On these few-suppliers-like rounds whole
    lines and overlapping options leave some lots' cheap caps out of reach (a lower bound)."""
    from solver.award import lagrange
    from solver.award.vehicles import exact_lot_caps

    doc = make_round(60, 6, 200, seed=seed)
    inst, prep = parse(doc), prepare(parse(doc))
    cheap = lot_vehicle_caps(inst, prep)
    nothing = [0] * len(inst.lots)  # every lot short: every lot solved
    caps = exact_lot_caps(inst, prep, nothing)
    monkeypatch.setattr(lagrange, "EXACT_DP", False)  # CP-SAT on each lot's own model instead
    most = lagrange.Multipliers("vehicles", {}, 0, {})
    for part in lagrange.lot_parts(inst, prep):
        proven = lagrange._lot_min(inst, part, most, 60.0, 50.0)
        assert proven is not None
        assert caps[part.lot] == min(cheap[part.lot], -proven // lagrange.VEHICLE_SCALE), part.lot
    assert sum(caps) < sum(cheap)
    sol = starts(inst, prep)[0]
    served = served_per_lot(inst, sol)
    assert all(s <= c for s, c in zip(served, caps, strict=True))
    # asked with an award: only its short lots are solved; a lot it serves at the cheap cap keeps it
    again = exact_lot_caps(parse(doc), prep, served)
    assert again == [cheap[i] if served[i] >= cheap[i] else caps[i] for i in range(len(caps))]
    assert again == caps  # (a lot served at its cheap cap is at its maximum)


def test_large_rounds_report_the_exact_per_lot_vehicle_bound(monkeypatch) -> None:
    """The large path's bound on vehicles is the sum of the exact per-lot caps (below the cheap
    bound here), before any search or LP."""
    from solver.award.vehicles import exact_lot_caps

    monkeypatch.setattr(importlib.import_module("solver.award"), "MAX_GLOBAL_PRICE_VARS", 0)
    doc = make_round(60, 6, 200, seed=4)
    inst, prep = parse(doc), prepare(parse(doc))
    result = award(doc, exact=False, backups=False)
    exact = sum(exact_lot_caps(inst, prep, [0] * len(inst.lots)))
    assert exact < vehicle_bound(inst, prep)
    assert result["stats"]["bound_quantity"] == exact
    assert validate_award(doc, result) == []


def test_a_short_lots_neighbourhood_takes_the_packages_of_its_own_optimum_first() -> None:
    """Lot 31 of this round (6 vehicles of its 19) reaches its maximum only with package 55, the
    fourth of its packages by index: within 6 lots the neighbourhood holds all of 55's lots (a
    sub-round can award only a package wholly inside), where by index it held lots of others."""
    from solver.award.vehicles import _Around, exact_lot_caps, optimum_packages

    doc = make_round(60, 6, 200, seed=4)
    inst, prep = parse(doc), prepare(parse(doc))
    sol = starts(inst, prep)[0]
    served = served_per_lot(inst, sol)
    caps = exact_lot_caps(inst, prep, served)
    assert (served[31], caps[31]) == (6, 19)
    wanted = optimum_packages(inst, prep, 31)
    assert wanted == (55,)
    near = _Around(inst).lots(sol, 31, 6, wanted)
    assert {it.lot for it in inst.packages[55].items} <= set(near)
    assert not {it.lot for it in inst.packages[55].items} <= set(_Around(inst).lots(sol, 31, 6))
