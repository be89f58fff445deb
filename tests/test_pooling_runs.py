"""Pooling runs from the coordinator's side: job, progress, saved lots, failure, cancel, publish, audit export."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import AuditEntry, Lot, LotMember, PoolingRun, Round, RoundPhase, RunStatus, UnpooledLine
from marketplace.services import clock, pooling, solver_runs
from marketplace.services.errors import Conflict, Forbidden
from tests.factories import make_line, make_round

pytestmark = pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)


@pytest.fixture
def closed_round(world):
    """A round with demand closed: two fleets, 6 compatible LA box-truck lines (30 vehicles) and one lonely bus line."""
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN, min_lot_quantity=20, max_lot_quantity=100)
    for i in range(6):
        org = world.fleet.organization if i % 2 else world.other_fleet.organization
        make_line(rnd, org, quantity=5, region_id="us-ca-los-angeles" if i < 4 else "us-ca-bay-area")
    make_line(rnd, world.fleet.organization, segment_id="transit_bus", quantity=3)
    from marketplace.services import rounds

    rounds.transition(rnd.id, RoundPhase.DEMAND_CLOSED, world.coordinator)
    return db.session.get(Round, rnd.id)


def test_a_run_pools_committed_demand_and_moves_the_round_to_pooled(world, closed_round):
    run = pooling.start_run(closed_round.id, world.coordinator)
    db.session.expire_all()
    run = db.session.get(PoolingRun, run.id)
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert run.solver_status == "OPTIMAL"
    assert (run.total_quantity, run.pooled_quantity, run.lot_count) == (33, 30, 1)
    lot = db.session.execute(sa.select(Lot).where(Lot.pooling_run_id == run.id)).scalar_one()
    assert (lot.segment_id, lot.region_id, lot.quantity, lot.fleet_count) == ("md_box_truck", "US-CA", 30, 2)
    assert lot.spread == 30  # every member is one level (metro -> state) below the lot
    assert sum(m.quantity for m in lot.members) == 30
    unpooled = db.session.execute(sa.select(UnpooledLine).where(UnpooledLine.pooling_run_id == run.id)).scalar_one()
    assert unpooled.quantity == 3
    assert unpooled.reason
    assert db.session.get(Round, closed_round.id).phase is RoundPhase.POOLED
    assert run.progress and run.progress["quantity_bound"] >= 30
    actions = db.session.execute(sa.select(AuditEntry.action).where(AuditEntry.round_id == closed_round.id)).scalars()
    assert {"pooling.start", "pooling.succeeded", "round.transition"} <= set(actions)


def test_rerunning_with_other_bounds_keeps_every_run(world, closed_round):
    first = pooling.start_run(closed_round.id, world.coordinator)
    second = pooling.start_run(closed_round.id, world.coordinator, min_lot_quantity=10, max_lot_quantity=12)
    db.session.expire_all()
    runs = pooling.runs_of(closed_round.id)
    assert [r.id for r in runs] == [second.id, first.id]
    assert all(r.status is RunStatus.SUCCEEDED for r in runs)
    assert runs[0].lot_count > runs[1].lot_count  # smaller lots: more of them


def test_a_crash_halfway_saves_nothing_and_leaves_the_round_as_it_was(world, closed_round, monkeypatch):
    real_add = db.session.add

    def explode(obj):
        if isinstance(obj, LotMember | Lot) and db.session.execute(sa.select(sa.func.count(Lot.id))).scalar_one() >= 0:
            raise RuntimeError("disk full")
        return real_add(obj)

    monkeypatch.setattr(db.session, "add", explode)
    run = pooling.start_run(closed_round.id, world.coordinator)
    monkeypatch.undo()
    db.session.expire_all()
    run = db.session.get(PoolingRun, run.id)
    assert run.status is RunStatus.FAILED
    assert "disk full" in run.error
    assert db.session.execute(sa.select(sa.func.count(Lot.id))).scalar_one() == 0
    assert db.session.execute(sa.select(sa.func.count(UnpooledLine.id))).scalar_one() == 0
    assert db.session.get(Round, closed_round.id).phase is RoundPhase.DEMAND_CLOSED
    # Re-running is safe.
    again = pooling.start_run(closed_round.id, world.coordinator)
    db.session.expire_all()
    assert db.session.get(PoolingRun, again.id).status is RunStatus.SUCCEEDED


def test_a_cancel_request_stops_the_solver_at_its_next_report(world, closed_round, monkeypatch):
    def cancelled_run(run_id: int) -> None:
        db.session.execute(sa.update(PoolingRun).where(PoolingRun.id == run_id).values(cancel_requested=True))
        db.session.commit()
        pooling.execute_run(run_id)

    monkeypatch.setattr("marketplace.jobs.run_pooling", cancelled_run)
    run = pooling.start_run(closed_round.id, world.coordinator)
    db.session.expire_all()
    run = db.session.get(PoolingRun, run.id)
    assert run.status is RunStatus.CANCELLED
    assert db.session.execute(sa.select(sa.func.count(Lot.id))).scalar_one() == 0


def test_a_killed_worker_shows_as_failed(world, closed_round, frozen_clock, monkeypatch):
    monkeypatch.setattr("marketplace.jobs.run_pooling", lambda run_id: None)  # nobody picks the job up...
    run = pooling.start_run(closed_round.id, world.coordinator)
    run.status, run.started_at = RunStatus.RUNNING, clock.now()  # ...then a worker starts it and dies
    db.session.commit()
    frozen_clock.freeze(clock.now() + timedelta(seconds=run.time_limit + solver_runs.STALE_AFTER_SECONDS + 1))
    assert pooling.get_run(run.id).status is RunStatus.FAILED
    assert "stopped without finishing" in pooling.get_run(run.id).error


def test_only_coordinators_run_pooling_and_only_after_demand_closed(world):
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN)
    make_line(rnd, world.fleet.organization)
    with pytest.raises(Forbidden):
        pooling.start_run(rnd.id, world.fleet)
    with pytest.raises(Conflict, match="cannot run pooling now"):
        pooling.start_run(rnd.id, world.coordinator)


def test_publishing_a_run_opens_bidding_on_its_lots(world, closed_round, login):
    run = pooling.start_run(closed_round.id, world.coordinator)
    client = login(world.coordinator)
    page = client.get(f"/coordinator/rounds/{closed_round.id}/pooling").get_data(as_text=True)
    assert "Publish these lots and open bidding" in page
    assert "no compatible" in page or "minimum lot size" in page  # the bus line's reason is shown
    assert client.post(f"/coordinator/pooling-runs/{run.id}/publish").status_code == 400  # not confirmed
    assert db.session.get(Round, closed_round.id).phase is RoundPhase.POOLED
    response = client.post(f"/coordinator/pooling-runs/{run.id}/publish", data={"confirm": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    rnd = db.session.get(Round, closed_round.id)
    assert rnd.phase is RoundPhase.TENDERING
    assert rnd.published_pooling_run_id == run.id
    assert [lot.code for lot in pooling.published_lots(rnd)] == ["lot-1"]


def test_the_exported_run_re_solves_to_the_same_bytes(world, closed_round, login, tmp_path):
    run = pooling.start_run(closed_round.id, world.coordinator)
    client = login(world.coordinator)
    input_doc = client.get(f"/coordinator/pooling-runs/{run.id}/input.json")
    output_doc = client.get(f"/coordinator/pooling-runs/{run.id}/output.json")
    assert input_doc.status_code == output_doc.status_code == 200
    (tmp_path / "in.json").write_bytes(input_doc.data)
    subprocess.run(
        [sys.executable, "-m", "solver", "pool", str(tmp_path / "in.json"), "-o", str(tmp_path / "out.json"),
         "--time-limit", str(run.time_limit)],
        check=True,
    )  # fmt: skip
    mine = json.loads((tmp_path / "out.json").read_text())
    published = json.loads(output_doc.data)
    mine["stats"].pop("solve_seconds")
    published["stats"].pop("solve_seconds")
    assert mine == published

    # ...and byte for byte, but for the one field that measures time.
    def strip(text: str) -> str:
        return "\n".join(row for row in text.splitlines() if '"solve_seconds"' not in row)

    assert strip((tmp_path / "out.json").read_text()) == strip(output_doc.get_data(as_text=True))


def test_the_pooling_page_shows_a_progress_bar_for_a_running_run(world, closed_round, login, monkeypatch):
    monkeypatch.setattr("marketplace.jobs.run_pooling", lambda run_id: None)  # stays queued: no worker
    run = pooling.start_run(closed_round.id, world.coordinator)
    client = login(world.coordinator)
    page = client.get(f"/coordinator/rounds/{closed_round.id}/pooling").get_data(as_text=True)
    assert f'data-progress-url="/coordinator/pooling-runs/{run.id}/progress"' in page
    assert client.get(f"/coordinator/pooling-runs/{run.id}/progress").get_json()["status"] == "queued"
    with pytest.raises(Conflict, match="still going"):
        pooling.start_run(closed_round.id, world.coordinator)
    assert client.post(f"/coordinator/pooling-runs/{run.id}/cancel").status_code == 302
    assert pooling.get_run(run.id).status is RunStatus.CANCELLED
