"""Reduced-cost fixing on the package-set program (solver.award.setfix): every set of every choice
that reaches (V, C) is kept (all choices enumerated on tiny rounds), and on a benchmark round most
sets are left out."""

from __future__ import annotations

import itertools
import random

import pytest

from bench.award_instances import make_round
from solver.award import setfix
from solver.award import vehmaster as vm
from solver.award.instance import parse
from solver.award.prep import prepare
from tests.solver.award_helpers import equal_prices, tiny_round
from tests.solver.test_award_settie import _twins


def _program(doc: dict) -> tuple[list, list]:  # type: ignore[type-arg]
    inst = parse(doc)
    got = vm.tables(inst, prepare(inst))
    assert got is not None
    return got[0], got[1]


def _choices(parts: list, tabs: list) -> list[tuple[int, int, list[tuple[int, ...]]]]:  # type: ignore[type-arg]
    """Every choice of the packages: (vehicles, cents, each lot's set), where every lot has its set."""
    packages = sorted({p.package for part in parts for p in part.packages})
    out = []
    for on in itertools.product([False, True], repeat=len(packages)):
        chosen = {p for p, flag in zip(packages, on, strict=True) if flag}
        sets = [tuple(i for i, p in enumerate(part.packages) if p.package in chosen) for part in parts]
        if all(s in tab for s, tab in zip(sets, tabs, strict=True)):
            v = sum(tab[s][0] for s, tab in zip(sets, tabs, strict=True))
            c = sum(tab[s][1] for s, tab in zip(sets, tabs, strict=True))
            out.append((v, c, sets))
    return out


@pytest.mark.parametrize("seed", range(60))
def test_every_set_of_a_choice_reaching_the_target_is_kept(seed: int) -> None:
    doc = tiny_round(random.Random(11000 + seed), whole=True, max_lines=5)
    if seed % 2:
        _twins(equal_prices(doc), random.Random(seed))
    parts, tabs = _program(doc)
    choices = _choices(parts, tabs)
    v_best, c_best, _ = max(choices, key=lambda ch: (ch[0], -ch[1]))
    # the optimum, then looser targets (more choices reach them)
    for vehicles, cents in [(v_best, c_best), (v_best, c_best + 500), (max(0, v_best - 2), c_best + 2_000)]:
        kept = setfix.fix(parts, tabs, vehicles, cents)
        assert kept is not None
        for v, c, sets in choices:
            if v >= vehicles and c <= cents:
                assert all(s in k for s, k in zip(sets, kept, strict=True)), (seed, vehicles, cents)
        assert all(k[s] == tab[s] for k, tab in zip(kept, tabs, strict=True) for s in k)


def test_most_sets_are_left_out_at_the_optimum() -> None:
    """tiers-1-15's shape (make_round(20, 10, 200), seed 1): 3,982 sets, under a fifth kept."""
    from bench.award_families import FAMILIES

    n_lots, n_oems, kw = FAMILIES["tiers-1-15"][200]
    parts, tabs = _program(make_round(n_lots, n_oems, 200, seed=1, **kw))
    from solver.award.setproof import master

    found = master(parts, tabs, set(), 60.0)
    assert found is not None
    _, vehicles, cents, _ = found
    kept = setfix.fix(parts, tabs, vehicles, cents)
    assert kept is not None
    assert sum(map(len, kept)) * 5 < sum(map(len, tabs))
