"""Package moves chosen exactly over a neighbourhood (solver.award.deepmoves): past chains' last
gaining pass they still gain; with a neighbourhood as large as the round and capacities that do
not bind they reach the package-set program's optimum (vehmaster); their awards are valid and
repeat themselves; far starts make them (solver.award.vehicles)."""

from __future__ import annotations

import time

import pytest

from bench.award_instances import make_round
from solver.award import chains, deepmoves, validate_award, vehicles, vehmaster
from solver.award.greedy import starts
from solver.award.instance import parse
from solver.award.prep import prepare
from solver.award.solution import objective, to_output
from solver.award.vehicles import exact_lot_caps, served_per_lot

# capacities far above any award: the program's optimum is the round's most vehicles
DOC = make_round(80, 6, 300, seed=3, capacity_share=(10.0, 10.0))


def _after_chains():  # type: ignore[no-untyped-def]
    inst = parse(DOC)
    prep = prepare(inst)
    first = starts(inst, prep)[0]
    caps = exact_lot_caps(inst, prep, served_per_lot(inst, first))
    sol, _, ended = chains.more_vehicles(inst, prep, first, caps, deadline=time.monotonic() + 600, work_limit=30.0)
    assert ended == "done"
    return inst, prep, sol, caps


def test_a_whole_round_neighbourhood_reaches_the_programs_optimum(monkeypatch: pytest.MonkeyPatch) -> None:
    inst, prep, after, caps = _after_chains()
    monkeypatch.setattr(deepmoves, "DEPTH", 10)
    monkeypatch.setattr(deepmoves, "MAX_LOTS", 10_000)
    monkeypatch.setattr(deepmoves, "MAX_SETS", 10**7)
    monkeypatch.setattr(deepmoves, "MASTER_WORK", 20.0)

    def run():  # type: ignore[no-untyped-def]
        return deepmoves.more_vehicles(inst, prep, after, caps, deadline=time.monotonic() + 600, work_limit=30.0)

    sol, spent, ended = run()
    got = vehmaster.tables(inst, prep, 10**6)
    assert got is not None
    bound, _, _ = vehmaster.best_choice(got[0], got[1], set(after.packages), work_limit=30.0)
    v, c = objective(inst, sol)
    assert objective(inst, after)[0] < v == bound  # chains stop at 2,928; the optimum is 2,945
    assert ended == "done" and spent <= 30.0
    out = to_output(inst, prep, sol, status="FEASIBLE", bound_quantity=v, bound_cents=c, seconds=0.0, search="t")
    assert validate_award(DOC, out) == []
    assert run()[0] == sol


def test_the_work_limit_ends_them() -> None:
    inst, prep, after, caps = _after_chains()
    sol, _, ended = deepmoves.more_vehicles(inst, prep, after, caps, deadline=time.monotonic() + 600, work_limit=0.001)
    assert ended == "work" and objective(inst, sol)[0] >= objective(inst, after)[0]


def test_far_starts_make_the_package_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    inst = parse(DOC)
    prep = prepare(inst)
    first = starts(inst, prep)[0]
    monkeypatch.setattr(vehicles, "FAR_SHORT", 0.0)  # (this start is 2.1 % short: far either way)
    monkeypatch.setattr(vehicles, "EXACT_MOST", False)  # the moves alone
    calls: list[str] = []
    for module in (chains, deepmoves):
        real = module.more_vehicles
        monkeypatch.setattr(
            module,
            "more_vehicles",
            lambda *a, real=real, name=module.__name__, **k: calls.append(name) or real(*a, **k),
        )
    sol, spent, _ = vehicles.more_vehicles(inst, prep, first, deadline=time.monotonic() + 600, work_limit=1.0)
    assert calls == ["solver.award.chains", "solver.award.deepmoves"]
    assert spent == vehicles.FAR_CHARGE * 1.0 and objective(inst, sol)[0] > objective(inst, first)[0]
    monkeypatch.setattr(vehicles, "FAR_MOVES", 0.0)
    calls.clear()
    vehicles.more_vehicles(inst, prep, first, deadline=time.monotonic() + 600, work_limit=1.0)
    assert calls == []
