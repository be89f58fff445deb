"""Not a rule of the contract: symmetry breaking between interchangeable lines, for the price proof.

Two lines of one lot with the same quantity that every source can serve alike (the same options:
bid tiers and package items) and, with delivery quarters, the same window, are interchangeable:
swapping what they receive keeps every rule, the vehicles and the price. So among the awards of
each such group, one whose lines' keys (sum over options of option number x allocation) rise
along the group's lines is as good as any: the proof may search only those (sorting the lines of
any award by key gives one). The price phase's model states it (AwardModel(symmetry=True));
the tie-break's model never does, since it must see every optimum to pick the rule's one.
`canonical_hint` sorts an award the same way, so a hint stays feasible.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable

from ortools.sat.python import cp_model

from solver.award.instance import Instance
from solver.award.rules.variables import Families, LineAlloc
from solver.award.solution import Solution

# (kind: 0 bid tier / 1 package item, bid or package index, tier or item index)
Option = tuple[int, int, int]


def groups(inst: Instance, options: dict[int, list[Option]]) -> list[list[int]]:
    """The groups (2 lines or more, in line order) of interchangeable lines, given each line's options."""
    by_key: dict[tuple[Hashable, ...], list[int]] = {}
    for li in sorted(options):
        line = inst.lines[li]
        key = (line.lot, line.quantity, line.window, tuple(sorted(options[li])))
        by_key.setdefault(key, []).append(li)
    return [g for g in by_key.values() if len(g) > 1]


def _options(f: Families) -> dict[int, list[tuple[Option, LineAlloc]]]:
    out: dict[int, list[tuple[Option, LineAlloc]]] = {}
    for t in f.tiers:
        for a in t.lines:
            out.setdefault(a.line, []).append(((0, t.opt.bid, t.opt.tier), a))
    for p in f.packages:
        for it in p.items:
            for a in it.lines:
                out.setdefault(a.line, []).append(((1, p.opt.package, it.opt.item), a))
    return out


def add(f: Families) -> None:
    """key(l1) <= key(l2) <= ... along each group of interchangeable lines."""
    per_line = _options(f)
    for g in groups(f.inst, {li: [o for o, _ in opts] for li, opts in per_line.items()}):
        keys = []
        for li in g:
            opts = sorted(per_line[li], key=lambda oa: oa[0])
            keys.append(cp_model.LinearExpr.weighted_sum([a.var for _, a in opts], list(range(1, len(opts) + 1))))
        for a, b in itertools.pairwise(keys):
            f.model.add(a <= b)


def canonical_hint(inst: Instance, prep_options: dict[int, list[Option]], sol: Solution) -> Solution:
    """`sol` with the lines of each group trading what they receive so that their keys rise (the
    same vehicles, price and rules): a hint the symmetry-broken model accepts."""
    gs = groups(inst, prep_options)
    if not gs:
        return sol
    # per line: what it receives, as {option: units} (whole service: 1 for the line, split: vehicles)
    got: dict[int, dict[Option, int]] = {}
    for bi, alloc in sol.bids.items():
        tier = inst.bids[bi].tier_at(sol.bid_quantity(bi))
        for li, v in alloc.items():
            got.setdefault(li, {})[(0, bi, tier)] = 1 if inst.whole else v
    for pi, items in sol.packages.items():
        for ii, alloc in enumerate(items):
            for li, v in alloc.items():
                got.setdefault(li, {})[(1, pi, ii)] = 1 if inst.whole else v
    moved: dict[int, dict[Option, int]] = {}
    for g in gs:
        order = {o: k + 1 for k, o in enumerate(sorted(prep_options[g[0]]))}
        recv = sorted((got.get(li, {}) for li in g), key=lambda r: sum(order[o] * n for o, n in r.items()))
        for li, r in zip(g, recv, strict=True):
            moved[li] = r
    if all(moved[li] == got.get(li, {}) for li in moved):
        return sol
    for li, r in moved.items():
        got[li] = r
    out = Solution()
    q = {li: inst.lines[li].quantity for li in got}
    for li, r in sorted(got.items()):
        for (kind, src, opt), n in sorted(r.items()):
            v = q[li] if inst.whole else n
            if kind == 0:
                out.bids.setdefault(src, {})[li] = v
            else:
                items = out.packages.setdefault(src, [{} for _ in inst.packages[src].items])
                items[opt][li] = v
    out.bids = {bi: dict(sorted(a.items())) for bi, a in sorted(out.bids.items())}
    out.packages = {pi: [dict(sorted(a.items())) for a in items] for pi, items in sorted(out.packages.items())}
    return out


def options_of(f: Families) -> dict[int, list[Option]]:
    return {li: [o for o, _ in opts] for li, opts in _options(f).items()}
