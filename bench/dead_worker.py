"""How fast a killed job worker's run is noticed: start a pooling run on the demo's open round,
kill -9 the consumer that runs it, and time until the run shows as failed, (a) with nobody
looking (the every-minute `fail_dead_runs` job on a surviving consumer) and (b) with the
coordinator's page polling it every second. Needs the production environment (PostgreSQL,
Redis) and the demo data; starts and stops its own two consumers.

    MARKETPLACE_ENV=production SECRET_KEY=... DATABASE_URL=... REDIS_URL=... python -m bench.dead_worker
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import sqlalchemy as sa

from marketplace import create_app
from marketplace.extensions import db
from marketplace.models import PoolingRun, Round, RoundPhase, RunStatus, User
from marketplace.services import pooling, rounds


def consumer() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "huey.bin.huey_consumer", "marketplace.jobs.huey", "--workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def closed_round(coordinator: User) -> Round:
    """The demo's open round with demand closed (a copy of its demand on every try)."""
    rnd = (
        db.session.execute(sa.select(Round).where(Round.phase.in_([RoundPhase.DEMAND_OPEN, RoundPhase.DEMAND_CLOSED])))
        .scalars()
        .first()
    )
    if rnd.phase is RoundPhase.DEMAND_OPEN:
        rounds.transition(rnd.id, RoundPhase.DEMAND_CLOSED, coordinator)
    return rnd


def once(coordinator: User, *, reader: bool) -> float:
    workers = [consumer(), consumer()]
    try:
        time.sleep(8)  # both consumers up
        rnd = closed_round(coordinator)
        run = pooling.start_run(rnd.id, coordinator, time_limit=120)
        while True:
            db.session.expire_all()
            run = db.session.get(PoolingRun, run.id)
            if run.status is RunStatus.RUNNING:
                break
            if run.status.finished:
                raise SystemExit(f"the run {run.status.value} before it could be killed")
            time.sleep(0.1)
        pid = int(run.worker.rsplit(":", 1)[1])
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        while True:
            if reader:
                run = pooling.get_run(run.id)  # what the coordinator's page does
            db.session.expire_all()
            run = db.session.get(PoolingRun, run.id)
            if run.status is RunStatus.FAILED:
                print(
                    f"  {'page polling' if reader else 'nobody looking'}: failed {time.monotonic() - killed:.1f} s "
                    f"after kill -9: {run.error}"
                )
                return time.monotonic() - killed
            time.sleep(1)
    finally:
        for w in workers:
            w.terminate()
            w.wait()


def main() -> None:
    app = create_app()
    with app.app_context():
        coordinator = db.session.execute(sa.select(User).where(User.email == "coordinator@fec.example")).scalar_one()
        once(coordinator, reader=True)
        once(coordinator, reader=False)


if __name__ == "__main__":
    main()
