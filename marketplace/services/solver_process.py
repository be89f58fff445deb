"""Run a solve in a child process, so a job worker gives the solver's memory back when the run ends.

A job worker is a long-lived process with several job threads. Solving in it leaves its heap as
large as the largest award it ever solved (CPython and glibc keep freed memory for reuse), and
the award's LP-bound child, forked from it, starts as a copy of that whole worker. Here the solve
runs in a fresh interpreter started with "spawn" (safe from a threaded process, unlike fork):
it imports only the solver, sends its progress reports and its result back through a pipe, and
ends, returning all of its memory; its own LP child is forked from that small process.

The parent hands every progress report to the run's reporter (which may raise Cancelled: the
child is then killed) and returns the result document. Nothing here knows Flask or the database.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any


def _child(kind: str, text: str, time_limit: float, conn: Any) -> None:
    import solver
    from solver import io as solver_io

    try:
        solve = solver.award if kind == "award" else solver.pool
        result = solve(solver_io.loads(text), time_limit=time_limit, workers=1, progress=lambda p: conn.send(("p", p)))
        conn.send(("result", solver_io.dumps(result)))
    except BaseException as exc:  # said to the parent, which fails the run with it
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def solve(kind: str, doc: dict[str, Any], *, time_limit: float, reporter: Callable[[Any], None]) -> dict[str, Any]:
    """`solver.award` or `solver.pool` (kind "award" or "pool") on `doc`, in a child process."""
    from solver import io as solver_io

    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    # Not a daemon: the award's child forks its own LP-bound process, which a daemon may not do.
    process = ctx.Process(target=_child, args=(kind, solver_io.dumps(doc), time_limit, send), name=f"solver-{kind}")
    process.start()
    send.close()
    try:
        while True:
            try:
                what, payload = receive.recv()
            except EOFError:
                process.join(timeout=5)
                raise RuntimeError(
                    f"the solver process stopped without a result (exit code {process.exitcode})"
                ) from None
            if what == "p":
                reporter(payload)  # a cancel raises here; the child is killed below
            elif what == "result":
                return solver_io.loads(payload)
            else:
                raise RuntimeError(payload)
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receive.close()
