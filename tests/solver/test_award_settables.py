"""f(lot, S) for all of a lot's package sets at once (solver.award.settables) equals, set by set,
lotdp's exact minimum with the set's packages forced and the others left out (the way
vehmaster tabled them one DP solve per set before): same sets, same (vehicles, cents). The sets
listed (vehsets.package_sets) are exactly those that can be chosen together, and the tables'
useful sets keep every optimum of the package-set program."""

from __future__ import annotations

import random
from dataclasses import replace
from itertools import combinations, pairwise, product

import pytest

from bench.award_instances import make_round
from solver.award import setproof, vehmaster
from solver.award.instance import Instance, parse
from solver.award.lagrange import LotPart, Multipliers, lot_parts
from solver.award.lotdp import lot_min
from solver.award.prep import prepare
from solver.award.settables import Table, set_table, usage_table, useful
from solver.award.vehsets import _fit_masks, package_sets
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


@pytest.mark.parametrize("seed", [1, 2])
def test_equal_to_one_lotdp_solve_per_set_on_many_suppliers(seed: int) -> None:
    """The many-suppliers shape (6 lots x 40 OEMs at 200 bids: thousands of sets per lot of up to
    9 lines, most with three suppliers' packages): every lot's table, built over all its listed
    sets, equals lotdp's solve on sampled sets, the set with the most packages among them."""
    inst = parse(make_round(6, 40, 200, seed=seed))
    rng = random.Random(seed)
    n = 0
    for part in lot_parts(inst, prepare(inst)):
        lot_sets = package_sets(inst, part)
        tab = set_table(inst, part, lot_sets)
        assert tab is not None and len(tab) == len(lot_sets)
        sample = [*rng.sample(lot_sets, min(25, len(lot_sets))), max(lot_sets, key=len)]
        assert {s: tab[s] for s in sample} == _one_by_one(inst, part, sample)
        n += len(lot_sets)
    assert n > 5_000


def _takeable(inst: Instance, part: LotPart) -> list[tuple[int, ...]]:
    """Every subset of the lot's packages, kept where a winner place per supplier, each supplier
    within min(share cap, capacity) and some placement of all their items on disjoint lines exist."""
    pk = part.packages
    fits = [_fit_masks(inst, part.lot, p.items) for p in pk]
    out = []
    for r in range(len(pk) + 1):
        for chosen in combinations(range(len(pk)), r):
            per: dict[int, int] = {}
            for i in chosen:
                per[pk[i].supplier] = per.get(pk[i].supplier, 0) + sum(it.quantity for it in pk[i].items)
            if inst.max_winners is not None and len(per) > inst.max_winners:
                continue
            if any(v > min(inst.lots[part.lot].share_cap, inst.capacity[s]) for s, v in per.items()):
                continue
            if any(sum(ms) == _union(ms) for ms in product(*(fits[i] for i in chosen))):
                out.append(chosen)
    return out


def _union(masks: tuple[int, ...]) -> int:
    u = 0
    for m in masks:
        u |= m
    return u


@pytest.mark.parametrize("seed", range(30))
def test_listed_sets_are_exactly_the_takeable_ones_in_order(seed: int) -> None:
    """package_sets lists every set of a lot's packages that can be chosen together and no other,
    in increasing order (the tables' and the programs' order), against every subset checked."""
    rounds = [parse(tiny_round(random.Random(seed), whole=True))]
    if seed < 5:
        rounds.append(parse(make_round(30, 5, 100, seed=seed)))
    for inst in rounds:
        for most in (inst.max_winners, 1, None):
            one = replace(inst, max_winners=most)
            for part in lot_parts(one, prepare(one)):
                if len(part.packages) <= 10:
                    assert package_sets(one, part) == sorted(_takeable(one, part))


def _choices(parts: list[LotPart], tabs: list[Table]) -> dict[frozenset[int], tuple[int, int]]:
    """Every choice of the package-set program (each package in all its lots or none, each lot's
    set in its table) and its (vehicles, -cents)."""
    packages = sorted({p.package for part in parts for p in part.packages})
    out = {}
    for m in range(1 << len(packages)):
        chosen = {q for i, q in enumerate(packages) if m >> i & 1}
        v = c = 0
        for part, tab in zip(parts, tabs, strict=True):
            s = tuple(i for i, p in enumerate(part.packages) if p.package in chosen)
            if s not in tab:
                break
            v, c = v + tab[s][0], c - tab[s][1]
        else:
            out[frozenset(chosen)] = (v, c)
    return out


@pytest.mark.parametrize("seed", range(40))
def test_useful_tables_keep_every_optimal_choice(seed: int) -> None:
    """The sets useful leaves out are in no optimum of the program: every choice of most vehicles
    then least cents keeps all its sets, from any choice to start from, the optimum's own too."""
    inst = parse(tiny_round(random.Random(seed), whole=True))
    got = vehmaster.tables(inst, prepare(inst))
    assert got is not None
    parts, tabs, _ = got
    choices = _choices(parts, tabs)
    top = max(choices.values())
    for current in random.Random(seed).sample(sorted(choices, key=sorted), min(4, len(choices))):
        kept = useful(parts, tabs, set(current))
        for chosen, value in choices.items():
            sets = [tuple(i for i, p in enumerate(part.packages) if p.package in chosen) for part in parts]
            assert value != top or all(s in tab for s, tab in zip(sets, kept, strict=True))
            assert value < choices[current] or all(s in tab for s, tab in zip(sets, kept, strict=True))


@pytest.mark.parametrize("seed", [1, 3])
def test_useful_tables_give_the_same_optimum_with_fewer_sets_on_many_suppliers(seed: int) -> None:
    """many-suppliers (6 lots x 40 OEMs, 200 bids): from the greedy award's packages, the program on
    the useful tables has the same optimum on far fewer sets."""
    from solver.award.greedy import starts

    inst = parse(make_round(6, 40, 200, seed=seed))
    prep = prepare(inst)
    got = vehmaster.tables(inst, prep, 100_000)
    assert got is not None
    parts, tabs, _ = got
    current = set(starts(inst, prep, False, None)[0].packages)
    kept = useful(parts, tabs, current)
    assert sum(map(len, kept)) < sum(map(len, tabs)) / 2
    full, fewer = setproof.master(parts, tabs, current, 60.0), setproof.master(parts, kept, current, 60.0)
    assert full is not None and fewer is not None and full[1:3] == fewer[1:3]


def _usage_checked(inst: Instance, prep: object, suppliers: list[int] | None = None) -> int:
    """usage_table against set_table with the supplier's capacity set to k, for every k up to the
    lot's demand and its capacity: at each k, the last step at or below it (none: the set cannot be taken). The
    steps improve strictly. Returns the number of (lot, supplier, set, k) compared."""
    compared = 0
    for part in lot_parts(inst, prep):  # type: ignore[arg-type]
        lot_sets = package_sets(inst, part)
        here = {inst.bids[t.bid].supplier for t in part.tiers} | {p.supplier for p in part.packages}
        demand = sum(inst.lines[li].quantity for li in inst.lots[part.lot].lines)
        for s in sorted(here if suppliers is None else here & set(suppliers)):
            steps = usage_table(inst, part, lot_sets, s)
            if steps is None:
                assert inst.max_winners == 1
                continue
            for row in steps.values():
                assert [k for k, _ in row] == sorted({k for k, _ in row})
                assert all((v, -c) < (v2, -c2) for (_, (v, c)), (_, (v2, c2)) in pairwise(row))
            for k in range(min(demand, inst.capacity[s]) + 1):  # (k = its capacity: the lot's table)
                capped = replace(inst, capacity=[k if i == s else c for i, c in enumerate(inst.capacity)])
                want = set_table(capped, part, lot_sets)
                assert want is not None
                for chosen in lot_sets:
                    below = [value for kk, value in steps.get(chosen, []) if kk <= k]
                    assert want.get(chosen) == (below[-1] if below else None), (part.lot, s, chosen, k)
                    compared += 1
    return compared


@pytest.mark.parametrize("seed", range(60))
def test_a_supplier_s_usage_table_is_the_table_at_each_capacity_on_tiny_rounds(seed: int) -> None:
    inst = parse(tiny_round(random.Random(seed), whole=True))
    _usage_checked(inst, prepare(inst))


@pytest.mark.parametrize(("shape", "seed", "suppliers"), [((16, 3, 50), 1, [0, 1, 2]), ((20, 10, 200), 5, [1, 4])])
def test_a_supplier_s_usage_table_is_the_table_at_each_capacity(
    shape: tuple[int, int, int], seed: int, suppliers: list[int]
) -> None:
    """make_round's lots (packages over up to 6 lots; default 200 bids seed 5: supplier 1's
    capacity binds across lots), each k from 0 to the lot's demand or the capacity."""
    inst = parse(make_round(*shape, seed=seed))
    assert _usage_checked(inst, prepare(inst), suppliers) > 1000
