"""Rule: a bid is awarded at one tier at most, within that tier's quantity band, at its unit price.

All-units discounts in convex hull form: per reachable tier t, `chosen` y[t] and the line
allocations x[t, l]; the bid's quantity q[t] = sum of x[t, l] x unit lies in [lo, hi] x y[t] (the
band where t's price applies, already cut by the pre-processing to capacity, share cap and
what the lines can take), so the price is linear, tier t's unit price x q[t]; at most one tier
per bid.
"""

from __future__ import annotations

from solver.award.rules.variables import Families, LineAlloc, TierVars


def add(f: Families) -> None:
    m, inst = f.model, f.inst
    for t in f.prep.tiers:
        chosen = m.new_bool_var("")
        rank = inst.source_rank[inst.bids[t.bid].id]
        lines = []
        for li in t.lines:
            x, unit, ub = f.line_var(li, t.hi, chosen)
            if not f.whole:
                m.add(x <= min(inst.lines[li].quantity, t.hi) * chosen)
            lines.append(LineAlloc(li, x, unit, ub, rank, t.tier))
        tv = TierVars(t, chosen, tuple(lines))
        m.add(tv.quantity >= t.lo * chosen)
        m.add(tv.quantity <= t.hi * chosen)
        f.tiers.append(tv)
    by_bid: dict[int, list[TierVars]] = {}
    for tv in f.tiers:
        by_bid.setdefault(tv.opt.bid, []).append(tv)
    for tiers in by_bid.values():
        if len(tiers) > 1:
            m.add_at_most_one([tv.chosen for tv in tiers])
