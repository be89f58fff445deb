"""The exact maximum over the packages' choices (solver.award.vehmaster): its bound holds above
every award (brute force on tiny rounds, CP-SAT's proven maximum on larger ones), the award it
builds is valid and reaches it, and the short-lot search takes it first on far starts."""

from __future__ import annotations

import random
import time

import pytest

from bench.award_instances import make_round
from solver.award import validate_award, vehsets
from solver.award import vehmaster as vm
from solver.award.cpsat import AwardModel
from solver.award.greedy import starts
from solver.award.instance import parse
from solver.award.prep import prepare
from solver.award.solution import objective, to_output
from solver.award.vehicles import more_vehicles, used_per_supplier
from tests.solver.award_helpers import brute_force, tiny_round


def _program(doc: dict) -> tuple:  # type: ignore[type-arg]
    inst = parse(doc)
    prep = prepare(inst)
    got = vm.tables(inst, prep)
    assert got is not None
    parts, tabs, _ = got
    bound, chosen, _ = vm.best_choice(parts, tabs, set(), work_limit=60.0)
    return inst, prep, parts, tabs, bound, chosen


@pytest.mark.parametrize("seed", range(40))
def test_the_bound_holds_above_every_award_on_tiny_rounds(seed: int) -> None:
    doc = tiny_round(random.Random(seed), whole=True)
    inst = parse(doc)
    if not inst.packages:
        return
    _, _, _, _, bound, _ = _program(doc)
    assert bound is not None and bound >= brute_force(doc)[0]


@pytest.mark.parametrize(("shape", "seed"), [((30, 5, 100), 5), ((60, 6, 200), 4)])
def test_it_proves_and_builds_the_most_vehicles(shape: tuple[int, int, int], seed: int) -> None:
    """Equal to CP-SAT's proven maximum on the whole round's model, and the award it builds from
    the greedy start is valid and serves exactly that many."""
    doc = make_round(*shape, seed=seed)
    inst, prep, parts, tabs, bound, chosen = _program(doc)
    model = AwardModel(inst, prep)
    r = model.solve_phase(objective="vehicles", time_limit=600, work_limit=120, workers=1)
    assert r.optimal and bound == r.bound
    first = starts(inst, prep)[0]
    built, _ = vm.build(inst, first, parts, tabs, chosen, deadline=time.monotonic() + 600)
    assert built is not None
    v, c = objective(inst, built)
    assert v == bound
    assert all(u <= cap for u, cap in zip(used_per_supplier(inst, built), inst.capacity, strict=True))
    out = to_output(inst, prep, built, status="FEASIBLE", bound_quantity=v, bound_cents=c, seconds=0.0, search="t")
    assert validate_award(doc, out) == []


def test_the_build_frees_the_capacity_of_the_lots_it_re_solves() -> None:
    """40 lots x 4 OEMs, seed 2: the greedy start holds one supplier at its capacity. The lots to
    re-solve start empty (their old bids would hold capacity the new awards need: with them, the
    first version built nothing here), and the build serves CP-SAT's proven maximum."""
    doc = make_round(40, 4, 150, seed=2)
    inst, prep, parts, tabs, bound, chosen = _program(doc)
    r = AwardModel(inst, prep).solve_phase(objective="vehicles", time_limit=600, work_limit=120, workers=1)
    assert r.optimal and bound == r.bound == 1364
    first = starts(inst, prep)[0]
    assert max(u - cap for u, cap in zip(used_per_supplier(inst, first), inst.capacity, strict=True)) == 0
    built, _ = vm.build(inst, first, parts, tabs, chosen, deadline=time.monotonic() + 600)
    assert built is not None
    v, c = objective(inst, built)
    assert v == 1364
    out = to_output(inst, prep, built, status="FEASIBLE", bound_quantity=v, bound_cents=c, seconds=0.0, search="t")
    assert validate_award(doc, out) == []


def test_far_starts_reach_the_proven_maximum_and_stop_there() -> None:
    """30 lots x 5 OEMs: the short-lot search alone ended at 846 vehicles on 0.47 units, not known
    to be the most; now 846 is proven the maximum and the search ends on 0.23 units."""
    doc = make_round(30, 5, 100, seed=5)
    inst = parse(doc)
    prep = prepare(inst)
    first = starts(inst, prep)[0]
    sol, spent, ended = more_vehicles(inst, prep, first, deadline=time.monotonic() + 600, work_limit=3.0)
    assert ended == "done" and spent < 0.4
    assert objective(inst, sol)[0] == vm.proven_bound(inst) == 846
    assert more_vehicles(inst, prep, first, deadline=time.monotonic() + 600, work_limit=3.0)[0] == sol


@pytest.mark.parametrize(("shape", "seed"), [((30, 5, 100), 5), ((60, 6, 200), 4)])
def test_the_lazy_program_equals_the_full_one_and_its_bounds_hold(shape: tuple[int, int, int], seed: int) -> None:
    """Tables only for the short lots, added where the choice moves a package: the same proven
    maximum as the program on every lot's table, an award built from it that reaches it, and with
    too few DP solves still a bound at least the maximum (the lots without tables at their caps)."""
    doc = make_round(*shape, seed=seed)
    inst, prep, _, tabs, bound, _ = _program(doc)
    first = starts(inst, prep)[0]
    got, chosen, parts, lazy_tabs, _ = vm.lazy_program(inst, prep, first, max_calls=10**6, work_limit=60.0)
    assert got == bound and chosen is not None and len(lazy_tabs) <= len(tabs)
    built, _ = vm.build(inst, first, parts, lazy_tabs, chosen, deadline=time.monotonic() + 600)
    assert built is not None and objective(inst, built)[0] == bound
    out = to_output(inst, prep, built, status="FEASIBLE", bound_quantity=bound, bound_cents=0, seconds=0.0, search="t")
    assert validate_award(doc, out) == []
    for calls in (0, 10, 40):
        few, none, *_ = vm.lazy_program(inst, prep, first, max_calls=calls, work_limit=60.0)
        assert none is None and few is not None and few >= bound


def test_the_clock_cuts_the_tables_short_and_leaves_no_program() -> None:
    """The clock is only a safety cap, but it holds: with the deadline already past (a round too
    large for its time limit, as 25,000 bids on 10 s were), listing the sets stops at once, no
    program and no bound are kept, and the cap is reset after the call."""
    inst = parse(make_round(40, 4, 400, seed=1, package_share=0.6, package_lots=(2, 8)))
    prep = prepare(inst)
    sol = starts(inst, prep)[0]
    t0 = time.process_time()
    assert vm.most_vehicles(inst, prep, sol, deadline=time.monotonic() - 1, work_limit=60.0) == (None, None, 0.0)
    assert time.process_time() - t0 < 0.5
    assert vm.proven_bound(inst) is None
    assert vehsets.CLOCK[0] == float("inf")  # (the cap is the call's own)
