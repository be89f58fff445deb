"""Backup winners: for each (lot, winning supplier) of an award, the best re-award of the lines
that supplier served there if it drops out (contract section 2, "Backups").

Every other award row stays as it is. The replacement sources are the bids of the other
suppliers in the lot (packages are not reused); a bid already awarded grows, its new total
stays in its range and the backup vehicles are priced at the tier of that total; the
suppliers' remaining capacity, the share cap and the winner limit (counting the suppliers
that still win in the lot) hold. Most vehicles, then the lowest price.

Each backup is a small award of its own, so it is solved by the award's own model
(solver.award.cpsat.AwardModel and its rule modules) on a derived one-lot instance:
- its lines are the withdrawn supplier's allocations (split service: a line takes back at
  most the vehicles the supplier gave it);
- each candidate bid is shifted by what it already has, e: range [max(1, min - e), max - e],
  tier minimums less e (the tiers below the new minimum collapse into the one reached), so
  the derived bid's all-units price at q is the original tier price at e + q;
- the share cap and the remaining capacity become the derived bid's maximum (a supplier has
  at most one bid per lot and packages are not reused, so its bid is all it can add there);
- the winner limit counts only suppliers new to the lot (stated here: the award's rule
  module counts every winner of the lot, and the suppliers that still win there take no
  new place).
The empty replacement is always feasible (it is the search's hint), so a work limit never
leaves a backup without an answer; `proven` says whether its optimum was proven.

Ties (TIE_RULE): among the replacements with the most vehicles and the lowest price, the one
returned is the least T of the award's tie-break (solver.award.TIE_BREAK_RULE, cpsat.tie_weights)
on the derived round, searched like the award's on the proven optimum (AwardModel.canonical).

Work: every search runs on CP-SAT deterministic work, so the backups are the same bytes on any
machine: each backup's phases at most WORK_PER_BACKUP each, all backups together at most
`work_limit` (default default_work_limit: BACKUP_WORK_SHARE of the award's work limit). Past the
budget, a backup is the award's greedy on its derived round (valid, not proven).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from solver.award import backups_pool, deliveries, race
from solver.award.instance import Bid, Instance, Line, Lot, Tier
from solver.award.prep import prepare
from solver.award.solution import Solution, objective
from solver.money import from_cents
from solver.order import natural_key
from solver.quarters import format_quarter

# Deterministic work (CP-SAT deterministic seconds) one backup's search may spend, and its
# tie-break as much again: a lot's lines and its bidders make models of tens to a few hundred
# variables, proven in well under 0.05.
WORK_PER_BACKUP = 1.0
# All backups together spend at most this share of the award's work limit (the target: backups
# add at most 25 % to an award's time).
BACKUP_WORK_SHARE = 0.25
# The tie-break among equally good replacements, as stats.backups.tie_break states it.
TIE_RULE = (
    "among replacements with the most vehicles and the lowest price, the least T of the award's"
    " tie-break on the derived round: sources = the bids of the other suppliers in the lot, lines ="
    " the freed lines, each in natural id order; applied: that least T is proven"
)


def default_work_limit(award_work_limit: float) -> float:
    """The backups' total work budget for an award searched with `award_work_limit`."""
    return BACKUP_WORK_SHARE * award_work_limit


@dataclass
class _Tally:
    """What the award gives each bid, supplier and lot (index-based)."""

    bid_quantity: dict[int, int] = field(default_factory=dict)
    used: dict[int, int] = field(default_factory=dict)  # supplier -> vehicles
    in_lot: dict[tuple[int, int], int] = field(default_factory=dict)  # (supplier, lot) -> vehicles
    served: dict[tuple[int, int], dict[int, int]] = field(default_factory=dict)  # (lot, supplier) -> line -> vehicles


def _tally(inst: Instance, sol: Solution) -> _Tally:
    t = _Tally()

    def add(supplier: int, lot: int, alloc: dict[int, int]) -> None:
        q = sum(alloc.values())
        if not q:
            return
        t.used[supplier] = t.used.get(supplier, 0) + q
        t.in_lot[supplier, lot] = t.in_lot.get((supplier, lot), 0) + q
        lines = t.served.setdefault((lot, supplier), {})
        for li, v in alloc.items():
            if v:
                lines[li] = lines.get(li, 0) + v

    for bi, alloc in sol.bids.items():
        q = sum(alloc.values())
        if q:
            t.bid_quantity[bi] = q
            add(inst.bids[bi].supplier, inst.bids[bi].lot, alloc)
    for pi, items in sol.packages.items():
        pkg = inst.packages[pi]
        for item, alloc in zip(pkg.items, items, strict=True):
            add(pkg.supplier, item.lot, alloc)
    return t


def shifted_bid(bid: Bid, already: int, room: int) -> Bid | None:
    """The bid as seen by a backup: quantities on top of `already`, at most `room` more; None
    when it cannot grow. Its all-units price at q is the original tier price at already + q."""
    lo = max(1, bid.min_quantity - already)
    hi = min(bid.max_quantity - already, room)
    if lo > hi:
        return None
    first = bid.tiers[bid.tier_at(already + lo)]
    tiers = [Tier(lo, first.cents)]
    tiers += [Tier(t.min_quantity - already, t.cents) for t in bid.tiers if lo < t.min_quantity - already <= hi]
    return Bid(bid.id, bid.supplier, 0, lo, hi, tuple(tiers), quarters=bid.quarters)


@dataclass
class Backup:
    lot: int
    withdrawn: int
    freed: dict[int, int]  # line -> vehicles the withdrawn supplier gave it
    # (bid index in the award instance, {line: vehicles}) of the replacement, in bid order
    replacement: list[tuple[int, dict[int, int]]]
    proven: bool
    canonical: bool = False  # the tie-break's least T is proven (TIE_RULE)
    # with delivery quarters: (bid index, line) -> {quarter ordinal: vehicles}, the earliest the
    # remaining quarterly capacities allow
    deliveries: dict[tuple[int, int], dict[int, int]] = field(default_factory=dict)


def compute(
    inst: Instance,
    sol: Solution,
    *,
    deadline: float,
    work_limit: float,
    work_per_backup: float = WORK_PER_BACKUP,
) -> tuple[list[Backup], str]:
    """Every backup of the award `sol`, by lot then withdrawn supplier (natural id order), and what
    cut them short: "nothing"; "work" (the budget `work_limit` ran out: the rest are the greedy's,
    the same on every machine); "time" (the clock, a safety cap, ran out: the rest are left empty
    without a search; valid, not proven)."""
    t = _tally(inst, sol)
    quarter_room = _room(inst, sol)
    budget = _Budget(work_limit)
    bids_of_lot: dict[int, list[int]] = {}
    for bi, bid in enumerate(inst.bids):
        bids_of_lot.setdefault(bid.lot, []).append(bi)
    keys = sorted(t.served)

    def one(i: int, b: backups_pool.Budget) -> Backup:
        lot, withdrawn = keys[i]
        return _one(inst, t, quarter_room, lot, withdrawn, bids_of_lot.get(lot, []), deadline, work_per_backup, b)

    def unsearched(i: int) -> Backup:
        # the clock is up: the rest empty, unsearched (building each cost ~0.5 ms at 25,000 bids)
        lot, withdrawn = keys[i]
        return Backup(lot, withdrawn, dict(sorted(t.served[lot, withdrawn].items())), [], False)

    # on two threads with two cores, the same backups as one after the other (solver.award.backups_pool)
    workers = backups_pool.WORKERS if race.cores() >= backups_pool.WORKERS else 1
    if workers > 1:
        from solver import cpsat_import

        cpsat_import.load()  # once, before the threads (its stand-in for pandas is not for two at once)
    out = list(backups_pool.ordered(len(keys), one, unsearched, budget, workers))
    return out, "time" if budget.clock else "work" if budget.out_of_work else "nothing"


class _Budget:
    """The backups' deterministic work left, and what stopped a search."""

    def __init__(self, work: float):
        self.left = work
        self.out_of_work = False
        self.clock = False

    def take(self, most: float) -> float:
        return max(0.0, min(most, self.left))

    def spend(self, work: float) -> None:
        self.left -= work


def _room(inst: Instance, sol: Solution) -> list[dict[deliveries.CapKey, int]]:
    """Per supplier, what its quarterly capacity entries still take after the award's deliveries
    (the schedule the award's output writes); the input's entries when nothing is delivered."""
    if not inst.with_quarters or not any(inst.quarterly):
        return [dict(c) for c in inst.quarterly]
    sched = deliveries.schedule(inst, sol)
    assert sched is not None, "an award that cannot be delivered"
    return deliveries.room_left(inst, deliveries.used(inst, sched))


def _one(
    inst: Instance,
    t: _Tally,
    quarter_room: list[dict[deliveries.CapKey, int]],
    lot: int,
    withdrawn: int,
    candidates: list[int],
    deadline: float,
    work: float,
    budget: backups_pool.Budget,
) -> Backup:
    freed = dict(sorted(t.served[lot, withdrawn].items()))
    empty = Backup(lot, withdrawn, freed, [], True, True)
    share_cap = inst.lots[lot].share_cap
    others = [bi for bi in candidates if inst.bids[bi].supplier != withdrawn]
    derived: list[tuple[int, Bid]] = []  # (award bid index, shifted bid)
    for bi in others:
        bid = inst.bids[bi]
        s = bid.supplier
        room = min(
            inst.capacity[s] - t.used.get(s, 0),
            share_cap - t.in_lot.get((s, lot), 0),
            sum(freed.values()),
        )
        sb = shifted_bid(bid, t.bid_quantity.get(bi, 0), room)
        if sb is not None:
            derived.append((bi, sb))
    if not derived:
        return empty

    line_ids = list(freed)
    lines = [
        Line(
            id=inst.lines[li].id,
            lot=0,
            quantity=freed[li],
            max_cents=inst.lines[li].max_cents,
            excluded=inst.lines[li].excluded,
            fleet=inst.lines[li].fleet,
            window=inst.lines[li].window,
        )
        for li in line_ids
    ]
    demand = sum(freed.values())
    sub = Instance(
        suppliers=inst.suppliers,
        capacity=[max(0, c - t.used.get(s, 0)) for s, c in enumerate(inst.capacity)],
        lots=[Lot(inst.lots[lot].id, tuple(range(len(lines))), demand, demand, segment=inst.lots[lot].segment)],
        lines=lines,
        bids=[sb for _, sb in derived],
        packages=[],
        max_winners=None,
        share=Decimal(1),
        whole=inst.whole,
    )
    # delivery quarters: the same span, the quarterly capacities the award leaves
    sub.quarterly = quarter_room
    sub.span = inst.span
    # TIE_RULE's ranks: every bid of another supplier in the lot (not only those that can grow),
    # so the rule reads from the documents alone
    sub.source_rank = {
        bid_id: r for r, bid_id in enumerate(sorted((inst.bids[bi].id for bi in others), key=natural_key))
    }
    prep = prepare(sub)
    if not prep.tiers:
        return empty

    if deadline - time.monotonic() < 0.05:  # the call's clock is up: no search (valid, not proven)
        budget.clock = True
        return Backup(lot, withdrawn, freed, [], False)
    if budget.take(work) <= 0.0:  # the work budget is spent: the greedy (the same on every machine)
        budget.out_of_work = True
        return _greedy(inst, t, lot, withdrawn, sub, prep, freed, line_ids, derived)

    from solver.award.cpsat import AwardModel

    model = AwardModel(sub, prep)
    if not model.price_fits:
        return _greedy(inst, t, lot, withdrawn, sub, prep, freed, line_ids, derived)
    if inst.max_winners is not None:
        staying = {s for (s, lt) in t.in_lot if lt == lot and s != withdrawn}
        places = inst.max_winners - len(staying)
        new = {s: vs for (s, _), vs in model.families.selections_in_lot().items() if s not in staying}
        if len(new) > places:
            m = model.model
            ws = []
            for _, vs in sorted(new.items()):
                w = m.new_bool_var("")
                for v in vs:
                    m.add_implication(v, w)
                ws.append(w)
            m.add(sum(ws) <= places)
    model.hint(Solution())
    proven = True
    r = None
    goals: tuple[Literal["lex", "vehicles", "price"], ...] = ("lex",) if model.lex_fits else ("vehicles", "price")
    for goal in goals:
        if goal == "price" and r is not None and r.solution is not None:
            model.model.add(model.vehicles >= objective(sub, r.solution)[0])
            model.hint(r.solution)
        limit = budget.take(work)
        r = model.solve_phase(
            objective=goal,
            time_limit=max(0.01, deadline - time.monotonic()),
            work_limit=limit,
            workers=1,
        )
        budget.spend(r.deterministic_time)
        proven = proven and r.optimal
        if r.timed_out:
            budget.clock = True
        elif not (r.optimal or r.infeasible):
            budget.out_of_work = True
    if r is None or r.solution is None:
        return Backup(lot, withdrawn, freed, [], False)
    sol = r.solution
    canonical = False
    if proven:
        sol, canonical = _tie_break(model, sub, sol, deadline, work, budget)
    return _backup(lot, withdrawn, freed, sub, sol, line_ids, derived, proven, canonical)


def _tie_break(
    model: Any, sub: Instance, sol: Solution, deadline: float, work: float, budget: backups_pool.Budget
) -> tuple[Solution, bool]:
    """TIE_RULE: the least-T replacement among those as good as `sol` (a proven optimum), and
    whether that least T is proven; on its own share of the work (WORK_PER_BACKUP, within the
    budget), like the award's tie-break."""
    vehicles, cents = objective(sub, sol)
    if vehicles == 0:
        return sol, True  # the empty replacement is the only one with no vehicles
    limit = budget.take(work)
    if limit <= 0.0:
        budget.out_of_work = True
        return sol, False
    if deadline - time.monotonic() < 0.05:
        budget.clock = True
        return sol, False
    r = model.canonical(vehicles, cents, sol, time_limit=deadline - time.monotonic(), work_limit=limit)
    budget.spend(r.deterministic_time)
    if not r.proven:
        if r.timed_out:
            budget.clock = True
        else:
            budget.out_of_work = True
    if r.solution is not None and objective(sub, r.solution) == (vehicles, cents):
        return r.solution, r.proven
    return sol, False


def _backup(
    lot: int,
    withdrawn: int,
    freed: dict[int, int],
    sub: Instance,
    s: Solution,
    line_ids: list[int],
    derived: list[tuple[int, Bid]],
    proven: bool,
    canonical: bool = False,
) -> Backup:
    """The derived round's award `s` as a backup of the award instance (indices mapped back)."""
    replacement = [
        (derived[bi][0], {line_ids[li]: v for li, v in alloc.items()})
        for bi, alloc in sorted(s.bids.items())
        if sum(alloc.values())
    ]
    when: dict[tuple[int, int], dict[int, int]] = {}
    if sub.with_quarters:
        sched = deliveries.schedule(sub, s)
        assert sched is not None, "a backup that cannot be delivered"
        when = {(derived[key[1]][0], line_ids[key[3]]): d for key, d in sched.items()}
    return Backup(lot, withdrawn, freed, replacement, proven, canonical, when)


def _greedy(
    inst: Instance,
    t: _Tally,
    lot: int,
    withdrawn: int,
    sub: Instance,
    prep: Any,
    freed: dict[int, int],
    line_ids: list[int],
    derived: list[tuple[int, Bid]],
) -> Backup:
    """Prices too large for the exact model's 64-bit integers: the award's greedy on the derived
    round, with every winner counted (stricter than the rule, so still valid)."""
    from solver.award.greedy import greedy

    if inst.max_winners is not None:
        staying = {s for (s, lt) in t.in_lot if lt == lot and s != withdrawn}
        sub.max_winners = max(0, inst.max_winners - len(staying))
        if sub.max_winners == 0:
            return Backup(lot, withdrawn, freed, [], False)
    return _backup(lot, withdrawn, freed, sub, greedy(sub, prep), line_ids, derived, False)


def to_output(inst: Instance, sol: Solution, backups: list[Backup]) -> list[dict[str, Any]]:
    """The `backups` list of the award result."""
    t = _tally(inst, sol)
    out = []
    for b in backups:
        rows: list[dict[str, Any]] = []
        total = covered = 0
        for bi, alloc in b.replacement:
            bid = inst.bids[bi]
            q = sum(alloc.values())
            cents = bid.tiers[bid.tier_at(t.bid_quantity.get(bi, 0) + q)].cents
            total += q * cents
            covered += q
            rows.append(
                {
                    "source": bid.id,
                    "supplier": inst.suppliers[bid.supplier],
                    "quantity": q,
                    "unit_price": from_cents(cents),
                    "allocations": [
                        _allocation(inst, b, bi, li, v)
                        for li, v in sorted(alloc.items(), key=lambda kv: inst.lines[kv[0]].id)
                        if v > 0
                    ],
                }
            )
        out.append(
            {
                "lot": inst.lots[b.lot].id,
                "withdrawn": inst.suppliers[b.withdrawn],
                "quantity": sum(b.freed.values()),
                "covered_quantity": covered,
                "replacement": rows,
                "total_price": from_cents(total),
            }
        )
    return out


def _allocation(inst: Instance, b: Backup, bi: int, li: int, v: int) -> dict[str, Any]:
    row: dict[str, Any] = {"demand": inst.lines[li].id, "quantity": v}
    if inst.with_quarters:
        row["deliveries"] = [{"quarter": format_quarter(q), "quantity": n} for q, n in b.deliveries[bi, li].items()]
    return row


def of_result(
    doc: Any, result: Any, *, time_limit: float = 60.0, work_limit: float | None = None
) -> list[dict[str, Any]]:
    """The backups of an award result already made (e.g. with backups=False): the same list an
    award with backups would carry (by default the budget of the result's stats.limits.work_limit).
    The result must be valid for the document."""
    from solver.award.instance import parse

    deadline = time.monotonic() + time_limit
    inst = parse(doc)
    sol = solution_of(inst, result)
    if work_limit is None:
        work_limit = default_work_limit(_award_work_limit(inst, result))
    found, _ = compute(inst, sol, deadline=deadline, work_limit=work_limit)
    return to_output(inst, sol, found)


def solution_of(inst: Instance, result: Any) -> Solution:
    """The award `result` (an output document valid for `inst`) as a Solution of `inst`."""
    bid_of = {b.id: i for i, b in enumerate(inst.bids)}
    package_of = {p.id: i for i, p in enumerate(inst.packages)}
    line_of = {line.id: i for i, line in enumerate(inst.lines)}
    lot_of = {lot.id: i for i, lot in enumerate(inst.lots)}
    sol = Solution()
    for row in result["awards"]:
        alloc = {line_of[a["demand"]]: int(a["quantity"]) for a in row["allocations"]}
        if row["source"] in bid_of:
            sol.bids[bid_of[row["source"]]] = alloc
        else:
            pi = package_of[row["source"]]
            items = inst.packages[pi].items
            got = sol.packages.setdefault(pi, [{} for _ in items])
            got[next(k for k, it in enumerate(items) if it.lot == lot_of[row["lot"]])] = alloc
    return sol


def _award_work_limit(inst: Instance, result: Any) -> float:
    """The award's work limit: the result's, else the default for the round's size."""
    limit = ((result.get("stats") or {}).get("limits") or {}).get("work_limit")
    if limit is not None:
        return float(limit)
    from solver.award import default_work_limit as award_default
    from solver.award.cpsat import model_size

    return award_default(model_size(inst, prepare(inst)), len(inst.bids) + len(inst.packages), any(inst.quarterly))
