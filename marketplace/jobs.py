"""Background jobs on Huey: SqliteHuey (one file, no server) by default, RedisHuey when REDIS_URL is set.

Tasks run inside an app context of an app built from the environment (the consumer
process) or of the app that enqueued them (immediate mode, in tests).
Start a worker with: huey_consumer marketplace.jobs.huey
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab

from marketplace.config import Config


def _make_huey() -> Huey:
    if os.environ.get("MARKETPLACE_ENV") == "test":
        return MemoryHuey("marketplace", immediate=True)  # tasks run at once, in-process
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        return RedisHuey("marketplace", url=redis_url)
    Path(Config.HUEY_SQLITE_PATH).parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("marketplace", filename=Config.HUEY_SQLITE_PATH)


huey = _make_huey()
_worker_app: Flask | None = None


def init_app(app: Flask) -> None:
    if app.config.get("HUEY_IMMEDIATE"):
        huey.immediate = True  # tasks run in-process, at once, in tests


def _app() -> Flask:
    global _worker_app
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
    from marketplace.services import rounds

    moved = rounds.advance_due_rounds()
    if moved:
        current_app.logger.info("deadlines moved rounds %s", moved)
    return moved


@huey.task()
@in_app_context
def run_pooling(run_id: int) -> None:
    """Solve one pooling run and save its lots (services.pooling.execute_run)."""
    from marketplace.services import pooling

    pooling.execute_run(run_id)
