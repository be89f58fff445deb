"""Two deterministic searches side by side, one answer whichever finishes first (issue 17).

The 200-bid rounds prove their optimum on one core (CP-SAT, one worker); a machine has two. A
proof's length varies a lot with CP-SAT's parameters (its search order), and no parameter set is
best on every round. `first_proven` runs the same search with two parameter sets on two threads
(CP-SAT releases the GIL while it searches) and returns:

1. the first result that `decisive` accepts (a proof), stopping the other search;
2. otherwise, once both have ended on their work limits, the primary search's result.

It is the same function of the input whichever thread finishes first, on any machine under any
load: a decisive result is unique by the caller's contract (a proven tie-break is the rule's one
award), every search runs on its own deterministic work limit, and when neither proves, the
primary's result (as the single search gave it before) is taken. With fewer than two cores the
two searches run one after the other, the secondary only when the primary proved nothing: the
same answer, without the speed-up.

A search is a callable taking a `Stop`: it must hand every CP-SAT solver it creates to
`Stop.watch` (before its solve), so that the loser can be stopped in milliseconds.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

R = TypeVar("R")
# How often a stopped search's current solver is told again to stop (seconds): a solver created
# between two calls, before its solve started, would otherwise run on.
STOP_POLL = 0.01
# How often a wait for the first decisive result looks again without being woken (seconds).
WAIT_POLL = 0.05


def cores() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Stop:
    """What a search's solvers watch: once `stop()` is called, every solver it watches (and every
    one it is handed after that, with a negligible work limit) ends its search."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopped = False
        self._solvers: list[cp_model.CpSolver] = []

    @property
    def stopped(self) -> bool:
        return self._stopped

    def watch(self, solver: cp_model.CpSolver) -> None:
        with self._lock:
            self._solvers.append(solver)
            if self._stopped:
                solver.parameters.max_deterministic_time = 0.0
                solver.parameters.max_time_in_seconds = 0.0

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            for s in self._solvers:
                s.stop_search()


class Search(Generic[R]):
    """One search on its own thread, started at once: `search(stop)`'s result, or the error it raised."""

    def __init__(self, search: Callable[[Stop], R], done: threading.Event | None = None) -> None:
        self.stop = Stop()
        self.result: R | None = None
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self.done = done or threading.Event()

        def body() -> None:
            try:
                self.result = search(self.stop)
            except BaseException as exc:  # re-raised in the caller's thread
                self.error = exc
            finally:
                self.finished.set()
                self.done.set()

        self.thread = threading.Thread(target=body, daemon=True)
        self.thread.start()

    def end(self) -> None:
        """Stop the search and wait for its thread."""
        self.stop.stop()
        while self.thread.is_alive():
            self.thread.join(STOP_POLL)
            self.stop.stop()


def first_decisive(searches: list[tuple[Search[R], Callable[[R], bool]]]) -> R | None:
    """Wait for the searches (each with its own test of a decisive result): the first decisive
    result, or None once all have ended without one; every search is stopped and ended on return."""
    done = searches[0][0].done
    try:
        while True:
            for search, _ in searches:
                if search.error is not None:
                    raise search.error
            for search, decisive in searches:
                if search.finished.is_set() and search.result is not None and decisive(search.result):
                    return search.result
            if all(search.finished.is_set() for search, _ in searches):
                return None
            done.wait(WAIT_POLL)  # (polled too: a search adopted with its own event)
            done.clear()
    finally:
        for search, _ in searches:
            search.end()


def first_proven(
    primary: Callable[[Stop], R],
    secondary: Callable[[Stop], R],
    decisive: Callable[[R], bool],
    *,
    parallel: bool | None = None,
) -> R:
    """The first decisive result of the two searches, else the primary's (module docstring).
    `parallel` (default: at least two cores) runs them side by side; else one after the other."""
    if parallel is None:
        parallel = cores() >= 2
    if not parallel:
        first = primary(Stop())
        if decisive(first):
            return first
        second = secondary(Stop())
        return second if decisive(second) else first
    done = threading.Event()
    runs = [Search(primary, done), Search(secondary, done)]
    got = first_decisive([(run, decisive) for run in runs])
    return runs[0].result if got is None else got  # type: ignore[return-value]  # neither decisive


_local = threading.local()


def phase_hook() -> Callable[[cp_model.CpSolver], None] | None:
    """What this thread's searches do to every solver they create (`hooked`), else None."""
    hook: Callable[[cp_model.CpSolver], None] | None = getattr(_local, "hook", None)
    return hook


def hooked(search: Callable[[], R], params: Mapping[str, object]) -> Callable[[Stop], R]:
    """`search` as a search for this module: every solver it creates (which calls `phase_hook`)
    gets `params` on top of its own and is watched by the search's Stop."""

    def run(stop: Stop) -> R:
        def hook(solver: cp_model.CpSolver) -> None:
            for name, value in params.items():
                setattr(solver.parameters, name, value)
            stop.watch(solver)

        _local.hook = hook
        try:
            return search()
        finally:
            _local.hook = None

    return run


def two_stage(
    primary: Callable[[Stop], R],
    secondary: Callable[[Stop], R],
    proven: Callable[[R], bool],
    finish: Callable[[R], bool],
    *,
    parallel: bool | None = None,
) -> R:
    """Two first stages raced, then a second stage (`finish(r)`: run on r in place, True when the
    result is then decisive) on the first that `proven` accepts. The same function of the input as,
    one after the other:

        a = primary(Stop()); if proven(a) and finish(a): return a
        b = secondary(Stop()); if proven(b) and finish(b): return b
        return a  # (finished when proven)

    `finish` is deterministic, and a decisive result is the same whichever stage gave it (the
    caller's contract: a proven optimum's canonical award). In parallel, the first stage to prove
    stops the other and goes on alone; only when its second stage is not decisive is the other's
    first stage run again to its end (the same bytes: each search is deterministic)."""
    if parallel is None:
        parallel = cores() >= 2
    done: dict[int, R] = {}
    if parallel:
        event = threading.Event()
        runs = [Search(primary, event), Search(secondary, event)]
        got = first_decisive([(run, proven) for run in runs])
        if got is None:  # neither proved: the primary's result (it ran to its end)
            return runs[0].result  # type: ignore[return-value]
        first = 0 if got is runs[0].result else 1
        done[first] = got
    else:
        done[0] = primary(Stop())
        first = 0 if proven(done[0]) else 1
        if first == 1:
            done[1] = secondary(Stop())
            if not proven(done[1]):
                return done[0]
    if finish(done[first]):
        return done[first]
    other = 1 - first
    if other not in done:
        done[other] = (primary, secondary)[other](Stop())
    if proven(done[other]) and finish(done[other]):
        return done[other]
    return done[0]
