"""The Polyak-like steps with momentum (solver.award.polyak.MOMENTUM: each direction adds that
share of the last one): on 200-bid package rounds, with the same passes, the bound is above the
one of the subgradient alone and still below the greedy's price; on tiny rounds
test_award_polyak's validity checks run with it."""

from __future__ import annotations

import time

import pytest

from bench.award_instances import make_round
from solver.award import lagrange, polyak
from solver.award.greedy import starts
from solver.award.instance import parse
from solver.award.lpbound import LpModel
from solver.award.prep import prepare
from solver.award.solution import objective


@pytest.mark.parametrize("bundles", ["arbitrary", "regions"])
def test_momentum_raises_the_polyak_bound_of_package_rounds(bundles: str, monkeypatch: pytest.MonkeyPatch) -> None:
    inst = parse(make_round(20, 10, 200, seed=1, package_share=0.6, package_lots=(2, 8), bundles=bundles))
    prep = prepare(inst)
    vehicles, cents = objective(inst, starts(inst, prep)[0])
    lp = LpModel(inst, prep)
    assert lp.price_bound(vehicles, 60) is not None
    assert polyak.MOMENTUM > 0

    def bound(momentum: float) -> int:
        monkeypatch.setattr(polyak, "MOMENTUM", momentum)
        m = lagrange.from_lp(inst, prep, lp, "price")
        base = polyak.improved_bound(inst, prep, m, vehicles, deadline=time.monotonic() + 600)
        assert base is not None
        return lagrange.price_for(base, m, vehicles)

    with_momentum = bound(polyak.MOMENTUM)
    assert bound(0.0) < with_momentum <= cents
