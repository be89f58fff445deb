"""The tie-break's proof on two cores (solver.award._tie_break, 200-bid rounds; issue 17).

Sequentially the exact search proves the optimum, then the tie-break (cpsat.AwardModel.canonical)
proves the least T among the optima: two proofs of about the same length, one after the other.
Here, with two cores:

- while the exact search goes on, the tie-break already runs on the best award so far, with the
  round's whole work limit (`Speculation`): when that award turns out to be the optimum, the
  tie-break started at its discovery, not at the end of the price proof; a better award stops it
  and starts it again on the new one;
- once the optimum is proven, that search races a second one with other CP-SAT parameters
  (`SECOND_PARAMS`) on the tie-break's own work limit (solver.award.race).

The answer is the same function of the input as on one core, where the primary search runs on the
tie-break's work limit and the secondary only when the primary proved nothing: the rule's award
when either proves T's minimum within that limit, else the primary's unproven award. The early
search counts only when it proved within the limit, having started from the very award (and
objectives) the tie-break starts from; if neither proves, the primary runs again on the limit.
A proof's trajectory does not depend on a work limit it does not reach, so "proven within the
limit" is the same whether the search had that limit or a larger one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from solver.award import race
from solver.award.instance import Instance
from solver.award.prep import Prepared
from solver.award.solution import Solution

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

    from solver.award.cpsat import Canonical

# The second search's CP-SAT parameters, on top of the tie-break's own: without probing. From the proven
# optimum of the 200-bid rounds (seed 1), the tie-break alone, CPU s with and without: many-suppliers
# 2.2 -> 1.2, default 1.8 -> 3.1, regions 3.7 -> 5.3, few-suppliers 11.8 -> 16.2 (a second seed: 1.7,
# 2.0, 2.9, 12.4; 1.0-1.4x the work of the first). Each round takes the faster of the two.
SECOND_PARAMS: dict[str, object] = {"cp_model_probing_level": 0}

Search = Callable[[race.Stop], "Canonical | None"]
# How often a speculation waiting for its delay looks at the CPU clock (seconds).
DELAY_POLL = 0.01


def search(
    inst: Instance,
    prep: Prepared,
    serve_all: bool,
    optimum: tuple[int, int, Solution],
    deadline: float,
    work_limit: float,
    params: Mapping[str, object],
    symmetry: bool,
) -> Search:
    """The tie-break from `optimum` (vehicles, cents, award) as a search for solver.award.race."""

    def run(stop: race.Stop) -> Canonical | None:
        from solver.award.cpsat import AwardModel

        model = AwardModel(inst, prep, serve_all=serve_all, symmetry=symmetry)
        if not model.price_fits:
            return None

        def hook(solver: cp_model.CpSolver) -> None:
            for name, value in params.items():
                setattr(solver.parameters, name, value)
            stop.watch(solver)

        model.tie_hook = hook
        vehicles, cents, sol = optimum
        return model.canonical(vehicles, cents, sol, time_limit=deadline - time.monotonic(), work_limit=work_limit)

    return run


def decisive(c: Canonical | None) -> bool:
    """A result that is the same whichever search gave it: T's minimum proven (and, with
    prefer_early_delivery, the earliest deliveries too)."""
    return c is not None and c.proven and c.early is not False


class Speculation:
    """The primary tie-break on the best award so far, on its own thread, while the exact search
    goes on (`restart` on every better award); `take` hands it over when its award is the optimum.
    A search starts only once its award has stayed the best for `delay` seconds of the process's CPU:
    better awards come in bursts, and a search stopped by the next one is CPU taken from the exact
    search when the machine is busy. That delay, like everything on this thread, changes when the answer comes,
    never which answer (module docstring)."""

    def __init__(self, make: Callable[[tuple[int, int, Solution]], Search], delay: float = 0.0) -> None:
        self.make = make
        self.delay = delay
        self.key: tuple[int, int, Solution] | None = None
        self.current: race.Search[Canonical | None] | None = None
        self.stale: list[race.Search[Canonical | None]] = []
        self.timer: threading.Thread | None = None
        self.lock = threading.Lock()

    def restart(self, optimum: tuple[int, int, Solution]) -> None:
        with self.lock:
            self._drop()
            self.key = optimum
            self.timer = threading.Thread(target=self._start, args=(optimum, time.process_time()), daemon=True)
            self.timer.start()

    def _start(self, optimum: tuple[int, int, Solution], cpu: float) -> None:
        # the delay in the process's CPU (the exact search's, the others being stopped), so that a
        # busy machine, which slows the search, delays the start as much
        while time.process_time() - cpu < self.delay:
            if self.key is not optimum:
                return
            time.sleep(DELAY_POLL)
        with self.lock:
            if self.key is optimum and self.current is None:
                self.current = race.Search(self.make(optimum))

    def _drop(self) -> None:
        self.timer = None  # it sees the key change and ends
        if self.current is not None:
            self.current.stop.stop()  # its thread ends on its own; `close` waits for it
            self.stale.append(self.current)
            self.current = None
        self.key = None

    def take(self, optimum: tuple[int, int, Solution]) -> race.Search[Canonical | None] | None:
        """The search started from exactly `optimum`, else None (the others are stopped)."""
        with self.lock:
            got = self.current if self.key == optimum else None
            self.current = None if got is not None else self.current
            self._drop()
        self.close()
        return got

    def close(self) -> None:
        with self.lock:
            self._drop()
            stale, self.stale = self.stale, []
        for s in stale:
            s.end()


def run(
    make: Callable[[float, Mapping[str, object]], Search],
    work_limit: float,
    early: race.Search[Canonical | None] | None,
) -> Canonical | None:
    """The tie-break's answer (module docstring): `make(work, params)` builds a search from the
    optimum; `early` is the speculation's search from that optimum on a larger limit, if any."""
    if early is None:
        return race.first_proven(make(work_limit, {}), make(work_limit, SECOND_PARAMS), decisive)
    done = threading.Event()
    early.done = done
    second = race.Search(make(work_limit, SECOND_PARAMS), done)

    def early_decisive(c: Canonical | None) -> bool:
        return decisive(c) and c is not None and c.deterministic_time <= work_limit

    got = race.first_decisive([(early, early_decisive), (second, decisive)])
    if got is None:  # neither proved within the limit: the primary's own answer on it
        got = make(work_limit, {})(race.Stop())
    return got
