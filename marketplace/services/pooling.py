"""Pooling runs: start one as a background job, follow its progress, save its lots, publish one.

A run's job exports the solver input from the committed lines (solver_bridge), keeps the
exact input and output documents on the run, checks the result with the solver's own
validator, and saves lots, members and unpooled reasons in one transaction. A job that
fails or is cancelled leaves the round as it was; re-running is always safe.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.filters import count_of
from marketplace.models import (
    DemandLine,
    Lot,
    LotMember,
    Organization,
    PoolingRun,
    Region,
    Round,
    RoundPhase,
    RunStatus,
    Segment,
    UnpooledLine,
    User,
)
from marketplace.pagination import contains
from marketplace.services import access, audit, clock, events, rounds, solver_bridge, solver_runs
from marketplace.services.access import Actor
from marketplace.services.errors import Conflict, NotFound, ValidationFailed
from solver import io as solver_io

POOLING_PHASES = (RoundPhase.DEMAND_CLOSED, RoundPhase.POOLED)


def runs_of(round_id: int) -> list[PoolingRun]:
    runs = list(
        db.session.execute(
            sa.select(PoolingRun).where(PoolingRun.round_id == round_id).order_by(PoolingRun.id.desc())
        ).scalars()
    )
    solver_runs.fail_stale(runs)
    return runs


def get_run(run_id: int) -> PoolingRun:
    run = db.session.get(PoolingRun, run_id)
    if run is None:
        raise NotFound("No such pooling run.")
    solver_runs.fail_stale([run])
    return run


def start_run(
    round_id: int,
    actor: Actor,
    *,
    min_lot_quantity: int | None = None,
    max_lot_quantity: int | None = None,
    max_levels_up: int | None = None,
    time_limit: float | None = None,
) -> PoolingRun:
    """Queue a pooling run of the round's committed demand (the round's bounds unless others are given)."""
    access.require_coordinator(actor)
    rounds.load_round(round_id)  # 404 before anything is written
    solver_runs.fail_dead_runs_of_round(PoolingRun, round_id)  # commits: before the round's lock
    rnd = rounds.lock(round_id)
    rounds.require_phase(rnd, *POOLING_PHASES, doing="run pooling")
    run = PoolingRun(
        round_id=rnd.id,
        created_by_id=actor.id,
        min_lot_quantity=rnd.min_lot_quantity if min_lot_quantity is None else min_lot_quantity,
        max_lot_quantity=rnd.max_lot_quantity if max_lot_quantity is None else max_lot_quantity,
        max_levels_up=rnd.max_levels_up if max_levels_up is None else max_levels_up,
        time_limit=time_limit or current_app.config.get("POOLING_TIME_LIMIT", 30.0),
    )
    errors = {}
    if run.min_lot_quantity < 1:
        errors["min_lot_quantity"] = "Must be at least 1 vehicle."
    if run.max_lot_quantity < run.min_lot_quantity:
        errors["max_lot_quantity"] = "Must be at least the minimum lot size."
    if not 0 <= run.max_levels_up <= 3:
        errors["max_levels_up"] = "Must be between 0 and 3 levels."
    if not 1 <= run.time_limit <= 600:
        errors["time_limit"] = "Must be between 1 and 600 seconds."
    if errors:
        raise ValidationFailed("The pooling run was not started: fix the fields marked below.", field_errors=errors)
    if not solver_bridge.committed_lines(rnd.id):
        raise Conflict("There is no committed demand to pool in this round.")
    busy = db.session.execute(
        sa.select(PoolingRun.id).where(
            PoolingRun.round_id == rnd.id, PoolingRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING])
        )
    ).first()
    if busy:
        raise Conflict(f"Pooling run #{busy[0]} is still going: wait for it or cancel it first.")
    db.session.add(run)
    db.session.flush()
    audit.record(
        actor,
        "pooling.start",
        run,
        round_id=rnd.id,
        summary=f"Started pooling run #{run.id} (lots of {run.min_lot_quantity}–{run.max_lot_quantity}, "
        f"{run.max_levels_up} levels up).",
    )
    events.record(events.PoolingRunStarted(run.id, rnd.id))  # the solver runs in a job after the commit
    db.session.commit()
    return run


def cancel_run(run_id: int, actor: Actor) -> PoolingRun:
    access.require_coordinator(actor)
    run = get_run(run_id)
    solver_runs.cancel(run, actor, action="pooling.cancel", label=f"pooling run #{run.id}")
    return run


def execute_run(run_id: int) -> None:
    """The job: solve, validate and save one run (see solver_runs.execute)."""
    import solver

    solver_runs.execute(
        PoolingRun,
        run_id,
        label="Pooling run",
        build=lambda run: solver_bridge.pooling_input(db.session.get_one(Round, run.round_id), run),
        solve=lambda doc, reporter, run: solver_runs.solve("pool", doc, run, reporter),
        validate=solver.validate_pooling,
        save=lambda run, result: save_result(run.id, result),
    )


def _levels(regions: dict[str, Region], member: str, lot: str) -> int:
    return regions[member].depth - regions[lot].depth


def save_result(run_id: int, result: dict[str, Any]) -> None:
    """Lots, members and unpooled reasons of a result, in one transaction with the run's outcome."""
    run = db.session.get(PoolingRun, run_id)
    assert run is not None
    rnd = rounds.lock(run.round_id)
    if rnd.phase not in POOLING_PHASES:
        raise Conflict(f"The round moved on to “{rnd.phase.label}” while pooling ran; nothing was saved.")
    lines = {line.id: line for line in solver_bridge.committed_lines(rnd.id)}
    regions = {r.id: r for r in db.session.execute(sa.select(Region)).scalars()}
    for lot_doc in result["lots"]:
        members = [(lines[solver_bridge.parse_key(m["demand"], "line")], m["quantity"]) for m in lot_doc["members"]]
        lot = Lot(
            round_id=rnd.id,
            pooling_run_id=run.id,
            code=lot_doc["id"],
            segment_id=lot_doc["segment"],
            region_id=lot_doc["region"],
            earliest_quarter=lot_doc["window"]["earliest"],
            latest_quarter=lot_doc["window"]["latest"],
            charging=lot_doc["charging"],
            min_range_km=lot_doc["requirements"]["min_range_km"],
            min_payload_kg=lot_doc["requirements"]["min_payload_kg"],
            quantity=lot_doc["quantity"],
            fleet_count=len({line.organization_id for line, _ in members}),
            spread=sum(q * _levels(regions, line.region_id, lot_doc["region"]) for line, q in members),
        )
        lot.members = [LotMember(demand_line_id=line.id, quantity=q) for line, q in members]
        db.session.add(lot)
    for item in result["unpooled"]:
        db.session.add(
            UnpooledLine(
                pooling_run_id=run.id,
                demand_line_id=solver_bridge.parse_key(item["demand"], "line"),
                quantity=item["quantity"],
                reason=item["reason"][:300],
            )
        )
    stats = result["stats"]
    run.output_json = solver_io.dumps(result)
    run.solver_status = result["status"]
    run.total_quantity = stats["total_quantity"]
    run.pooled_quantity = stats["pooled_quantity"]
    run.bound_quantity = stats["bound"]
    run.lot_count = stats["lots"]
    run.status = RunStatus.SUCCEEDED
    run.finished_at = clock.now()
    creator = db.session.get(User, run.created_by_id) if run.created_by_id else None
    audit.record(
        creator,
        "pooling.succeeded",
        run,
        round_id=rnd.id,
        summary=f"Pooling run #{run.id}: {run.pooled_quantity} of {count_of(run.total_quantity, 'vehicle')} in "
        f"{run.lot_count} lots ({run.solver_status.lower()}).",
    )
    if rnd.phase is RoundPhase.DEMAND_CLOSED:
        rounds.move(rnd, RoundPhase.POOLED, creator, summary=f"Pooling run #{run.id} succeeded.")
    db.session.commit()


def publish_run(run_id: int, actor: Actor) -> Round:
    """Make a run's lots the round's tender: OEMs see them and bidding opens."""
    access.require_coordinator(actor)
    run = get_run(run_id)
    rnd = rounds.lock(run.round_id)
    rounds.require_phase(rnd, RoundPhase.POOLED, doing="publish lots")
    if run.status is not RunStatus.SUCCEEDED:
        raise Conflict(f"Pooling run #{run.id} has not succeeded: only a finished run can be published.")
    if run.lot_count == 0:
        raise Conflict(f"Pooling run #{run.id} has no lots: there is nothing to tender.")
    rnd.published_pooling_run_id = run.id
    run.published_at = clock.now()
    rounds.move(
        rnd, RoundPhase.TENDERING, actor, summary=f"Published the {run.lot_count} lots of pooling run #{run.id}."
    )
    events.record(events.LotsPublished(rnd.id, run.id))
    db.session.commit()
    return rnd


def published_lots(rnd: Round, *, with_places: bool = False) -> list[Lot]:
    """The round's tender; `with_places` loads each lot's segment and region with it."""
    if rnd.published_pooling_run_id is None:
        return []
    query = sa.select(Lot).where(Lot.pooling_run_id == rnd.published_pooling_run_id).order_by(Lot.id)
    if with_places:
        query = query.options(joinedload(Lot.segment), joinedload(Lot.region))
    return list(db.session.execute(query).scalars())


# What the pooling page shows of a run's lots and left-out lines, loaded in a fixed number of statements.
LOT_SORTS = {
    "code": [Lot.code, Lot.id],
    "vehicles": [Lot.quantity, Lot.id],
    "fleets": [Lot.fleet_count, Lot.id],
    "spread": [Lot.spread, Lot.id],
    "segment": [Lot.segment_id, Lot.id],
}


LOT_FILTERS = {
    "lot": lambda v: Lot.code.ilike(contains(v)),
    "segment": lambda v: Lot.segment.has(Segment.name.ilike(contains(v))) | Lot.segment_id.ilike(contains(v)),
    "region": lambda v: Lot.region.has(Region.name.ilike(contains(v))) | Lot.region_id.ilike(contains(v)),
}


def lots_query(run_id: int) -> sa.Select:
    """A run's lots with their segment and region; their members are on each lot's own page (members_query)."""
    return sa.select(Lot).where(Lot.pooling_run_id == run_id).options(joinedload(Lot.segment), joinedload(Lot.region))


def get_lot(lot_id: int) -> Lot:
    lot = db.session.get(Lot, lot_id, options=[joinedload(Lot.segment), joinedload(Lot.region)])
    if lot is None:
        raise NotFound("No such lot.")
    return lot


def members_query(lot_id: int) -> sa.Select:
    """A lot's members (demand lines, in part for a splittable one) with their fleet and region, for a page of them."""
    return (
        sa.select(LotMember)
        .join(DemandLine, DemandLine.id == LotMember.demand_line_id)
        .join(Organization, Organization.id == DemandLine.organization_id)
        .where(LotMember.lot_id == lot_id)
        .options(joinedload(LotMember.demand_line).options(joinedload(DemandLine.organization),
                                                           joinedload(DemandLine.region)))
    )  # fmt: skip


MEMBER_SORTS = {
    "line": LotMember.demand_line_id,
    "fleet": [Organization.name, LotMember.demand_line_id],
    "vehicles": [LotMember.quantity, LotMember.demand_line_id],
}
MEMBER_FILTERS = {"fleet": lambda v: Organization.name.ilike(contains(v))}


def unpooled_query(run_id: int) -> sa.Select:
    line = joinedload(UnpooledLine.demand_line)
    return (
        sa.select(UnpooledLine)
        .where(UnpooledLine.pooling_run_id == run_id)
        .options(
            line.joinedload(DemandLine.organization),
            line.joinedload(DemandLine.segment),
            line.joinedload(DemandLine.region),
        )
    )
