"""Large-neighbourhood search for the price phase of big rounds (deterministic).

CP-SAT on the whole model of a 2,000-bid round spends its budget in presolve and LP; on a
few lots at a time it is fast. A neighbourhood is a set of lots: every source there is
freed, the rest of the award is fixed (suppliers' capacity shrinks by what they use
outside; packages that are awarded and reach outside pull their lots in, or the
neighbourhood is dropped). The sub-round is solved exactly as a small award (vehicles in
the neighbourhood may not drop; more vehicles, then a lower price, hinted with the current award) and
the result replaces the neighbourhood when it is cheaper. Neighbourhoods are taken in a
fixed order (windows of consecutive lots by id, then the lots of each supplier), so the
search is deterministic under a work limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from solver.award.instance import Instance, Lot
from solver.award.prep import prepare
from solver.award.solution import Solution, objective

LOTS_PER_NEIGHBOURHOOD = 8
MAX_LOTS = 14


def _neighbourhoods(inst: Instance) -> list[list[int]]:
    n = len(inst.lots)
    k = LOTS_PER_NEIGHBOURHOOD
    out = []
    step = max(1, k // 2)
    for start in range(0, max(1, n - k + 1), step):
        out.append(list(range(start, min(n, start + k))))
    by_sup: dict[int, list[int]] = {}
    for bid in inst.bids:
        by_sup.setdefault(bid.supplier, []).append(bid.lot)
    for s in sorted(by_sup):
        lots = sorted(set(by_sup[s]))
        for i in range(0, len(lots), k):
            out.append(lots[i : i + k])
    return out


def _sub_instance(inst: Instance, sol: Solution, lots: list[int]) -> tuple[Instance, dict, Solution] | None:
    """The sub-round on `lots` with everything else fixed, its index maps, and the current award in it."""
    lotset = set(lots)
    # Close under awarded packages that reach outside.
    changed = True
    while changed:
        changed = False
        for pi in sol.packages:
            pl = {it.lot for it in inst.packages[pi].items}
            if pl & lotset and not pl <= lotset:
                lotset |= pl
                changed = True
        if len(lotset) > MAX_LOTS:
            return None
    used_outside = [0] * len(inst.suppliers)
    for bi, alloc in sol.bids.items():
        if inst.bids[bi].lot not in lotset:
            used_outside[inst.bids[bi].supplier] += sum(alloc.values())
    for pi in sol.packages:
        pkg = inst.packages[pi]
        if not {it.lot for it in pkg.items} <= lotset:
            used_outside[pkg.supplier] += sum(it.quantity for it in pkg.items)

    lot_ids = sorted(lotset, key=lambda i: inst.lots[i].id)
    lot_map = {old: new for new, old in enumerate(lot_ids)}
    lines = []
    line_map: dict[int, int] = {}
    new_lots = []
    for old in lot_ids:
        lot = inst.lots[old]
        idxs = []
        for li in lot.lines:
            line_map[li] = len(lines)
            idxs.append(len(lines))
            lines.append(replace(inst.lines[li], lot=lot_map[old]))
        new_lots.append(Lot(lot.id, tuple(idxs), lot.demand, lot.share_cap))
    bid_map: dict[int, int] = {}
    bids = []
    for bi, bid in enumerate(inst.bids):
        if bid.lot in lotset:
            bid_map[len(bids)] = bi
            bids.append(replace(bid, lot=lot_map[bid.lot]))
    pkg_map: dict[int, int] = {}
    packages = []
    for pi, pkg in enumerate(inst.packages):
        if all(it.lot in lotset for it in pkg.items):
            pkg_map[len(packages)] = pi
            packages.append(replace(pkg, items=tuple(replace(it, lot=lot_map[it.lot]) for it in pkg.items)))
    sub = Instance(
        suppliers=inst.suppliers,
        capacity=[max(0, c - u) for c, u in zip(inst.capacity, used_outside, strict=True)],
        lots=new_lots,
        lines=lines,
        bids=bids,
        packages=packages,
        max_winners=inst.max_winners,
        share=inst.share,
        whole=inst.whole,
        source_rank=inst.source_rank,
    )
    inv_bid = {old: new for new, old in bid_map.items()}
    inv_pkg = {old: new for new, old in pkg_map.items()}
    cur = Solution()
    for bi, alloc in sol.bids.items():
        if bi in inv_bid:
            cur.bids[inv_bid[bi]] = {line_map[li]: q for li, q in alloc.items()}
    for pi, items in sol.packages.items():
        if pi in inv_pkg:
            cur.packages[inv_pkg[pi]] = [{line_map[li]: q for li, q in a.items()} for a in items]
    maps = {"bid": bid_map, "pkg": pkg_map, "line": {new: old for old, new in line_map.items()}}
    return sub, maps, cur


def improve_price(
    inst: Instance,
    sol: Solution,
    *,
    deadline: float,
    work_limit: float | None,
    on_improve: Callable[[Solution], None],
    sub_time: float = 2.0,
) -> tuple[Solution, float, str]:
    """Cheaper awards with at least as many vehicles, neighbourhood by neighbourhood.

    Returns the best award, the deterministic work spent, and what ended the search: "time"
    (the deadline), "work" (the work limit) or "done" (a whole round of neighbourhoods found
    nothing better)."""
    from solver.award.cpsat import AwardModel

    work = 0.0
    hoods = _neighbourhoods(inst)
    rounds = 0
    while True:
        improved_round = False
        for lots in hoods:
            if time.monotonic() >= deadline:
                return sol, work, "time"
            if work_limit is not None and work >= work_limit:
                return sol, work, "work"
            made = _sub_instance(inst, sol, lots)
            if made is None:
                continue
            sub, maps, cur = made
            sub_prep = prepare(sub)
            v0, c0 = objective(sub, cur)
            model = AwardModel(sub, sub_prep)
            model.model.add(model.vehicles >= v0)
            model.hint(cur)
            model.lex_weight = 1 + sum(line.quantity * line.max_cents for line in sub.lines)
            if work_limit is None:
                budget, wl = min(sub_time, deadline - time.monotonic()), sub_time / 2
            else:  # deterministic: only the work limit stops a sub-solve (the deadline still bounds it)
                budget, wl = deadline - time.monotonic(), min(sub_time / 2, work_limit - work)
            if model.lex_fits:
                r = model.solve_phase(objective="lex", time_limit=budget, work_limit=wl, workers=1)
                work += r.deterministic_time
                timed_out = r.timed_out
            else:  # prices too large for one objective: vehicles, then price with them fixed
                r = model.solve_phase(objective="vehicles", time_limit=budget, work_limit=wl / 2, workers=1)
                work += r.deterministic_time
                timed_out = r.timed_out
                if r.solution is not None:
                    model.model.add(model.vehicles >= objective(sub, r.solution)[0])
                    model.hint(r.solution)
                    r2 = model.solve_phase(
                        objective="price",
                        time_limit=max(0.01, deadline - time.monotonic()),
                        work_limit=wl / 2,
                        workers=1,
                    )
                    work += r2.deterministic_time
                    timed_out = timed_out or r2.timed_out
                    r = r2 if r2.solution is not None else r
            if timed_out and work_limit is not None:
                # The clock cut this sub-solve short of its work: what it found depends on the
                # machine's speed, so it is not used (the award stays reproducible) and the
                # search ends here.
                return sol, work, "time"
            if r.solution is None:
                continue
            v1, c1 = objective(sub, r.solution)
            if (v1, -c1) <= (v0, -c0):
                continue
            # rebuild: drop everything inside the neighbourhood, add the sub-solution
            inside_bids = set(maps["bid"].values())
            inside_pkgs = set(maps["pkg"].values())
            new = Solution(
                {bi: a for bi, a in sol.bids.items() if bi not in inside_bids},
                {pi: items for pi, items in sol.packages.items() if pi not in inside_pkgs},
            )
            lm = maps["line"]
            for sbi, alloc in r.solution.bids.items():
                new.bids[maps["bid"][sbi]] = {lm[li]: q for li, q in alloc.items()}
            for spi, items in r.solution.packages.items():
                new.packages[maps["pkg"][spi]] = [{lm[li]: q for li, q in a.items()} for a in items]
            new.bids = dict(sorted(new.bids.items()))
            new.packages = dict(sorted(new.packages.items()))
            vn, cn = objective(inst, new)
            vo, co = objective(inst, sol)
            if (vn, -cn) > (vo, -co):
                sol = new
                improved_round = True
                on_improve(sol)
        rounds += 1
        if not improved_round:
            return sol, work, "done"
