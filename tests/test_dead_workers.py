"""A job whose worker died: its lease lapses, the run is marked failed with the reason, and the
coordinator can start again at once. A worker that is alive keeps its run; a late result from a
worker taken for dead is thrown away; a job delivered to two workers runs once."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import AuditEntry, Lot, PoolingRun, RunStatus
from marketplace.services import clock, pooling, solver_runs
from marketplace.services.errors import Conflict
from tests import test_pooling_runs

pytestmark = pytest.mark.commits  # leases are renewed on a connection of their own (tests/conftest.py)

closed_round = test_pooling_runs.closed_round  # the same round: demand closed, 30 poolable vehicles


def _claimed_by_a_worker_that_dies(run_id: int, *, at) -> None:
    """What a worker does when it starts a run (status, lease, its name), then nothing more: it was killed."""
    db.session.execute(
        sa.update(PoolingRun)
        .where(PoolingRun.id == run_id)
        .values(
            status=RunStatus.RUNNING,
            started_at=at,
            lease_until=at + timedelta(seconds=solver_runs.LEASE_SECONDS),
            worker="worker-b:4242",
        )
    )
    db.session.commit()


def _queued_run(round_id, coordinator, monkeypatch) -> PoolingRun:
    with monkeypatch.context() as m:
        m.setattr("marketplace.jobs.run_pooling", lambda run_id: None)  # queued; no worker yet
        return pooling.start_run(round_id, coordinator)


def test_a_dead_workers_run_fails_when_its_lease_lapses_and_the_coordinator_starts_again_at_once(
    world, closed_round, frozen_clock, monkeypatch
):
    start = clock.now()
    frozen_clock.freeze(start)
    dead = _queued_run(closed_round.id, world.coordinator, monkeypatch)
    _claimed_by_a_worker_that_dies(dead.id, at=start)

    # Within its lease the worker counts as alive: a second run is refused, as before.
    frozen_clock.freeze(start + timedelta(seconds=solver_runs.LEASE_SECONDS))
    with pytest.raises(Conflict, match="still going"):
        pooling.start_run(closed_round.id, world.coordinator)

    # One second past the lease: the new start fails the dead run and goes ahead (no 409, no waiting
    # for the time limit + 120 s as before).
    frozen_clock.freeze(start + timedelta(seconds=solver_runs.LEASE_SECONDS + 1))
    fresh = pooling.start_run(closed_round.id, world.coordinator)
    db.session.expire_all()
    dead = db.session.get(PoolingRun, dead.id)
    assert dead.status is RunStatus.FAILED
    assert "worker-b:4242" in dead.error and "stopped renewing its lease" in dead.error
    assert dead.finished_at == start + timedelta(seconds=solver_runs.LEASE_SECONDS + 1)
    assert db.session.get(PoolingRun, fresh.id).status is RunStatus.SUCCEEDED
    failed = db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.action == "pooling.failed", AuditEntry.round_id == closed_round.id)
    ).scalar_one()
    assert "stopped renewing its lease" in failed.summary


def test_the_page_shows_a_dead_workers_run_as_failed_and_offers_a_new_run(
    world, closed_round, frozen_clock, monkeypatch, login
):
    start = clock.now()
    frozen_clock.freeze(start)
    dead = _queued_run(closed_round.id, world.coordinator, monkeypatch)
    _claimed_by_a_worker_that_dies(dead.id, at=start)
    frozen_clock.freeze(start + timedelta(seconds=solver_runs.LEASE_SECONDS + 1))
    client = login(world.coordinator)
    assert client.get(f"/coordinator/pooling-runs/{dead.id}/progress").status_code == 200
    db.session.expire_all()
    assert db.session.get(PoolingRun, dead.id).status is RunStatus.FAILED
    form = {"min_lot_quantity": 20, "max_lot_quantity": 100, "max_levels_up": 1, "time_limit": 10}
    response = client.post(f"/coordinator/rounds/{closed_round.id}/pooling", data=form)
    assert response.status_code == 302
    assert db.session.execute(sa.select(sa.func.count(PoolingRun.id))).scalar_one() == 2


def test_the_workers_check_fails_a_dead_run_nobody_looks_at(world, closed_round, frozen_clock, monkeypatch):
    start = clock.now()
    frozen_clock.freeze(start)
    dead = _queued_run(closed_round.id, world.coordinator, monkeypatch)
    _claimed_by_a_worker_that_dies(dead.id, at=start)
    assert solver_runs.fail_dead_runs() == 0
    frozen_clock.freeze(start + timedelta(seconds=solver_runs.LEASE_SECONDS + 1))
    assert solver_runs.fail_dead_runs() == 1
    assert solver_runs.fail_dead_runs() == 0  # once: the second pass finds nothing to do
    db.session.expire_all()
    assert db.session.get(PoolingRun, dead.id).status is RunStatus.FAILED


def test_a_live_worker_renews_its_lease_and_keeps_its_run(world, closed_round, frozen_clock, monkeypatch):
    start = clock.now()
    frozen_clock.freeze(start)
    run = _queued_run(closed_round.id, world.coordinator, monkeypatch)
    _claimed_by_a_worker_that_dies(run.id, at=start)
    monkeypatch.setattr(solver_runs, "RENEW_EVERY_SECONDS", 0.05)
    later = start + timedelta(seconds=300)
    frozen_clock.freeze(later)  # long past the first lease: only renewals keep the run alive
    lease = solver_runs.Lease(PoolingRun, run.id, db.engine)
    lease.start()
    renewed_until = later + timedelta(seconds=solver_runs.LEASE_SECONDS)
    try:
        # Wait for the thread's first renewal, however slow the machine: the clock only caps a wait for
        # a renewal that never comes (then the assertion below says so).
        deadline = time.monotonic() + 120
        while db.session.get(PoolingRun, run.id).lease_until != renewed_until and time.monotonic() < deadline:
            time.sleep(0.05)
            db.session.rollback()  # a fresh read of what the lease's own connection committed
        assert db.session.get(PoolingRun, run.id).lease_until == renewed_until, "the lease was never renewed"
        assert solver_runs.fail_dead_runs() == 0
        assert db.session.get(PoolingRun, run.id).status is RunStatus.RUNNING
    finally:
        lease.stop()
    assert not lease.lost


def test_a_late_result_from_a_worker_taken_for_dead_is_not_saved(world, closed_round, monkeypatch):
    import solver

    run = _queued_run(closed_round.id, world.coordinator, monkeypatch)
    real_pool = solver.pool

    def paused_then_finishes(doc, **kw):
        result = real_pool(doc, **kw)
        # Meanwhile the worker was paused past its lease and a reader failed the run.
        db.session.execute(
            sa.update(PoolingRun).where(PoolingRun.id == run.id).values(status=RunStatus.FAILED, error="lease lapsed")
        )
        db.session.commit()
        return result

    monkeypatch.setattr(solver, "pool", paused_then_finishes)
    pooling.execute_run(run.id)
    db.session.expire_all()
    run = db.session.get(PoolingRun, run.id)
    assert (run.status, run.error) == (RunStatus.FAILED, "lease lapsed")
    assert db.session.execute(sa.select(sa.func.count(Lot.id))).scalar_one() == 0


def test_a_job_delivered_to_two_workers_runs_once(world, closed_round, monkeypatch):
    from marketplace.services import solver_bridge

    run = _queued_run(closed_round.id, world.coordinator, monkeypatch)
    real_input = solver_bridge.pooling_input

    def other_worker_claims_first(rnd, r):
        doc = real_input(rnd, r)
        db.session.execute(
            sa.update(PoolingRun)
            .where(PoolingRun.id == r.id)
            .values(status=RunStatus.RUNNING, worker="worker-a:1", started_at=clock.now())
        )
        db.session.commit()
        return doc

    monkeypatch.setattr(solver_bridge, "pooling_input", other_worker_claims_first)
    monkeypatch.setattr("solver.pool", lambda *a, **k: pytest.fail("the second delivery must not solve"))
    pooling.execute_run(run.id)
    db.session.expire_all()
    run = db.session.get(PoolingRun, run.id)
    assert (run.status, run.worker) == (RunStatus.RUNNING, "worker-a:1")
    assert db.session.execute(sa.select(sa.func.count(Lot.id))).scalar_one() == 0


def test_progress_says_the_phase_best_bound_gap_and_time_used():
    from marketplace.services.solver_runs import progress_data
    from solver.progress import Progress

    # Early in a 30 s award: vehicles not yet proven, so no price gap; the bar is the time used.
    early = progress_data(Progress("greedy", 3.0, 900, 1000, price=9.0e7, price_bound=8.0e7), 30)
    assert (early["phase_label"], early["vehicle_gap"], early["fraction"]) == ("Fast first answer", 100, 0.1)
    assert "gap_percent" not in early
    # Vehicles proven, price within 2.5 % of the solver's bound: the gap is said, the bar still follows time.
    later = progress_data(Progress("exact", 12.0, 1000, 1000, price=8.0e7, price_bound=7.8e7), 30)
    assert (later["gap_percent"], later["fraction"]) == (2.5, 0.4)
    # Both proven: nothing left but saving; done is 100 %.
    assert progress_data(Progress("exact", 5.0, 1000, 1000, price=8.0e7, price_bound=8.0e7), 30)["fraction"] == 0.99
    assert progress_data(Progress("done", 6.0, 1000, 1000, price=8.0e7, price_bound=8.0e7), 30)["fraction"] == 1.0
    # A pooling run proven on vehicles keeps minimising lots: it is not shown as finished.
    pooling = progress_data(Progress("min-lots", 6.0, 500, 500, lots=20), 30)
    assert pooling["fraction"] == 0.2 and pooling["lots"] == 20
