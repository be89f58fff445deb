"""The exact award model in CP-SAT, solved in lexicographic phases.

Variables (only for the pairs that pre-processing kept):
- per reachable tier t of a bid: y[t] (the bid is awarded at tier t) and, per eligible line l,
  x[t,l]: a boolean (whole line service: line l goes whole to this bid) or an integer in
  [0, quantity] (split service). The bid's quantity is q[t] = sum over l, with
  lo[t]*y[t] <= q[t] <= hi[t]*y[t], priced linearly at tier t's unit price: the convex
  hull form of an all-units discount (one (chosen, quantity) pair per tier, at most one
  tier per bid);
- per package: z[p], and per item the same line variables with sum = quantity * z[p];
- per lot with a winner limit: w[s,lot] >= every y/z of supplier s in the lot,
  sum_s w[s,lot] <= max winners; the share cap is sum <= cap * w[s,lot].
Capacity is one linear constraint per supplier. Reserve prices and exclusions are not
constraints: the pairs they forbid do not exist.

With `serve_all`, every line that some source can serve must be served (whole: exactly one
source; split: its full quantity). When that is feasible it is exactly the awards with the
most vehicles possible, and CP-SAT proves the lowest price there 1.4-7 times faster than
through the vehicles x W objective (measured on 200-bid rounds, whole and split service: the
per-line equalities propagate and cut far better than one global vehicles constraint, which
presolve does not turn into them).

Phases: (1) maximize vehicles x W - cents (W above any award's price: most vehicles, then the
lowest price, in one exact integer objective), hinted with the greedy award, or minimize
cents when every line is served; (2) only when (1) is proven: minimize the canonical
tie-break with vehicles and cents fixed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from solver.award.instance import Instance
from solver.award.prep import Prepared
from solver.award.solution import Solution


@dataclass
class PhaseResult:
    solution: Solution | None  # best solution of the phase (None if none found)
    optimal: bool
    bound: int | None  # proven bound of the phase's objective (upper for max, lower for min), if known
    deterministic_time: float
    infeasible: bool = False  # proven: the model has no solution at all
    timed_out: bool = False  # the wall clock stopped it before its work limit (not reproducible)


class AwardModel:
    """The CP-SAT model in the compact (y, x) form above. (A pattern form, one boolean per
    feasible line subset of a bid tier, was measured slower to prove on 200-bid rounds.)"""

    def __init__(self, inst: Instance, prep: Prepared, *, serve_all: bool = False):
        from ortools.sat.python import cp_model

        self.cp_model = cp_model
        self.serve_all = serve_all
        self.inst = inst
        self.prep = prep
        m = cp_model.CpModel()
        self.model = m
        whole = inst.whole
        Q = [line.quantity for line in inst.lines]

        line_terms: list[list[object]] = [[] for _ in inst.lines]
        sup_terms: dict[int, list[tuple[object, int]]] = {}
        sup_max: dict[int, int] = {}
        lot_terms: dict[tuple[int, int], list[tuple[object, int]]] = {}
        lot_max: dict[tuple[int, int], int] = {}
        lot_sel: dict[tuple[int, int], list[object]] = {}
        obj_vars: list[object] = []
        veh_coef: list[int] = []
        price_coef: list[int] = []
        # columns for hints and extraction: (kind, var, data)
        #   ("y", var, (bid, tier)), ("x", var, (bid, tier, line)), ("z", var, package),
        #   ("px", var, (package, item, line)), ("w", var, (supplier, lot))
        self.cols: list[tuple[str, object, object]] = []

        def line_var(li: int, most: int, source: object) -> tuple[object, int]:
            """Line li's allocation to a source chosen by the boolean `source`, and the vehicles
            one unit of it stands for: whole service, a boolean implying the source (the line's
            quantity); split, an integer of at most `most` vehicles (1)."""
            if whole:
                x = m.new_bool_var("")
                m.add_implication(x, source)
                return x, Q[li]
            return m.new_int_var(0, min(Q[li], most), ""), 1

        ubs: list[int] = []
        # (line, source rank, tier or item, variable) of every line allocation: the canonical order
        self.allocation_order: list[tuple[int, int, int, object]] = []

        self.ub_of: dict[int, int] = {}

        def term(var: object, veh: int, cents: int, ub: int = 1) -> None:
            self.ub_of[id(var)] = ub
            ubs.append(ub)
            obj_vars.append(var)
            veh_coef.append(veh)
            price_coef.append(cents)

        bid_sel: dict[int, list[object]] = {}
        for t in prep.tiers:
            bid = inst.bids[t.bid]
            s, lot = bid.supplier, bid.lot
            rank = inst.source_rank[bid.id]
            y = m.new_bool_var("")
            self.cols.append(("y", y, (t.bid, t.tier)))
            xs = []
            units = []
            for li in t.lines:
                x, unit = line_var(li, t.hi, y)
                if not whole:
                    m.add(x <= min(Q[li], t.hi) * y)
                xs.append(x)
                units.append(unit)
                line_terms[li].append(x)
                term(x, unit, unit * t.cents, 1 if whole else min(Q[li], t.hi))
                self.allocation_order.append((li, rank, t.tier, x))
                sup_terms.setdefault(s, []).append((x, unit))
                lot_terms.setdefault((s, lot), []).append((x, unit))
                self.cols.append(("x", x, (t.bid, t.tier, li)))
            qexpr = cp_model.LinearExpr.weighted_sum(xs, units)
            m.add(qexpr >= t.lo * y)
            m.add(qexpr <= t.hi * y)
            bid_sel.setdefault(t.bid, []).append(y)
            lot_sel.setdefault((s, lot), []).append(y)
        for bi, sel in bid_sel.items():
            if len(sel) > 1:
                m.add_at_most_one(sel)
            s, lot = inst.bids[bi].supplier, inst.bids[bi].lot
            hi = max(t.hi for t in prep.tiers_of_bid[bi])
            sup_max[s] = sup_max.get(s, 0) + hi
            lot_max[s, lot] = lot_max.get((s, lot), 0) + hi

        for p in prep.packages:
            s = p.supplier
            z = m.new_bool_var("")
            self.cols.append(("z", z, p.package))
            rank = inst.source_rank[inst.packages[p.package].id]
            for it in p.items:
                xs, units = [], []
                for li in it.lines:
                    x, unit = line_var(li, it.quantity, z)
                    xs.append(x)
                    units.append(unit)
                    line_terms[li].append(x)
                    term(x, 0, 0, 1 if whole else min(Q[li], it.quantity))
                    self.allocation_order.append((li, rank, it.item, x))
                    self.cols.append(("px", x, (p.package, it.item, li)))
                m.add(cp_model.LinearExpr.weighted_sum(xs, units) == it.quantity * z)
                lot_terms.setdefault((s, it.lot), []).append((z, it.quantity))
                lot_max[s, it.lot] = lot_max.get((s, it.lot), 0) + it.quantity
                lot_sel.setdefault((s, it.lot), []).append(z)
            term(z, p.quantity, sum(it.quantity * it.cents for it in p.items))
            sup_terms.setdefault(s, []).append((z, p.quantity))
            sup_max[s] = sup_max.get(s, 0) + p.quantity

        for li, vs in enumerate(line_terms):
            if serve_all and vs:
                if whole:
                    m.add_exactly_one(vs)
                else:
                    m.add(sum(vs) == Q[li])
            elif len(vs) >= 2:
                if whole:
                    m.add_at_most_one(vs)
                else:
                    m.add(sum(vs) <= Q[li])

        for s, terms in sorted(sup_terms.items()):
            if sup_max[s] > inst.capacity[s]:
                m.add(
                    cp_model.LinearExpr.weighted_sum([v for v, _ in terms], [c for _, c in terms]) <= inst.capacity[s]
                )

        by_lot: dict[int, list[int]] = {}
        for s, lot in lot_sel:
            by_lot.setdefault(lot, []).append(s)
        for lot, sups in sorted(by_lot.items()):
            limited = inst.max_winners is not None and len(sups) > inst.max_winners
            ws = []
            for s in sorted(sups):
                terms = lot_terms[s, lot]
                expr = cp_model.LinearExpr.weighted_sum([v for v, _ in terms], [c for _, c in terms])
                cap = min(inst.lots[lot].share_cap, inst.capacity[s])
                if limited:
                    w = m.new_bool_var("")
                    self.cols.append(("w", w, (s, lot)))
                    for v in lot_sel[s, lot]:
                        m.add_implication(v, w)
                    m.add(expr <= min(cap, lot_max[s, lot]) * w)
                    ws.append(w)
                elif lot_max[s, lot] > cap:
                    m.add(expr <= cap)
            if limited:
                m.add(sum(ws) <= inst.max_winners)

        self.vehicles = cp_model.LinearExpr.weighted_sum(obj_vars, veh_coef)
        self.price = cp_model.LinearExpr.weighted_sum(obj_vars, price_coef)
        self.allocation_order.sort(key=lambda a: a[:3])
        ranked = sorted(inst.source_rank.items(), key=lambda kv: kv[1])
        self.source_ids = [sid for sid, _ in ranked]
        self.lex_weight = 1 + sum(line.quantity * line.max_cents for line in inst.lines)
        # CP-SAT refuses (MODEL_INVALID) a linear expression whose terms could sum past 64 bits;
        # these are the largest values the objectives' terms can sum to.
        self.price_potential = sum(c * u for c, u in zip(price_coef, ubs, strict=True))
        vehicle_potential = sum(c * u for c, u in zip(veh_coef, ubs, strict=True))
        self.price_fits = self.price_potential < INT_LIMIT
        # One objective holds both criteria only while vehicles x W stays far from 64 bits
        # (IDR- or VND-like prices of 10^11 minor units overflow it on a few lots): otherwise
        # the criteria are solved one after the other ("vehicles", then "price"), still exact.
        self.lex_fits = self.price_fits and self.lex_weight * vehicle_potential + self.price_potential < INT_LIMIT

    # -- hints and solutions ------------------------------------------------------------
    def hint(self, sol: Solution) -> None:
        inst = self.inst
        m = self.model
        m.clear_hints()
        whole = inst.whole
        wins = {(inst.bids[bi].supplier, inst.bids[bi].lot) for bi, a in sol.bids.items() if sum(a.values())}
        for pi in sol.packages:
            wins.update((inst.packages[pi].supplier, it.lot) for it in inst.packages[pi].items)
        for kind, var, data in self.cols:
            if kind == "y":
                bi, k = data
                q = sol.bid_quantity(bi)
                v = int(bool(q) and inst.bids[bi].tier_at(q) == k)
            elif kind == "x":
                bi, k, li = data
                q = sol.bid_quantity(bi)
                a = sol.bids[bi].get(li, 0) if q and inst.bids[bi].tier_at(q) == k else 0
                v = int(bool(a)) if whole else a
            elif kind == "z":
                v = int(data in sol.packages)
            elif kind == "w":
                v = int(data in wins)
            else:  # px
                pi, ii, li = data
                a = sol.packages[pi][ii].get(li, 0) if pi in sol.packages else 0
                v = int(bool(a)) if whole else a
            m.add_hint(var, v)

    def extract(self, value: Callable[[object], int]) -> Solution:
        inst = self.inst
        Q = [line.quantity for line in inst.lines]
        sol = Solution()
        on_z = set()
        pkg_alloc: dict[int, dict[int, dict[int, int]]] = {}
        for kind, var, data in self.cols:
            if kind in ("y", "w"):
                continue
            v = value(var)
            if not v:
                continue
            if kind == "x":
                bi, _, li = data
                sol.bids.setdefault(bi, {})[li] = Q[li] if inst.whole else v
            elif kind == "z":
                on_z.add(data)
            else:  # px
                pi, ii, li = data
                pkg_alloc.setdefault(pi, {}).setdefault(ii, {})[li] = Q[li] if inst.whole else v
        for pi in sorted(on_z):
            items = pkg_alloc.get(pi, {})
            sol.packages[pi] = [dict(sorted(items.get(ii, {}).items())) for ii in range(len(inst.packages[pi].items))]
        sol.bids = {bi: dict(sorted(a.items())) for bi, a in sorted(sol.bids.items())}
        return sol

    # -- one phase ------------------------------------------------------------------------
    def solve_phase(
        self,
        *,
        objective: Literal["lex", "vehicles", "price"],
        time_limit: float,
        work_limit: float | None,
        workers: int,
        on_solution: Callable[[Solution], None] | None = None,
        on_bound: Callable[[int], None] | None = None,
        proof: bool = False,
        first_solution_only: bool = False,
    ) -> PhaseResult:
        """One phase: "lex" maximizes vehicles x lex_weight - cents (most vehicles, then the lowest
        price; only when `lex_fits`); "vehicles" maximizes vehicles; "price" minimizes cents (for
        the serve_all model, or once vehicles are fixed by a constraint)."""
        cp_model = self.cp_model
        m = self.model
        m.clear_objective()
        maximize = objective in ("lex", "vehicles")
        if objective == "lex":
            m.maximize(self.vehicles * self.lex_weight - self.price)
        elif objective == "vehicles":
            m.maximize(self.vehicles)
        else:
            m.minimize(self.price)

        solver = cp_model.CpSolver()
        prm = solver.parameters
        prm.num_workers = max(1, workers)
        prm.random_seed = 0
        prm.max_time_in_seconds = max(0.01, time_limit)
        if work_limit is not None:
            prm.max_deterministic_time = max(0.001, work_limit)
        prm.linearization_level = 2  # the LP with all constraints: the bounds that certify gaps
        if proof:
            # The whole round's model, to be proven (measured on 200-bid rounds): symmetry
            # detection costs more than it prunes (9.5 -> 5.5 s to the proof), probing pays.
            prm.symmetry_level = 0
        else:
            # Tie-break and neighbourhood sub-models: probing did not pay there (the 2,000-bid
            # benchmark's gap was no better with it; its runs vary between 0.95 and 1.04 %).
            prm.cp_model_probing_level = 0
        if workers > 1:
            prm.interleave_search = True  # deterministic multi-subsolver search
            prm.num_workers = workers
        error: list[BaseException] = []
        outer = self

        class _CB(cp_model.CpSolverSolutionCallback):
            def on_solution_callback(self) -> None:
                if error:
                    return
                try:
                    if on_solution is not None:
                        on_solution(outer.extract(self.value))
                except BaseException as exc:  # e.g. Cancelled from the caller's progress callback
                    error.append(exc)
                    self.stop_search()
                if first_solution_only:
                    self.stop_search()

        if on_bound is not None:

            def _bound(b: float) -> None:
                if error:
                    return
                try:
                    on_bound(round(b))
                except BaseException as exc:
                    error.append(exc)
                    solver.stop_search()

            solver.best_bound_callback = _bound
        status = solver.solve(m, _CB())
        if error:
            raise error[0]
        dt = solver.deterministic_time
        timed_out = (
            status not in (cp_model.OPTIMAL, cp_model.INFEASIBLE)
            and not first_solution_only
            and _clock_stopped(dt, work_limit)
        )
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            sol = self.extract(solver.value)
            bound = solver.best_objective_bound
            bound_i = _floor(bound) if maximize else _ceil(bound)
            return PhaseResult(sol, status == cp_model.OPTIMAL, bound_i, dt, timed_out=timed_out)
        return PhaseResult(None, False, None, dt, infeasible=status == cp_model.INFEASIBLE, timed_out=timed_out)

    # -- the canonical tie-break ----------------------------------------------------------
    def canonical(
        self, vehicles: int, cents: int, hint: Solution, *, time_limit: float, work_limit: float
    ) -> Canonical:
        """The canonical award among those with `vehicles` vehicles and a price of at most `cents`:
        the one of least T = sum of allocation x w(line, source) (tie_weights), the rule stated in
        solver.award.TIE_BREAK_RULE. The search starts from `hint` (an optimum) and only its work
        limit stops it: a proven T minimum is the same award whatever search found the optimum."""
        cp_model = self.cp_model
        m = self.model
        m.clear_objective()
        m.clear_hints()
        m.add(self.vehicles >= vehicles)
        m.add(self.price <= cents)
        pairs = self.allocation_order
        weights = tie_weights(self.inst, [(li, rank) for li, rank, _, _ in pairs], self.source_ids)
        if sum(w * self.ub_of[id(x)] for w, (*_, x) in zip(weights, pairs, strict=True)) >= INT_LIMIT:
            return Canonical(None, False, 0.0, False)  # T could overflow 64 bits: no tie-break
        xs = [x for *_, x in pairs]
        t_expr = cp_model.LinearExpr.weighted_sum(xs, weights)
        m.minimize(t_expr)
        self.hint(hint)
        solver = cp_model.CpSolver()
        prm = solver.parameters
        prm.num_workers = 1
        prm.random_seed = 0
        prm.linearization_level = 2
        prm.cp_model_probing_level = 0
        prm.max_time_in_seconds = max(0.01, time_limit)
        prm.max_deterministic_time = max(0.001, work_limit)
        status = solver.solve(m)
        dt = solver.deterministic_time
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return Canonical(None, False, dt, _clock_stopped(dt, work_limit))
        sol = self.extract(solver.value)
        if status != cp_model.OPTIMAL:
            return Canonical(sol, False, dt, _clock_stopped(dt, work_limit))
        return Canonical(sol, True, dt, False)


@dataclass
class Canonical:
    solution: Solution | None  # the least-T award found (None if none)
    proven: bool  # T's minimum is proven: the award is the rule's
    deterministic_time: float
    timed_out: bool


TIE_HASH_BITS = 24


def tie_weights(inst: Instance, pairs: list[tuple[int, int]], source_ids: list[str]) -> list[int]:
    """w(line, source) = (source rank + 1) x (L + 1 + line rank) x 2^24 + h: lower sources are
    preferred, earlier lines first, and the product (not a sum) makes two awards that swap two
    lines between two sources differ. h is the first 24 bits of BLAKE2b-64(line id, NUL, source
    id): by the isolation lemma (Mulmuley, Vazirani and Vazirani, 1987) the least T is then
    reached by a single award except with a probability below (allocation variables) / 2^24,
    about 10^-4 on a 200-bid round."""
    import hashlib

    n = len(inst.lines)
    k = TIE_HASH_BITS
    out = []
    for li, rank in pairs:
        digest = hashlib.blake2b(f"{inst.lines[li].id}\x00{source_ids[rank]}".encode(), digest_size=8).digest()
        out.append((((rank + 1) * (n + 1 + li)) << k) + (int.from_bytes(digest, "big") >> (64 - k)))
    return out


# Largest magnitude an objective or constraint of the model may reach (CP-SAT checks 2^63 - 1;
# a margin for the sums its presolve forms).
INT_LIMIT = 1 << 60


def _clock_stopped(work_done: float, work_limit: float | None) -> bool:
    """A search that ended unfinished with work left was stopped by the wall clock."""
    return work_limit is None or work_done < 0.98 * work_limit


def _floor(x: float) -> int:
    import math

    return math.floor(x + 1e-6)


def _ceil(x: float) -> int:
    import math

    return math.ceil(x - 1e-6)


def model_size(inst: Instance, prep: Prepared) -> int:
    """Number of line-allocation variables the model would have (its main size driver)."""
    return sum(len(t.lines) for t in prep.tiers) + sum(len(it.lines) for p in prep.packages for it in p.items)


def now() -> float:
    return time.monotonic()
