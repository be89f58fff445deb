"""Background jobs on Huey: SqliteHuey (one file, no server) by default, RedisHuey when REDIS_URL is set.

Tasks run inside an app context of an app built from the environment (the consumer
process) or of the app that enqueued them (immediate mode, in tests).
Start a worker with: huey_consumer marketplace.jobs.huey

Several worker hosts on one Redis: Redis hands each queued job to one consumer; solver runs
also claim their row with a conditional UPDATE, so a job delivered twice runs once. Every
consumer schedules the periodic jobs; on Redis only the first consumer of each time slot runs
them (`_first_in_slot`), and each is safe to run twice anyway. Each consumer process writes a
heartbeat every 5 s, which /healthz reports, and every 15 s fails the runs of dead workers.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab
from huey.exceptions import HueyException  # noqa: F401  (re-exported for the CLI)

from marketplace.config import Config, ProductionConfig
from marketplace.extensions import db
from marketplace.services import award, clock, deposits, pooling, rounds, solver_runs
from marketplace.services.solver_runs import worker_name


def _make_huey() -> Huey:
    env = os.environ.get("MARKETPLACE_ENV")
    if env == "test":
        return MemoryHuey("marketplace", immediate=True)  # tasks run at once, in-process
    if env == "production":
        # The consumer imports this module, not the app: refuse a bad configuration here, at start,
        # instead of failing every task later.
        ProductionConfig.check()
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        return RedisHuey("marketplace", url=redis_url)
    Path(Config.HUEY_SQLITE_PATH).parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("marketplace", filename=Config.HUEY_SQLITE_PATH)


huey = _make_huey()
_worker_app: Flask | None = None

HEARTBEAT_KEY = "marketplace:worker-heartbeat"
HEARTBEAT_EVERY_SECONDS = 5
FAIL_DEAD_RUNS_EVERY_BEATS = 3  # 15 s: a dead worker's run fails within lease (20 s) + 15 s
_heartbeat_thread: threading.Thread | None = None


_startup_lock = threading.Lock()


@huey.on_startup()
def start_worker() -> None:
    """Runs in each worker thread of a consumer as it starts. The first builds the app and imports
    what tasks import lazily, under a lock: threads importing the same modules at once see them
    half-initialised ("cannot import name ... from partially initialized module"). Then one thread
    per process writes the heartbeat."""
    global _heartbeat_thread
    with _startup_lock:
        if _heartbeat_thread is not None:
            return
        _app()
        from ortools.linear_solver.python import model_builder  # noqa: F401
        from ortools.math_opt.python import mathopt  # noqa: F401
        from ortools.sat.python import cp_model  # noqa: F401

        import solver  # noqa: F401

        _heartbeat_thread = threading.Thread(target=_beat, name="heartbeat", daemon=True)
        _heartbeat_thread.start()


def write_heartbeat() -> None:
    huey.put(HEARTBEAT_KEY, {"at": time.time(), "worker": worker_name()})


def _beat() -> None:
    beats = 0
    while True:
        try:
            write_heartbeat()
        except Exception:  # Redis away for a moment: /healthz shows the heartbeat ageing
            logging.getLogger(__name__).warning("worker heartbeat not written", exc_info=True)
        if beats % FAIL_DEAD_RUNS_EVERY_BEATS == 0:
            fail_dead_runs()
        beats += 1
        time.sleep(HEARTBEAT_EVERY_SECONDS)


def fail_dead_runs() -> int:
    """Every 15 s in each worker process: fail the pooling runs and award scenarios whose worker
    died (lease lapsed), even if nobody is looking. Not a Huey periodic task: those run at most once
    a minute, which with the lease would let a dead run linger up to 80 s. One conditional UPDATE per
    dead run, so several workers doing this at once fail each run once."""
    try:
        with _app().app_context():
            try:
                failed = solver_runs.fail_dead_runs()
            finally:
                db.session.remove()
    except Exception:
        logging.getLogger(__name__).warning("could not check for dead runs", exc_info=True)
        return 0
    if failed:
        logging.getLogger(__name__).warning("failed %s run(s) whose worker stopped renewing its lease", failed)
    return failed


def last_heartbeat() -> dict[str, Any] | None:
    """The last heartbeat any worker wrote ({"at": unix time, "worker": "host:pid"}), or None."""
    return huey.get(HEARTBEAT_KEY, peek=True)


def _first_in_slot(name: str, every_minutes: int) -> bool:
    """True for the first consumer that runs periodic job `name` in its time slot.

    Each consumer's scheduler enqueues every periodic job, so with M worker hosts each would run
    M times; on Redis a key set only-if-absent lets one through per slot (a few seconds of clock
    skew between hosts at most lets a second one through: the jobs are idempotent)."""
    if not isinstance(huey, RedisHuey):
        return True  # SQLite queue: one consumer on one machine
    slot = int(clock.now().timestamp() // (60 * every_minutes))  # the app's clock: tests can hold it still
    key = f"marketplace:periodic:{name}:{slot}"
    return bool(huey.storage.conn.set(key, os.getpid(), nx=True, ex=60 * every_minutes * 2))


def init_app(app: Flask) -> None:
    if app.config.get("HUEY_IMMEDIATE"):
        huey.immediate = True  # tasks run in-process, at once, in tests


_app_lock = threading.RLock()


def _app() -> Flask:
    global _worker_app
    with _app_lock:  # one app per consumer process, built once
        if _worker_app is None:
            from marketplace import create_app

            _worker_app = create_app()
    return _worker_app


def in_app_context(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a task inside an app context: the caller's (immediate mode) or the worker's own app."""

    @wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            return fn(*args, **kwargs)
        with _app().app_context():
            return fn(*args, **kwargs)

    return wrapped


@huey.periodic_task(crontab(minute="*"))
@in_app_context
def advance_deadlines() -> list[int]:
    """Every minute: move on every round whose deadline has passed, even if nobody is looking."""
    if not _first_in_slot("advance_deadlines", 1):
        return []
    moved = rounds.advance_due_rounds()
    if moved:
        current_app.logger.info("deadlines moved rounds %s", moved)
    return moved


@huey.task()
def ping(token: str) -> str:
    """A job that only counts its deliveries (`flask check-workers` shows each runs exactly once)."""
    huey.storage.incr(f"marketplace:ping:{token}")
    return worker_name()


@huey.task()
@in_app_context
def run_pooling(run_id: int) -> None:
    """Solve one pooling run and save its lots (services.pooling.execute_run)."""
    pooling.execute_run(run_id)


# ---------------------------------------------------------------- deposits (services.deposits): each safe to re-run


@huey.task(retries=3, retry_delay=60)
@in_app_context
def settle_round_job(round_id: int) -> dict[str, object]:
    """Apply a round's outcome to its deposits (capture, release, refund, forfeit)."""
    result = deposits.settle_round(round_id)
    if result.failed:
        raise RuntimeError(f"deposits not settled yet, retrying: {result.failed}")
    return {"decided": result.decided, "settled": result.settled}


@huey.task(retries=3, retry_delay=60)
@in_app_context
def settle_deposit_job(deposit_id: int) -> bool:
    """Carry out one deposit's decided outcome at Stripe."""
    return deposits.execute(deposit_id)


@huey.task(retries=3, retry_delay=60)
@in_app_context
def settle_line_job(line_id: int) -> bool:
    """Settle one line's deposit after its allocation was confirmed or declined."""
    return deposits.settle_line(line_id)


@huey.task(retries=3, retry_delay=30)
@in_app_context
def process_stripe_event(event_row_id: int) -> str:
    """Apply one recorded Stripe webhook event to the ledger (the endpoint only records it)."""
    return deposits.process_event(event_row_id)


@huey.task(retries=3, retry_delay=60)
@in_app_context
def refresh_deposit_job(deposit_id: int) -> str:
    """Ask Stripe for a hold's state and apply it (after an event that contradicted the ledger)."""
    return deposits.refresh(deposit_id).note


@huey.periodic_task(crontab(minute="*/15"))
@in_app_context
def sweep_deposits() -> list[int]:
    """Every 15 minutes: settle the deposits of decided rounds that a failed or lost job left open."""
    if not _first_in_slot("sweep_deposits", 15):
        return []
    round_ids = deposits.rounds_to_sweep()
    for round_id in round_ids:
        deposits.settle_round(round_id)
    return round_ids


@huey.task()
@in_app_context
def run_award(scenario_id: int) -> None:
    """Compute one award scenario and save its allocations (services.award.execute_scenario)."""
    award.execute_scenario(scenario_id)


# ---------------------------------------------------------------- notifications (marketplace.notifications)


@huey.task(retries=3, retry_delay=30)
@in_app_context
def deliver_event(kind: str, key: str, round_id: int | None, object_id: int | None) -> int:
    """Write the notices of one event (unique per event key and user: a re-run adds nothing)."""
    from marketplace.notifications import service

    return service.deliver_event(kind, key, round_id, object_id)


@huey.task(retries=5, retry_delay=60)
@in_app_context
def send_notice_mail(notice_id: int) -> str:
    """Mail one notice, at most once; an SMTP refusal raises, and Huey retries."""
    from marketplace.notifications import service

    return service.send_mail(notice_id)


@huey.periodic_task(crontab(minute="*/10"))
@in_app_context
def notice_reminders() -> int:
    """Every 10 minutes: reminders before the demand, bid and confirmation deadlines (each sent once)."""
    from marketplace.notifications import service

    if not _first_in_slot("notice_reminders", 10):
        return 0
    return service.send_reminders()


@huey.periodic_task(crontab(minute="0"))
@in_app_context
def notice_digests() -> int:
    """Every hour: the daily digest of users whose local time is 08:00."""
    from marketplace.notifications import service

    if not _first_in_slot("notice_digests", 60):
        return 0
    return service.send_digests()
