"""Rule: a supplier's vehicles delivered in a quarter stay within its quarterly capacities.

Only where the input has quarterly capacities (today's rounds keep their model). Which quarters
a line allocation may be delivered in is its line's window, its source's quarters and the
supplier's listed quarters (Instance.quarters_for). The capacities then make a transportation
problem per supplier (solver.award.deliveries), stated here on groups: the allocations of one
supplier with the same allowed quarters and the same segment entries (group_key) are
interchangeable in it, so per group one integer per allowed quarter sums to the group's
vehicles, and per capacity entry the groups' vehicles in its quarter (to lots of its segment,
when it names one) are at most its capacity. For integer allocations the grouped problem has a
solution exactly when the per-allocation one has (a group's deliveries split back over its
allocations in any order), and it has far fewer variables than one integer per allocation and
quarter (on 200-bid rounds with quarters: about a tenth). An allocation with one allowed quarter
counts in its entries directly. Windows and source quarters are not constraints: pre-processing
(solver.award.prep.eligible) creates no pair without an allowed quarter.

In a neighbourhood's sub-round (solver.award.lns) the rest of the award's vehicles of the
suppliers involved come as fixed totals of groups (Instance.outside), with the same per-quarter
integers: the sub-round may move their quarters.

`earliness` is how late the deliveries come (sum of vehicles x quarters after the input's
first quarter): the objective of rules.prefer_early_delivery. An allocation of a supplier
without quarterly capacities is delivered in its earliest allowed quarter (nothing ties it to
the others).
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from solver.award.deliveries import GroupKey, Key, group_key, group_of_key
from solver.award.instance import Instance
from solver.award.rules.variables import Expr, Families, LineAlloc, Var
from solver.award.solution import Solution


def _sources(f: Families) -> list[tuple[LineAlloc, int, frozenset[int] | None, Key]]:
    """Every line allocation with its supplier, its source's quarters and its key in a Schedule."""
    inst = f.inst
    out = []
    for t in f.tiers:
        bid = inst.bids[t.opt.bid]
        out += [(a, bid.supplier, bid.quarters, (0, t.opt.bid, 0, a.line)) for a in t.lines]
    for p in f.packages:
        pkg = inst.packages[p.opt.package]
        out += [
            (a, pkg.supplier, pkg.quarters, (1, p.opt.package, it.opt.item, a.line)) for it in p.items for a in it.lines
        ]
    return out


def _entries(inst: Instance, supplier: int, segment: str | None, quarter: int) -> list[tuple[int, str | None]]:
    """The supplier's capacity entries a vehicle of a lot of `segment` in `quarter` counts against."""
    caps = inst.quarterly[supplier]
    keys: list[tuple[int, str | None]] = [(quarter, None)] if segment is None else [(quarter, None), (quarter, segment)]
    return [k for k in keys if k in caps]


def add(f: Families) -> Expr | None:
    """State the quarterly capacities; return the earliness expression (None without quarters)."""
    inst, m = f.inst, f.model
    if inst.span is None:
        return None
    first = inst.span[0]
    terms: dict[tuple[int, int, str | None], list[tuple[Var, int]]] = {}  # (supplier, capacity entry)
    most: dict[tuple[int, int, str | None], int] = {}
    late_vars: list[Var] = []
    late_coefs: list[int] = []
    groups: dict[GroupKey, list[tuple[Var, int, int]]] = {}  # (variable, vehicles per unit, most vehicles)

    def count(s: int, segment: str | None, q: int, v: Var, unit: int, vehicles: int) -> None:
        late_vars.append(v)
        late_coefs.append(unit * (q - first))
        for ck in _entries(inst, s, segment, q):
            terms.setdefault((s, *ck), []).append((v, unit))
            most[s, *ck] = most.get((s, *ck), 0) + vehicles

    for a, s, quarters, _ in _sources(f):
        allowed = inst.quarters_for(a.line, s, quarters)
        vehicles = a.ub * a.unit
        if not inst.quarterly[s] or len(allowed) == 1:
            count(s, inst.lots[inst.lines[a.line].lot].segment, allowed[0], a.var, a.unit, vehicles)
        else:
            groups.setdefault(group_key(inst, s, a.line, quarters), []).append((a.var, a.unit, vehicles))
    # A sub-round's rest of the award (Instance.outside): fixed vehicles per group, whose quarters
    # may move, so a neighbourhood is not held to the deliveries the rest had (lns).
    fixed: dict[GroupKey, int] = {}
    for gk, vehicles in inst.outside:
        fixed[gk] = fixed.get(gk, 0) + vehicles
        groups.setdefault(gk, [])
    for gk in sorted(groups, key=_order):
        members = groups[gk]
        s, allowed, segment = gk
        total = sum(v for _, _, v in members) + fixed.get(gk, 0)
        per_q = [(q, m.new_int_var(0, total, "")) for q in allowed]
        m.add(
            cp_model.LinearExpr.weighted_sum([v for _, v in per_q], [1] * len(per_q))
            == cp_model.LinearExpr.weighted_sum([v for v, _, _ in members], [u for _, u, _ in members])
            + fixed.get(gk, 0)
        )
        f.quarter_vars.append((gk, per_q))
        for q, v in per_q:
            count(s, segment, q, v, 1, total)
    for (s, q, seg), ts in sorted(terms.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")):
        cap = inst.quarterly[s][q, seg]
        if most[s, q, seg] > cap:
            m.add(cp_model.LinearExpr.weighted_sum([v for v, _ in ts], [c for _, c in ts]) <= cap)
    return cp_model.LinearExpr.weighted_sum(late_vars, late_coefs)


def _order(gk: GroupKey) -> tuple[int, tuple[int, ...], str]:
    return gk[0], gk[1], gk[2] or ""


def hint(f: Families, sol: Solution) -> None:
    """The award's earliest deliveries (deliveries.schedule) as the groups' hints."""
    if not f.quarter_vars:
        return
    from solver.award.deliveries import schedule

    inst = f.inst
    got: dict[GroupKey, dict[int, int]] = {}
    for key, per_q in (schedule(inst, sol, with_outside=True) or {}).items():
        gk = inst.outside[key[1]][0] if key[0] == 2 else group_of_key(inst, key)
        if gk is not None:
            d = got.setdefault(gk, {})
            for q, n in per_q.items():
                d[q] = d.get(q, 0) + n
    for gk, q_vars in f.quarter_vars:
        planned = got.get(gk, {})
        for q, v in q_vars:
            f.model.add_hint(v, planned.get(q, 0))
