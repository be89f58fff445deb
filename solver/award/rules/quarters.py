"""Rule: a supplier's vehicles delivered in a quarter stay within its quarterly capacities.

Only where the input has quarterly capacities (today's rounds keep their model): a line
allocation of such a supplier that may be delivered in several quarters (its line's window,
its source's quarters and the supplier's listed quarters, Instance.quarters_for) gets one
integer per quarter, summing to its vehicles; one allowed quarter needs none. Per capacity
entry, the vehicles in its quarter (to lots of its segment, when it names one) are at most
its capacity. Windows and source quarters are not constraints: pre-processing
(solver.award.prep.eligible) creates no pair without an allowed quarter.

`earliness` is how late the deliveries come (sum of vehicles x quarters after the input's
first quarter): the objective of rules.prefer_early_delivery. An allocation without quarter
variables is delivered in its earliest allowed quarter (nothing ties it to the others).
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from solver.award.deliveries import Key, caps_on
from solver.award.rules.variables import Expr, Families, LineAlloc, Var


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
    for a, s, quarters, key in _sources(f):
        allowed = inst.quarters_for(a.line, s, quarters)
        lot = inst.lines[a.line].lot
        vehicles = a.ub * a.unit
        if not inst.quarterly[s] or len(allowed) == 1:
            per_q = [(allowed[0], a.var, a.unit)]
        else:
            per_q = []
            for q in allowed:
                per_q.append((q, m.new_int_var(0, vehicles, ""), 1))
            m.add(cp_model.LinearExpr.weighted_sum([v for _, v, _ in per_q], [1] * len(per_q)) == a.var * a.unit)
            f.quarter_vars.append((key, a.option, [(q, v) for q, v, _ in per_q]))
        for q, v, unit in per_q:
            late_vars.append(v)
            late_coefs.append(unit * (q - first))
            for ck in caps_on(inst, s, lot, q):
                terms.setdefault((s, *ck), []).append((v, unit))
                most[s, *ck] = most.get((s, *ck), 0) + vehicles
    for (s, q, seg), ts in sorted(terms.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")):
        cap = inst.quarterly[s][q, seg]
        if most[s, q, seg] > cap:
            m.add(cp_model.LinearExpr.weighted_sum([v for v, _ in ts], [c for _, c in ts]) <= cap)
    return cp_model.LinearExpr.weighted_sum(late_vars, late_coefs)
