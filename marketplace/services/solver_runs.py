"""What pooling runs and award scenarios share as background solver jobs: progress, cancel, stale runs."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import RunStatus
from marketplace.services import audit, clock
from marketplace.services.errors import Conflict

PROGRESS_EVERY_SECONDS = 0.5  # a progress bar does not need more; each report is a database write
STALE_AFTER_SECONDS = 120  # a running job silent this long past its time limit has died


class Reporter:
    """The solver's progress callback: writes progress on its own connection and stops on cancel."""

    def __init__(self, model: type[Any], run_id: int):
        self.table = model.__table__
        self.run_id = run_id
        self.last = 0.0

    def __call__(self, progress: Any) -> None:
        from solver.errors import Cancelled

        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_SECONDS and progress.phase not in ("greedy", "done"):
            return
        self.last = now
        data = {
            "phase": progress.phase,
            "elapsed": round(progress.elapsed, 2),
            "quantity": progress.quantity,
            "quantity_bound": progress.quantity_bound,
            "fraction": round(progress.fraction(), 4),
            "at": clock.now().isoformat(),
        }
        for key in ("lots", "price", "price_bound"):
            value = getattr(progress, key, None)
            if value is not None:
                data[key] = value
        # Its own short transaction: the job's session holds no lock while the solver works.
        with db.engine.begin() as conn:
            conn.execute(self.table.update().where(self.table.c.id == self.run_id).values(progress=data))
            cancel = conn.execute(
                sa.select(self.table.c.cancel_requested).where(self.table.c.id == self.run_id)
            ).scalar_one()
        if cancel:
            raise Cancelled()


def fail_stale(runs: Sequence[Any]) -> None:
    """A run whose worker was killed never reports again: show it as failed instead of running forever."""
    now = clock.now()
    changed = False
    for run in runs:
        if run.status is not RunStatus.RUNNING or run.started_at is None:
            continue
        last = run.started_at
        if run.progress and run.progress.get("at"):
            last = max(last, clock.parse(run.progress["at"]))
        if now - last > timedelta(seconds=run.time_limit + STALE_AFTER_SECONDS):
            run.status = RunStatus.FAILED
            run.error = "The job stopped without finishing (its worker was stopped). Nothing was saved; run it again."
            run.finished_at = now
            changed = True
    if changed:
        db.session.commit()


def cancel(run: Any, actor: Any, *, action: str, label: str) -> None:
    """A coordinator cancels a pooling run or an award scenario (`label` names it to people):
    a queued one at once, a running one at its next progress report. Audited and committed."""
    if run.status.finished:
        raise Conflict(f"{label[:1].upper()}{label[1:]} has already {run.status.value}.")
    if run.status is RunStatus.QUEUED:
        run.status = RunStatus.CANCELLED
        run.finished_at = clock.now()
    run.cancel_requested = True
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
    run.input_json = text
    run.status = RunStatus.RUNNING
    run.started_at = clock.now()
    db.session.commit()
    try:
        result = solve(solver_io.loads(text), Reporter(model, run_id), run)
        problems = validate(solver_io.loads(text), result)
        if problems:
            raise RuntimeError("the solver's result failed validation: " + "; ".join(map(str, problems[:5])))
        save(run, result)
    except Cancelled:
        db.session.rollback()
        _finish(model, run_id, label, RunStatus.CANCELLED, "Cancelled by a coordinator.")
    except Exception as exc:
        db.session.rollback()
        current_app.logger.exception("%s %s failed", label, run_id)
        _finish(model, run_id, label, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")


def _finish(model: type[Any], run_id: int, label: str, status: RunStatus, error: str) -> None:
    from marketplace.services import audit

    run = db.session.get(model, run_id)
    assert run is not None
    run.status = status
    run.error = error
    run.finished_at = clock.now()
    action = "pooling" if label.startswith("pooling") else "award"
    audit.record(None, f"{action}.{status.value}", run, round_id=run.round_id, summary=f"{label} #{run.id}: {error}")
    db.session.commit()
