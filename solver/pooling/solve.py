"""`pool`: parse, pre-process, greedy start, exact phases per component, assemble."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from solver.gcpause import no_gc
from solver.pooling.assemble import assemble
from solver.pooling.components import Component, prepare
from solver.pooling.exact import Budget, Search, load_engine
from solver.pooling.greedy import greedy
from solver.pooling.parse import parse
from solver.pooling.types import PoolingResult, Stats
from solver.progress import Progress, ProgressCallback


class _Tracker:
    """Totals over components for progress reports: best known objective and vehicle bound."""

    def __init__(self, callback: ProgressCallback | None, start: float):
        self.callback, self.start = callback, start
        self.obj: list[tuple[int, int, int]] = []
        self.bound: list[int] = []

    def set(self, i: int, obj: tuple[int, int, int], bound: int) -> None:
        self.obj[i] = obj
        self.bound[i] = bound

    def emit(self, phase: str) -> None:
        if self.callback is None:
            return
        self.callback(
            Progress(
                phase=phase,
                elapsed=time.monotonic() - self.start,
                quantity=sum(o[0] for o in self.obj),
                quantity_bound=sum(self.bound),
                lots=sum(o[1] for o in self.obj),
            )
        )


WORK_CAP = 6.0  # the default's ceiling: what a quiet core spends in well under 45 s (see below)
LEFTOVER = 3.0  # a component may use up to this many times its share of the stage's work
TIME_SLACK = 4.0  # a component may use up to this many times its share of the stage's clock


def default_work_limit(components: list[Component]) -> float:
    """The deterministic work the exact phases get when none is asked for: 5, plus 1 per 4,000
    (class, slot) pairs, at most WORK_CAP, from the model's size only, so a re-run anywhere
    spends the same work. A deterministic second costs 2-10 s of CPU on these models (presolve
    and the LP's cuts count little in CP-SAT's work; the vehicles phase about 10 s, lots and
    spread 2-6 s), so the ceiling keeps rounds ending on work with a quarter of a 60 s limit to
    spare. Measured (bench.pooling, one process each): at 8, 10,000 default lines spent 50-55 s
    of CPU and a run beside a busy process ended on the clock; at 6, 44 s at load 16, pooled =
    bound (70,347), by work, 48 of 72 components proven (49 at 8); 100,000 skewed lines 35.8 s
    (43.1 s at 8), pooled = bound (709,899), 52 of 78 proven as at 8. 10,000 skewed lines are
    all proven with 5.4, 10,000 default lines have their pooled vehicles proven with 3."""
    pairs = sum(c.size() for c in components)
    return min(WORK_CAP, 5.0 + pairs / 4000)


def pool(
    doc: Mapping[str, Any],
    *,
    time_limit: float = 60.0,
    work_limit: float | None = None,
    workers: int = 1,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Pool demand lines into tender lots (contract section 1); the result document.

    Raises solver.errors.InvalidInput with every problem of an invalid document.

    `time_limit` bounds the whole call in wall-clock seconds (parsing included); the greedy
    start always completes, so a result comes back even past a tiny limit. The exact phases run
    on CP-SAT with `work_limit` deterministic seconds (default: `default_work_limit`, from the
    model's size) shared over the components, and every decision depends on work, not on the
    clock: the same input gives the same bytes on any machine (apart from stats.solve_seconds)
    as long as the wall-clock limit, a safety cap, does not bind first. stats.limits says which
    ended the search. `workers` > 1 runs CP-SAT's interleaved (deterministic) search.

    `progress` is called after the greedy start, at every phase end of every component, on
    each better CP-SAT solution, and once when done. An exception it raises stops the solve and
    propagates; raise solver.errors.Cancelled to cancel. HiGHS phases report only at their
    end, so a cancel waits for the running phase (at most its share of the time limit).
    """
    start = time.monotonic()
    with no_gc():  # builds hundreds of thousands of objects and frees few (solver.gcpause)
        inp = parse(doc)
        rules = inp.rules
        lo, hi = rules.min_lot, rules.max_lot
        prep = prepare(inp)
        comps = prep.components
        solutions = [greedy(c, lo, hi) for c in comps]
    tracker = _Tracker(progress, start)
    tracker.obj = [a.objective(c) for c, a in zip(comps, solutions, strict=True)]
    tracker.bound = [c.quantity for c in comps]
    tracker.emit("greedy")

    if work_limit is None:
        work_limit = default_work_limit(comps)
    load_engine()
    # Keep time to assemble the result: it costs about a quarter to a half of what parsing,
    # pre-processing and the greedy took (1.9 s after 7.2 s at 100,000 lines); measured, so a loaded
    # machine reserves more, with room for the searches overrunning their limits a little.
    reserve = min(0.25 * time_limit, 0.2 + 0.8 * (time.monotonic() - start))
    deadline = start + time_limit - reserve
    searches = []
    for i, comp in enumerate(comps):

        def report(phase: str, obj: tuple[int, int, int], bound: int, i: int = i) -> None:
            cur = tracker.obj[i]
            if (-obj[0], obj[1], obj[2]) < (-cur[0], cur[1], cur[2]):
                cur = obj
            tracker.set(i, cur, min(bound, tracker.bound[i]))
            tracker.emit(phase)

        searches.append(Search(comp, lo, hi, solutions[i], workers, report))

    # Stage 1 gives every component its vehicles phase (up to 3/4 of the time), stage 2 spends the
    # rest on lots and spread, a third round what is left on the components still unproven. Each
    # shares its time by model size and hands what a component leaves unused to the next ones.
    # The work limit is shared the same way (so a work-limited run does not depend on the clock).
    work_left: float = work_limit
    for stage, fraction in (("vehicles", 0.75), ("finish", 1.0), ("again", 1.0)):
        todo = [s for s in searches if not all(s.proven) and not s.trivially_done()]
        # Smallest first (then canonical order): small components finish early and leave their
        # unused share to the large ones, instead of the large ones starving the small.
        todo.sort(key=lambda s: s.comp.size())
        rest = total = sum(s.comp.size() for s in todo)
        stage_end = time.monotonic() + max(0.0, deadline - time.monotonic()) * fraction
        work_stage = work_left * fraction
        first_work = work_stage
        for j, s in enumerate(todo):
            # At least an equal share of what is left: a share by size alone starved the smallest
            # components (0.01 s for a 10-pair model, too little to prove even its vehicles), and
            # what a small component leaves unused goes on to the larger ones anyway.
            share = max(s.comp.size() / rest if rest else 1.0, 1 / (len(todo) - j))
            rest -= s.comp.size()
            # The clock is a safety cap only: a component may take several times its share of it
            # (a deterministic second costs 2-10 s of CPU depending on the model), so that on a
            # quiet machine the work, the same everywhere, ends every phase.
            budget = Budget(
                seconds=max(0.0, (stage_end - time.monotonic()) * min(1.0, TIME_SLACK * share)),
                # What the others left unused goes on, but at most LEFTOVER times the component's own
                # share: it all went to the largest component (34,000 pairs at 100,000 lines), which
                # spent 30 s of CPU on 7 deterministic seconds and improved nothing.
                work=max(
                    0.0,
                    min(work_stage * share, LEFTOVER * first_work * max(s.comp.size() / (total or 1), 1 / len(todo))),
                ),
            )
            used = s.work_used
            if stage == "vehicles":
                s.vehicles(budget)
            elif stage == "finish":
                s.finish(budget)
            else:
                t0 = time.monotonic()
                if not s.proven[0]:
                    s.vehicles(Budget(budget.seconds / 2, budget.work / 2))
                spent = time.monotonic() - t0
                s.finish(Budget(max(0.0, budget.seconds - spent), budget.work / 2))
            work_stage -= s.work_used - used
            work_left -= s.work_used - used
    for s in searches:
        if s.trivially_done():
            s.proven = [True, True, True]
            s.lots_bound, s.spread_bound = s.best_obj[1], 0
    outcomes = [s.outcome() for s in searches]
    solutions = [o.assignment for o in outcomes]
    for i, o in enumerate(outcomes):
        tracker.set(i, o.objective, o.bound)
    lots_bound = [o.lots_bound for o in outcomes]
    spread_bound = [o.spread_bound for o in outcomes]
    proven = [o.proven for o in outcomes]
    # Any clock stop may have changed which solution a phase kept, proven or not.
    stops = frozenset().union(*(o.stops for o in outcomes))

    with no_gc():
        lots, unpooled = assemble(prep, solutions, rules)
    total = sum(line.quantity for line in inp.lines)
    pooled = sum(lot.quantity for lot in lots)
    status = "OPTIMAL" if all(proven) else "FEASIBLE"
    stats = Stats(
        total_quantity=total,
        pooled_quantity=pooled,
        lots=len(lots),
        spread=sum(lot.spread for lot in lots),
        bound=sum(tracker.bound),
        lots_bound=sum(lots_bound),
        spread_bound=sum(spread_bound),
        components=len(comps),
        components_proven=sum(proven),
        solve_seconds=time.monotonic() - start,
        work_limit=work_limit,
        stopped_by="time" if "time" in stops else "work" if stops or not all(proven) else "nothing",
    )
    tracker.emit("done")
    return PoolingResult(status, lots, unpooled, stats).to_dict()
