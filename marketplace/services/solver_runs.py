"""What pooling runs and award scenarios share as background solver jobs: progress, cancel, dead workers.

A running job holds a lease on its row (`lease_until`), renewed every few seconds by a thread
of the worker running it. A worker that is killed, loses its host or its database connection
stops renewing; the first reader after the lease lapses (the coordinator's page, a new start,
or any live worker, which checks every 15 s) marks the run failed with the reason, in one
conditional UPDATE, so exactly one of them does it and a late result from that worker is
discarded instead of saved.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, cast

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import RunStatus
from marketplace.services import audit, clock
from marketplace.services.errors import Conflict

PROGRESS_EVERY_SECONDS = 0.5  # a progress bar does not need more; each report is a database write
STALE_AFTER_SECONDS = 120  # runs started before leases existed: silent this long past the time limit = dead
# A lease of 20 s renewed every 5 s survives three missed renewals (a slow database, a long GC) and
# still lets a dead worker be noticed within about 20 s by a reader, 35 s by the other workers alone.
LEASE_SECONDS = 20
RENEW_EVERY_SECONDS = 5


class Lease(threading.Thread):
    """Renews a running job's lease on its own connection until stopped, or until the run is no
    longer running (failed by a reader after the lease lapsed, e.g. after a long pause)."""

    def __init__(self, model: type[Any], run_id: int, engine: sa.Engine):
        super().__init__(name=f"lease-{model.__tablename__}-{run_id}", daemon=True)
        self.table = model.__table__
        self.run_id = run_id
        self.engine = engine
        self.finished = threading.Event()
        self.lost = False

    def run(self) -> None:
        while not self.finished.wait(RENEW_EVERY_SECONDS):
            try:
                with self.engine.begin() as conn:
                    renewed = conn.execute(
                        self.table.update()
                        .where(self.table.c.id == self.run_id, self.table.c.status == RunStatus.RUNNING)
                        .values(lease_until=clock.now() + timedelta(seconds=LEASE_SECONDS))
                    ).rowcount
            except Exception:  # a database hiccup: try again at the next beat, the lease has room
                import logging

                logging.getLogger(__name__).warning("could not renew the lease of run %s", self.run_id, exc_info=True)
                continue
            if not renewed:
                self.lost = True
                return

    def stop(self) -> None:
        self.finished.set()
        self.join(timeout=30)


# What each phase the solvers report means to a coordinator (solver/award, solver/pooling).
PHASES = {
    "greedy": "Fast first answer",
    "exact": "Exact search",
    "lns": "Improving by neighbourhoods",
    "max-vehicles": "Most vehicles",
    "min-lots": "Fewest lots",
    "done": "Done",
}


def progress_data(progress: Any, time_limit: float | None) -> dict[str, Any]:
    """A solver progress report as the page shows it: the phase, the best result and the solver's own
    proven bound, the gap between them, and a fraction that means something. The search ends when its
    gaps close or at its time limit, whichever comes first: the bar is the time used of the time limit,
    99 % once the award's gaps are both closed, 100 % when done."""
    data: dict[str, Any] = {
        "phase": progress.phase,
        "phase_label": PHASES.get(progress.phase, progress.phase),
        "elapsed": round(progress.elapsed, 2),
        "quantity": progress.quantity,
        "quantity_bound": progress.quantity_bound,
        "at": clock.now().isoformat(),
    }
    for key in ("lots", "price", "price_bound"):
        value = getattr(progress, key, None)
        if value is not None:
            data[key] = value
    vehicle_gap = max(0, progress.quantity_bound - progress.quantity) if progress.quantity_bound else None
    if vehicle_gap is not None:
        data["vehicle_gap"] = vehicle_gap
    price, bound = data.get("price"), data.get("price_bound")
    if price and bound is not None and vehicle_gap == 0:  # the price gap means something once vehicles are proven
        data["gap_percent"] = round(max(0.0, (price - bound) / price * 100), 2)
    if progress.phase == "done":
        fraction = 1.0
    elif data.get("gap_percent") == 0:
        fraction = 0.99  # proven: only writing the result is left
    else:
        fraction = min(0.99, progress.elapsed / time_limit) if time_limit else 0.0
    data["fraction"] = round(fraction, 4)
    if time_limit:
        data["time_limit"] = time_limit
    return data


class Reporter:
    """The solver's progress callback: writes progress on its own connection and stops on cancel."""

    def __init__(self, model: type[Any], run_id: int, time_limit: float | None = None):
        self.table = model.__table__
        self.run_id = run_id
        self.time_limit = time_limit
        self.last = 0.0

    def __call__(self, progress: Any) -> None:
        from solver.errors import Cancelled

        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_SECONDS and progress.phase not in ("greedy", "done"):
            return
        self.last = now
        data = progress_data(progress, self.time_limit)
        # Its own short transaction: the job's session holds no lock while the solver works.
        with db.engine.begin() as conn:
            conn.execute(self.table.update().where(self.table.c.id == self.run_id).values(progress=data))
            cancel, status = conn.execute(
                sa.select(self.table.c.cancel_requested, self.table.c.status).where(self.table.c.id == self.run_id)
            ).one()
        # A run failed by a reader (its lease lapsed) is abandoned too: nothing of it will be saved.
        if cancel or status is not RunStatus.RUNNING:
            raise Cancelled()


def _rowcount(update: sa.Update) -> int:
    """Rows a conditional UPDATE changed (the claim or the expiry of a run)."""
    return cast(sa.CursorResult[Any], db.session.execute(update)).rowcount


def worker_name() -> str:
    """host:pid of this process, as shown on a run it holds and in /healthz."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def solve(kind: str, doc: dict[str, Any], run: Any, reporter: Reporter) -> dict[str, Any]:
    """Solve a run's document (kind "award" or "pool"): in a child process (services/solver_process.py)
    unless SOLVER_IN_CHILD_PROCESS is off (the test suite: a fresh interpreter per solve is slow)."""
    from flask import current_app

    if current_app.config.get("SOLVER_IN_CHILD_PROCESS", True):
        from marketplace.services import solver_process

        return solver_process.solve(kind, doc, time_limit=run.time_limit, reporter=reporter)
    import solver

    solve_in_process = solver.award if kind == "award" else solver.pool
    return solve_in_process(doc, time_limit=run.time_limit, workers=1, progress=reporter)


def _lapsed(run: Any, now: Any) -> str | None:
    """Why a running run is taken for dead, or None while its worker is alive."""
    if run.status is not RunStatus.RUNNING or run.started_at is None:
        return None
    if run.lease_until is not None:
        if now <= run.lease_until:
            return None
        return (
            f"The job's worker ({run.worker or 'unknown'}) stopped renewing its lease at "
            f"{(run.lease_until - timedelta(seconds=LEASE_SECONDS)):%H:%M:%S} UTC: it was stopped or lost its "
            "connection. Nothing was saved; you can run it again now."
        )
    last = run.started_at  # a run started before leases existed
    if run.progress and run.progress.get("at"):
        last = max(last, clock.parse(run.progress["at"]))
    if now - last > timedelta(seconds=run.time_limit + STALE_AFTER_SECONDS):
        return "The job stopped without finishing (its worker was stopped). Nothing was saved; run it again."
    return None


def fail_stale(runs: Sequence[Any]) -> int:
    """Mark failed every running run whose worker is dead (its lease lapsed); commits when it changes
    one. The UPDATE is conditional on the lease still being lapsed, so when several readers see the
    same dead run exactly one fails it and audits it, and a worker that renewed in time keeps it."""
    now = clock.now()
    failed = 0
    for run in runs:
        reason = _lapsed(run, now)
        if reason is None:
            continue
        model = type(run)
        still_lapsed = model.lease_until < now if run.lease_until is not None else model.lease_until.is_(None)
        changed = _rowcount(
            sa.update(model)
            .where(model.id == run.id, model.status == RunStatus.RUNNING, still_lapsed)
            .values(status=RunStatus.FAILED, error=reason, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        if changed:
            action = "pooling" if model.__tablename__ == "pooling_run" else "award"
            audit.record(None, f"{action}.failed", run, round_id=run.round_id, summary=f"#{run.id}: {reason}")
            failed += 1
    if failed:
        db.session.commit()
        for run in runs:
            db.session.refresh(run)
    return failed


def fail_dead_runs() -> int:
    """Fail every run whose lease lapsed, even if nobody is looking at it (each worker, every 15 s)."""
    from marketplace.models import AwardScenario, PoolingRun

    failed = 0
    for model in (PoolingRun, AwardScenario):
        running = db.session.execute(
            sa.select(model).where(model.status == RunStatus.RUNNING, model.lease_until < clock.now())
        ).scalars()
        failed += fail_stale(list(running))
    return failed


def fail_dead_runs_of_round(model: type[Any], round_id: int) -> None:
    """Before starting a new run: a dead worker's run must not block the round."""
    running = db.session.execute(
        sa.select(model).where(model.round_id == round_id, model.status == RunStatus.RUNNING)
    ).scalars()
    fail_stale(list(running))


def cancel(run: Any, actor: Any, *, action: str, label: str) -> None:
    """A coordinator cancels a pooling run or an award scenario (`label` names it to people):
    a queued one at once, a running one at its next progress report. Audited and committed."""
    if run.status.finished:
        raise Conflict(f"{label[:1].upper()}{label[1:]} has already {run.status.value}.")
    if run.status is RunStatus.QUEUED:
        run.status = RunStatus.CANCELLED
        run.finished_at = clock.now()
    run.cancel_requested = True  # a running one stops at its next progress report
    audit.record(actor, action, run, round_id=run.round_id, summary=f"Cancelled {label}.")
    db.session.commit()


def execute(
    model: type[Any],
    run_id: int,
    *,
    label: str,
    build: Callable[[Any], dict[str, Any]],
    solve: Callable[[dict[str, Any], Reporter, Any], dict[str, Any]],
    validate: Callable[[dict[str, Any], dict[str, Any]], list[Any]],
    save: Callable[[Any, dict[str, Any]], None],
) -> None:
    """The life of one background solver run, shared by pooling runs and award scenarios.

    Safe to deliver twice (only a queued run starts). The exact input is stored before the
    solver starts; the result is checked by the solver's own validator, then `save` writes it
    in one transaction. A cancel, a crash or an invalid result marks the run and changes
    nothing else.
    """
    from flask import current_app

    from solver import io as solver_io
    from solver.errors import Cancelled

    run = db.session.get(model, run_id)
    if run is None or run.status is not RunStatus.QUEUED:
        return  # cancelled before it started, or done by an earlier delivery
    try:
        text = solver_io.dumps(build(run))
    except Exception as exc:  # e.g. the round changed under it: say so on the run
        db.session.rollback()
        _finish(model, run_id, label, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
        return
    # Claim the run: a conditional UPDATE, so when a job is delivered twice (or to two workers)
    # exactly one of them runs it.
    now = clock.now()
    claimed = _rowcount(
        sa.update(model)
        .where(model.id == run_id, model.status == RunStatus.QUEUED)
        .values(
            status=RunStatus.RUNNING,
            input_json=text,
            started_at=now,
            lease_until=now + timedelta(seconds=LEASE_SECONDS),
            worker=worker_name(),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if not claimed:
        return
    db.session.refresh(run)
    lease = Lease(model, run_id, db.engine)
    lease.start()
    try:
        result = solve(solver_io.loads(text), Reporter(model, run_id, run.time_limit), run)
        problems = validate(solver_io.loads(text), result)
        if problems:
            raise RuntimeError("the solver's result failed validation: " + "; ".join(map(str, problems[:5])))
        # Lock the row and check it is still ours: a run failed meanwhile (lease lapsed) keeps no result.
        status = db.session.execute(sa.select(model.status).where(model.id == run_id).with_for_update()).scalar_one()
        if status is not RunStatus.RUNNING:
            db.session.rollback()
            current_app.logger.warning("%s %s was %s while it ran; its result is discarded", label, run_id, status)
            return
        save(run, result)
    except Cancelled:
        db.session.rollback()
        _finish(model, run_id, label, RunStatus.CANCELLED, "Cancelled by a coordinator.")
    except Exception as exc:
        db.session.rollback()
        current_app.logger.exception("%s %s failed", label, run_id)
        _finish(model, run_id, label, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
    finally:
        lease.stop()


def _finish(model: type[Any], run_id: int, label: str, status: RunStatus, error: str) -> None:
    from marketplace.services import audit

    run = db.session.get(model, run_id, with_for_update=True)
    assert run is not None
    if run.status.finished:  # already failed by a reader after its lease lapsed: keep that reason
        db.session.commit()
        return
    run.status = status
    run.error = error
    run.finished_at = clock.now()
    action = "pooling" if label.startswith("pooling") else "award"
    audit.record(None, f"{action}.{status.value}", run, round_id=run.round_id, summary=f"{label} #{run.id}: {error}")
    db.session.commit()
