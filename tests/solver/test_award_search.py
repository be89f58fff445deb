"""The search for large rounds: the constructive start (plain and regret greedy) and the
large-neighbourhood search. Their awards are valid, the start is never worse than either
construction, and the neighbourhood search only improves and repeats itself exactly."""

from __future__ import annotations

import random
import time

import pytest

from bench.award_instances import make_round
from solver.award import validate_award
from solver.award.greedy import greedy, plain_greedy, regret_greedy, starts
from solver.award.instance import parse
from solver.award.lns import improve_price
from solver.award.prep import prepare
from solver.award.solution import Solution, objective, to_output
from tests.solver.award_helpers import tiny_round


def _valid(doc: dict, sol: Solution) -> list:
    inst = parse(doc)
    v, c = objective(inst, sol)
    out = to_output(
        inst, prepare(inst), sol, status="FEASIBLE", bound_quantity=v, bound_cents=c, seconds=0.0, search="test"
    )
    return validate_award(doc, out)


def _key(inst, sol: Solution) -> tuple[int, int]:
    v, c = objective(inst, sol)
    return v, -c


def _rounds() -> list[dict]:
    docs = [tiny_round(random.Random(seed)) for seed in range(60)]
    for seed in range(4):
        docs.append(make_round(12, 6, 60, seed=seed))
        docs.append(make_round(12, 6, 60, seed=seed, package_share=0.6, package_lots=(2, 8), bundles="arbitrary"))
        docs.append(make_round(30, 4, 90, seed=seed, line_service="split"))
    return docs


def test_both_constructions_are_valid_and_the_start_is_the_better_of_them() -> None:
    regret_better = 0
    for doc in _rounds():
        inst = parse(doc)
        prep = prepare(inst)
        plain, regret, start = plain_greedy(inst, prep), regret_greedy(inst, prep), greedy(inst, prep)
        for sol in (plain, regret):
            assert _valid(doc, sol) == []
        assert _key(inst, start) == max(_key(inst, plain), _key(inst, regret))
        both = starts(inst, prep)  # what the neighbourhood search starts from: the better first
        assert both[0] == start and both == (
            [start] if plain == regret else [start, regret if start == plain else plain]
        )
        regret_better += _key(inst, regret) > _key(inst, plain)
    # The regret construction is not a copy of the plain one: it wins on some of these rounds.
    assert regret_better > 0


@pytest.mark.parametrize(
    "kw",
    [{}, {"package_share": 0.6, "package_lots": (2, 8), "bundles": "regions"}, {"line_service": "split"}],
    ids=["default", "package-heavy", "split"],
)
def test_neighbourhood_search_improves_validly_and_repeats_itself(kw: dict) -> None:
    doc = make_round(16, 6, 90, seed=3, **kw)
    inst = parse(doc)
    start = greedy(inst, prepare(inst))
    runs = []
    for _ in range(2):
        seen: list[Solution] = []
        sol, work, ended = improve_price(
            inst, start, deadline=time.monotonic() + 120, work_limit=1.0, on_improve=seen.append
        )
        assert ended == "work" and work >= 1.0  # it goes on until its budget ends
        assert _valid(doc, sol) == []
        assert _key(inst, sol) >= _key(inst, start)
        keys = [_key(inst, s) for s in seen]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)  # each reported award is better
        runs.append((sol.bids, sol.packages, keys))
    assert runs[0] == runs[1]  # same input, same budget: the same awards in the same order
    assert runs[0][2], "the search found nothing better than the greedy start"


def test_the_search_tries_the_other_greedy_start_and_goes_on_from_the_better() -> None:
    # A package-heavy round where the regret start, 15 vehicles short of the plain one but
    # cheaper per vehicle, leads to a better award within the same work than the plain start alone.
    doc = make_round(16, 6, 90, seed=10, package_share=0.6, package_lots=(2, 8), bundles="regions")
    inst = parse(doc)
    first, *others = starts(inst, prepare(inst))
    assert len(others) == 1 and _key(inst, first) > _key(inst, others[0])

    def search(seen: list[Solution], **kw) -> tuple[Solution, float, str]:
        return improve_price(inst, first, deadline=time.monotonic() + 120, work_limit=1.0, on_improve=seen.append, **kw)

    alone, _, _ = search([])
    seen: list[Solution] = []
    sol, work, ended = search(seen, others=others)
    assert ended == "work" and work >= 1.0
    assert _valid(doc, sol) == []
    assert _key(inst, sol) > _key(inst, alone)
    keys = [_key(inst, s) for s in seen]
    assert keys == sorted(keys) and len(set(keys)) == len(keys) and keys[-1] == _key(inst, sol)


def test_the_large_round_path_gives_the_same_bytes_beside_a_busy_neighbour(monkeypatch) -> None:
    import importlib
    import subprocess
    import sys

    from solver import io
    from solver.award import award

    # The neighbourhood search and the LP bounds of large rounds, forced on a mid-size round
    # with a small default budget (the module, not solver.award the function, holds them).
    module = importlib.import_module("solver.award")
    monkeypatch.setattr(module, "MAX_GLOBAL_PRICE_VARS", 0)
    monkeypatch.setattr(module, "DEFAULT_WORK_LNS_MAX", 2.0)
    monkeypatch.setattr(module, "MID_FACTOR", 1.0)  # the budget stays 2.0
    doc = make_round(16, 6, 90, seed=5, package_share=0.6, package_lots=(2, 8), bundles="arbitrary")

    def run() -> str:
        result = award(doc, time_limit=300)
        assert result["stats"]["search"] == "cp-sat+lns"
        assert result["stats"]["limits"] == {"work_limit": 2.0, "stopped_by": "work"}
        assert validate_award(doc, result) == []
        return io.dumps({**result, "stats": {k: v for k, v in result["stats"].items() if k != "solve_seconds"}})

    quiet = run()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # the neighbour
    try:
        loaded = run()
    finally:
        busy.kill()
        busy.wait()
    assert quiet == loaded


def test_neighbourhoods_start_where_the_award_can_still_gain() -> None:
    from solver.award.lns import _Shapes

    doc = make_round(16, 6, 90, seed=3)
    inst = parse(doc)
    sol = greedy(inst, prepare(inst))
    shapes = _Shapes(inst)
    shapes.update(sol)
    before = list(shapes.slack)
    # Leave one awarded bid's lines unserved: its lot's slack grows by more than the price it
    # saves (vehicles come first), so neighbourhoods start there far more often.
    bi = next(iter(sol.bids))
    lot = inst.bids[bi].lot
    shapes.update(Solution({b: a for b, a in sol.bids.items() if b != bi}, sol.packages))
    assert shapes.slack[lot] > before[lot]
    assert [s for i, s in enumerate(shapes.slack) if i != lot] == [s for i, s in enumerate(before) if i != lot]
    starts = [shapes._weighted_lot() for _ in range(400)]
    share = shapes.slack[lot] / sum(shapes.slack)
    assert starts.count(lot) > 0.5 * share * 400 > 1
    assert starts.count(lot) > 400 / len(inst.lots)  # more than a uniform draw would give it


def test_package_neighbourhoods_hold_whole_packages(monkeypatch) -> None:
    from solver.award import lns

    # A sub-round can award or drop only the packages wholly inside it: the package kind takes a
    # cluster of whole packages (lns.CLUSTERS), not one package's lots grown through suppliers.
    doc = make_round(40, 8, 300, seed=2, package_share=0.6, package_lots=(2, 8), bundles="arbitrary")
    inst = parse(doc)
    sol = greedy(inst, prepare(inst))
    pkg_lots = [{it.lot for it in p.items} for p in inst.packages]

    def census(clusters: bool) -> tuple[int, int]:
        monkeypatch.setattr(lns, "CLUSTERS", clusters)
        shapes = lns._Shapes(inst)
        shapes.update(sol)
        whole = cut = 0
        for _ in range(60):
            shapes.turn = 3  # the package kind each time (kinds in turn)
            kind, lots = shapes.next(8)
            assert kind == "package"
            assert len(lots) <= 8 and lots == sorted(set(lots))
            inside = set(lots)
            whole += sum(pl <= inside for pl in pkg_lots)
            cut += sum(bool(pkg_lots[pi] & inside) and not pkg_lots[pi] <= inside for pi in sol.packages)
        return whole, cut

    whole_before, cut_before = census(False)
    whole, cut = census(True)
    assert whole > 1.4 * whole_before
    assert cut < cut_before


def test_the_search_for_more_vehicles_runs_on_every_start_worth_a_trial(monkeypatch) -> None:
    # The regret start, 64 vehicles short of the plain one but cheaper per vehicle, gets the
    # search in its short lots too (within the same work in all), so the price search can start
    # from whichever of the two then serves more vehicles at the lower price.
    from solver.award import lns, vehicles
    from solver.award.bounds import vehicle_bound

    # Both starts are far below the lots' caps: without this the far starts' package moves
    # (vehicles.FAR_MOVES, tested in test_award_deepmoves) replace the sub-rounds tested here.
    monkeypatch.setattr(vehicles, "FAR_MOVES", 0)
    doc = make_round(16, 6, 90, seed=11, package_share=0.6, package_lots=(2, 8), bundles="regions")
    inst = parse(doc)
    prep = prepare(inst)
    first, *others = starts(inst, prep)
    vbound = vehicle_bound(inst, prep)
    assert len(others) == 1 and lns.worth_a_trial(inst, first, others[0])

    def run() -> tuple[Solution, list[Solution], float, str]:
        return lns.served_starts(
            inst, prep, first, others, deadline=time.monotonic() + 120, work_limit=2.0, vbound=vbound
        )

    best, rest, spent, ended = run()
    assert ended == "work" and spent <= 2.0 + 0.5  # a sub-round may finish past the limit
    assert len(rest) == 1 and objective(inst, rest[0])[0] > objective(inst, others[0])[0]
    assert _key(inst, best) >= max(_key(inst, first), _key(inst, rest[0]))
    assert _valid(doc, best) == [] and _valid(doc, rest[0]) == []
    assert run()[:2] == (best, rest)
    monkeypatch.setattr(lns, "VEHICLES_EVERY_START", False)
    assert (
        lns.served_starts(inst, prep, first, others, deadline=time.monotonic() + 120, work_limit=2.0, vbound=vbound)[1]
        == others
    )


def test_sub_rounds_get_less_work_where_the_search_has_little_work_per_lot(monkeypatch) -> None:
    # 40 lots on 2 units of work, the start at the vehicle count it is given as the bound: each
    # sub-round is capped at SUB_WORK_PER_LOT x 2 / 40 (0.35), not SUB_WORK (1.0), so neighbourhoods
    # stay small and the search visits more lots (at 10,000 bids, 500 lots on 20 units:
    # bench/results/award_lns_10000.md); a start short of its bound keeps SUB_WORK.
    from solver.award import lns
    from solver.award.cpsat import AwardModel

    doc = make_round(40, 8, 200, seed=2)
    inst = parse(doc)
    start = greedy(inst, prepare(inst))
    caps: list[float] = []
    solve_phase = AwardModel.solve_phase

    def recording(self, **kw):  # type: ignore[no-untyped-def]
        caps.append(kw["work_limit"])
        return solve_phase(self, **kw)

    monkeypatch.setattr(AwardModel, "solve_phase", recording)
    cap = lns.sub_work(inst, 2.0)
    assert cap == pytest.approx(lns.SUB_WORK_PER_LOT * 2.0 / 40) and cap < lns.SUB_WORK
    assert lns.sub_work(inst, 100.0) == lns.SUB_WORK  # much work per lot: as before
    v0 = objective(inst, start)[0]
    for vbound, most in ((v0, cap), (v0 + 1, lns.SUB_WORK)):
        caps.clear()
        sol, _, ended = improve_price(
            inst, start, deadline=time.monotonic() + 120, work_limit=2.0, on_improve=lambda s: None, vbound=vbound
        )
        assert ended == "work" and _valid(doc, sol) == [] and _key(inst, sol) >= _key(inst, start)
        assert len(caps) > 1 and max(caps) == pytest.approx(most)
