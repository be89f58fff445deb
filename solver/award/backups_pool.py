"""The backups (solver.award.backups) on two threads, the same bytes as one after the other.

The backups of an award are independent searches but for their shared work budget: each of a
backup's searches takes min(WORK_PER_BACKUP, budget left), so a backup's limits depend on what the
backups before it spent. Here every backup first runs on its own thread pool worker as if the budget
had room for all of its searches (`Trace`: it records each limit it asked for and each work it
spent), and the results are then taken in order, replaying the shared budget: a backup whose every
request the shared budget would have granted in full ran exactly as it would one after the other
(CP-SAT on a deterministic work limit, one worker), so its result is taken as it is; at the first
backup the budget would have cut short, the backups still waiting are cancelled and that backup and
all after it run one after the other on the real budget, as before. So the answer is the same as
sequentially on any machine under any load; only the clock (a safety cap, never reproducible)
behaves as before: once a backup sees it, the rest are left unsearched.

CP-SAT releases the GIL while it searches, and more than half of a backup's CPU is its searches
(200-bid rounds, seed 1, the backups of the greedy award: default 0.23 of 0.38 s, many-suppliers 0.33
of 0.48 s, few-suppliers 0.19 of 0.36 s), so on two cores they take about max(the Python part, half
the whole): 0.5-0.6x the time one after the other.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, Protocol, TypeVar

B = TypeVar("B")
# Threads the backups use when the process may run on at least that many cores.
WORKERS = 2


class Budget(Protocol):
    left: float
    out_of_work: bool
    clock: bool

    def take(self, most: float) -> float: ...

    def spend(self, work: float) -> None: ...


class Trace:
    """A budget with room for everything that records what a backup asked for and spent: ("take",
    most) and ("spend", work) in order, to be replayed on the shared budget."""

    def __init__(self) -> None:
        self.left = math.inf
        self.out_of_work = False
        self.clock = False
        self.events: list[tuple[str, float]] = []

    def take(self, most: float) -> float:
        self.events.append(("take", most))
        return max(0.0, most)

    def spend(self, work: float) -> None:
        self.events.append(("spend", work))


def replays(trace: Trace, budget: Budget) -> bool:
    """Whether the backup traced would have run the same on `budget` (each of its requests granted in
    full); if so, `budget` is charged with its work and flags, else left as it was."""
    left = budget.left
    for kind, x in trace.events:
        if kind == "take":
            if max(0.0, min(x, left)) != max(0.0, x):
                return False
        else:
            left -= x
    budget.left = left
    budget.out_of_work = budget.out_of_work or trace.out_of_work
    budget.clock = budget.clock or trace.clock
    return True


class _Run(Generic[B]):
    def __init__(self, future: Future[B], trace: Trace) -> None:
        self.future = future
        self.trace = trace


def ordered(
    n: int,
    one: Callable[[int, Budget], B],
    unsearched: Callable[[int], B],
    budget: Budget,
    workers: int,
) -> Sequence[B]:
    """[one(i, budget) for i in range(n)] as one after the other on `budget` (module docstring),
    `unsearched(i)` once the clock has stopped a backup; on `workers` threads when more than one."""
    out: list[B] = []
    if workers <= 1 or n <= 1:
        for i in range(n):
            out.append(unsearched(i) if budget.clock else one(i, budget))
        return out
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="backup") as pool:
        runs: list[_Run[B]] = []
        for i in range(n):
            trace = Trace()
            runs.append(_Run(pool.submit(one, i, trace), trace))
        cut = n  # the first backup not taken from its thread
        for i, run in enumerate(runs):
            if budget.clock or not replays_result(run, budget, out):
                cut = i
                break
        for run in runs[cut:]:  # those not started yet never start (the clock: thousands at 25,000 bids)
            run.future.cancel()
    # the clock is up, or the budget would have cut backup `cut` short: the rest one after the other, as before
    for k in range(cut, n):
        out.append(unsearched(k) if budget.clock else one(k, budget))
    return out


def replays_result(run: _Run[B], budget: Budget, out: list[B]) -> bool:
    """Take `run`'s backup into `out` when its trace replays on `budget` (`replays`)."""
    got = run.future.result()
    if not replays(run.trace, budget):
        return False
    out.append(got)
    return True
