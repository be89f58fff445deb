"""The vehicle-first repair of the greedy starts (solver.award.repair): more vehicles where the
price-driven constructions leave lots short, valid awards, never fewer vehicles than the plain
construction, the same result every time, and large rounds start from it."""

from __future__ import annotations

import pytest

from bench.award_instances import make_round
from solver.award import validate_award
from solver.award.bounds import vehicle_bound
from solver.award.greedy import plain_greedy, regret_greedy, starts
from solver.award.instance import parse
from solver.award.prep import prepare
from solver.award.solution import objective, to_output


def _valid(doc: dict, inst, prep, sol) -> bool:  # type: ignore[no-untyped-def]
    v, c = objective(inst, sol)
    out = to_output(inst, prep, sol, status="FEASIBLE", bound_quantity=v, bound_cents=c, seconds=0.0, search="t")
    return validate_award(doc, out) == []


def test_the_repair_serves_the_short_lots() -> None:
    # 30 lots x 5 OEMs, winner limit 3: the plain starts 777 and 683 vehicles of a bound of 872;
    # repaired 846 and 846 (846 is what solver.award.vehicles' exact sub-rounds reach in 0.6 units;
    # without the package swaps, repair.SWAP_ROUNDS = 0, the second reached 813)
    doc = make_round(30, 5, 100, seed=5)
    inst, prep = parse(doc), prepare(parse(doc))
    old = [objective(inst, s)[0] for s in starts(inst, prep)]
    new = starts(inst, prep, repair=True)
    assert old == [777, 683]
    assert [objective(inst, s)[0] for s in new] == [846, 846]
    assert objective(inst, new[0])[0] <= vehicle_bound(inst, prep)
    assert all(_valid(doc, inst, prep, s) for s in new)
    assert starts(inst, prep, repair=True) == new


@pytest.mark.parametrize(
    ("shape", "rules"),
    [
        ((60, 6, 200, 4), {}),
        ((40, 8, 300, 1), {}),
        ((30, 5, 120, 7), {"line_service": "split"}),
        ((30, 5, 120, 8), {"max_winners": 2}),
        ((30, 5, 120, 9), {"max_winners": None}),
        ((30, 5, 120, 3), {"bundles": "arbitrary", "package_share": 0.6}),
    ],
)
def test_each_construction_repaired_is_valid_and_never_has_fewer_vehicles(shape: tuple, rules: dict) -> None:
    n_lots, n_oems, n_bids, seed = shape
    doc = make_round(n_lots, n_oems, n_bids, seed=seed, **rules)
    inst = parse(doc)
    prep = prepare(inst)
    for build in (plain_greedy, regret_greedy):
        plain, repaired = build(inst, prep), build(inst, prep, True)
        assert objective(inst, repaired)[0] >= objective(inst, plain)[0]
        assert _valid(doc, inst, prep, repaired)


def test_large_rounds_start_from_the_repaired_construction() -> None:
    # few-suppliers' shape at 2,000 bids, seed 2 (above the whole-model size): the plain starts 15,278
    # and 14,911 vehicles, repaired 15,960 and 15,941 (15,760 and 15,742 without the package swaps)
    doc = make_round(400, 20, 2000, seed=2)
    inst = parse(doc)
    prep = prepare(inst)
    from solver.award import award

    out = award(doc, exact=False, backups=False)
    assert out["awarded_quantity"] == objective(inst, starts(inst, prep, repair=True)[0])[0] == 15960


def test_package_swaps_serve_more_than_the_moves_before_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """A package not awarded taken in place of one or two awarded ones it shares a lot with
    (repair._swap_move): few-suppliers' shape at 2,000 bids, seed 1, the regret start 14,826 -> 15,009
    vehicles, still valid."""
    from solver.award import repair

    doc = make_round(400, 20, 2000, seed=1)
    inst = parse(doc)
    prep = prepare(inst)
    with_swaps = regret_greedy(inst, prep, True)
    monkeypatch.setattr(repair, "SWAP_ROUNDS", 0)
    before = regret_greedy(inst, prep, True)
    assert (objective(inst, before)[0], objective(inst, with_swaps)[0]) == (14826, 15009)
    assert _valid(doc, inst, prep, with_swaps)


def test_the_first_construction_is_reported_before_the_repair_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The repair's moves take seconds on large rounds (8 s of CPU for both starts of few-suppliers
    at 10,000 bids), so the first feasible award is reported before them: the plain construction as
    it is, then the repaired start; the award itself is the same with or without a progress callback."""
    from solver.award import award, repair

    doc = make_round(400, 20, 2000, seed=1)  # few-suppliers' shape: a large round, repaired
    inst = parse(doc)
    plain = objective(inst, plain_greedy(inst, prepare(inst)))[0]
    events: list = []
    moves = repair.repair_lots

    def spy(st, prep) -> None:  # type: ignore[no-untyped-def]
        events.append("repair")
        moves(st, prep)

    monkeypatch.setattr(repair, "repair_lots", spy)
    out = award(doc, exact=False, backups=False, progress=lambda p: events.append((p.phase, p.quantity)))
    assert events[:2] == [("greedy", plain), "repair"]
    repaired = out["awarded_quantity"]
    assert events[-2:] == [("greedy", repaired), ("done", repaired)] and repaired > plain

    def without_time(result: dict) -> dict:
        return {**result, "stats": {k: v for k, v in result["stats"].items() if k != "solve_seconds"}}

    assert without_time(out) == without_time(award(doc, exact=False, backups=False))
