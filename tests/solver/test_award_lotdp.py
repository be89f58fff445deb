"""Each lot's Lagrangian subproblem solved exactly by dynamic programming over its line subsets
(solver.award.lotdp) gives the same minimum as CP-SAT's model of the lot (solver.award.lagrange
with EXACT_DP off, proven at a large work limit), for the price and the vehicle goal and for
random multipliers (so that tiers, packages, share caps and winner limits all bind somewhere);
its package copies are those of an optimum; where it does not apply (split service) it says so."""

from __future__ import annotations

import importlib
import random

import pytest

from bench.award_instances import make_round
from solver.award import lagrange
from solver.award.instance import parse
from solver.award.prep import prepare

lotdp = importlib.import_module("solver.award.lotdp")


def _random_mult(inst, prep, goal: str, rng: random.Random) -> lagrange.Multipliers:
    mu = {s: rng.choice([0, 0, rng.randint(0, 3_000_000)]) for s in range(len(inst.capacity))}
    # about the unit prices, so that some tiers and packages cost less than nothing and others do not
    cents = sorted(t.cents for t in prep.tiers)
    pi = round(cents[len(cents) // 2] * rng.uniform(0.95, 1.15)) if goal == "price" else 0
    if goal == "vehicles":
        mu = {s: rng.choice([0, rng.randint(0, 2 * lagrange.VEHICLE_SCALE)]) for s in mu}
    lam = {}
    for part in lagrange.lot_parts(inst, prep):
        for p in part.packages:
            lam[p.package, part.lot] = rng.randint(-(10**8), 10**8) if goal == "price" else rng.randint(-(10**7), 10**7)
    return lagrange.Multipliers(goal, mu, pi, lam)


def _copies_cost(inst, part, mult, copies) -> int:
    """What the chosen copies add to the lot's objective (their constants)."""
    return sum(
        lagrange._copy_cost(mult, p.supplier, p.items) + mult.lam.get((p.package, part.lot), 0)
        for p in part.packages
        if copies[p.package, part.lot]
    )


@pytest.mark.parametrize("winners", [None, 1, 2, 3])
@pytest.mark.parametrize("goal", ["price", "vehicles"])
def test_the_lot_dp_equals_cp_sat_on_every_lot(monkeypatch, goal: str, winners: int | None) -> None:
    checked = negative = 0
    for seed in range(1, 3):
        doc = make_round(6, 6, 40, seed=seed, max_winners=winners, package_share=0.5, package_lots=(1, 3))
        inst = parse(doc)
        prep = prepare(inst)
        rng = random.Random(seed * 7 + (winners or 0))
        for _ in range(2):
            mult = _random_mult(inst, prep, goal, rng)
            for part in lagrange.lot_parts(inst, prep):
                got = lotdp.lot_min(inst, part, mult)
                assert got is not None
                monkeypatch.setattr(lagrange, "EXACT_DP", False)
                want = lagrange._lot_min(inst, part, mult, 60.0, 20.0, {})
                monkeypatch.setattr(lagrange, "EXACT_DP", True)
                value, copies = got
                assert value == want, (seed, part.lot)
                assert set(copies) == {(p.package, part.lot) for p in part.packages}
                # with the optimum's copies forced (the others left out), the lot's tiers make up the rest
                chosen = [p for p in part.packages if copies[p.package, part.lot]]
                fixed = lagrange.LotPart(part.lot, part.tiers, chosen)
                rest = lotdp.lot_min(inst, lagrange.LotPart(part.lot, part.tiers, []), mult)
                assert rest is not None and value <= rest[0]
                forced = lotdp.lot_min(inst, fixed, mult)
                assert forced is not None and forced[0] == value
                checked += 1
                negative += value < 0
    assert checked >= 20 and negative >= 5


def test_split_service_goes_to_cp_sat() -> None:
    inst = parse(make_round(4, 4, 20, seed=1, line_service="split"))
    prep = prepare(inst)
    mult = _random_mult(inst, prep, "price", random.Random(1))
    for part in lagrange.lot_parts(inst, prep):
        assert lotdp.lot_min(inst, part, mult) is None
