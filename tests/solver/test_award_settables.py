"""f(lot, S) for all of a lot's package sets at once (solver.award.settables) equals, set by set,
lotdp's exact minimum with the set's packages forced and the others left out (the way
vehmaster tabled them one DP solve per set before): same sets, same (vehicles, cents)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from bench.award_instances import make_round
from solver.award.instance import Instance, parse
from solver.award.lagrange import LotPart, Multipliers, lot_parts
from solver.award.lotdp import lot_min
from solver.award.prep import prepare
from solver.award.settables import Table, set_table
from solver.award.vehsets import package_sets
from tests.solver.award_helpers import tiny_round


def _one_by_one(inst: Instance, part: LotPart, lot_sets: list[tuple[int, ...]]) -> Table:
    """One lotdp solve per set: each package of the set at a cost far below everything else (so
    an optimum takes it), the others far above (left out); sets it cannot take whole are left out."""
    per = 1 + sum(inst.lines[li].quantity * inst.lines[li].max_cents for li in inst.lots[part.lot].lines)
    big = per * 10_000
    tab: Table = {}
    for chosen in lot_sets:
        lam = {(p.package, part.lot): (-big if i in chosen else big) for i, p in enumerate(part.packages)}
        found = lot_min(inst, part, Multipliers("price", {}, per, lam))
        assert found is not None
        value, copies = found
        if sum(copies.values()) == len(chosen):
            value += big * len(chosen)
            tab[chosen] = (-(value // per), value % per)
    return tab


def _all_subsets(part: LotPart) -> list[tuple[int, ...]]:
    k = len(part.packages)
    return [tuple(i for i in range(k) if m >> i & 1) for m in range(1 << k)]


def _check(inst: Instance) -> int:
    """Compares on every lot with packages; the count of sets compared."""
    n = 0
    for part in lot_parts(inst, prepare(inst)):
        if not part.packages:
            continue
        # the listed sets, and every subset (those that cannot be taken whole must be left out too)
        for lot_sets in (package_sets(inst, part), _all_subsets(part)[:64]):
            assert set_table(inst, part, lot_sets) == _one_by_one(inst, part, lot_sets)
            n += len(lot_sets)
    return n


@pytest.mark.parametrize("seed", range(30))
def test_equal_to_one_lotdp_solve_per_set_on_tiny_rounds(seed: int) -> None:
    inst = parse(tiny_round(random.Random(seed), whole=True))
    _check(inst)
    _check(replace(inst, max_winners=None))
    _check(replace(inst, max_winners=1))


@pytest.mark.parametrize(("shape", "seed"), [((30, 5, 100), 5), ((60, 6, 200), 4)])
def test_equal_to_one_lotdp_solve_per_set_on_larger_rounds(shape: tuple[int, int, int], seed: int) -> None:
    inst = parse(make_round(*shape, seed=seed))
    assert _check(inst) > 100
    assert _check(replace(inst, max_winners=None)) > 100
