"""Award scenarios: compute the award under a set of rules as a background job, compare, publish one.

Each scenario keeps its rules, the exact solver input and output, and the allocations it
makes (which supplier serves how many vehicles of which fleet's line at what price).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app

from marketplace.extensions import db
from marketplace.filters import count_of
from marketplace.models import (
    Allocation,
    AwardScenario,
    LineService,
    LotMember,
    Round,
    RoundPhase,
    RunStatus,
    UnservedLine,
    User,
)
from marketplace.services import access, audit, bidding, clock, events, rounds, solver_bridge, solver_runs
from marketplace.services.access import Actor
from marketplace.services.errors import Conflict, NotFound, ValidationFailed
from marketplace.services.scenario_figures import ScenarioFigures as ScenarioFigures
from marketplace.services.scenario_figures import comparison_charts as comparison_charts
from marketplace.services.scenario_figures import compute_figures as compute_figures
from marketplace.services.scenario_figures import figures as figures  # comparing scenarios: re-exported
from solver import io as solver_io

SCENARIO_PHASES = (RoundPhase.BIDS_CLOSED,)


@dataclass
class ScenarioRules:
    name: str = ""
    max_winners_per_lot: int | None = None
    max_share_per_supplier: Decimal | None = None
    line_service: str | None = None
    excluded_supplier_ids: list[int] = field(default_factory=list)
    time_limit: float | None = None
    prefer_early_delivery: bool = False  # at equal vehicles and price, the earliest deliveries


def scenarios_of(round_id: int) -> list[AwardScenario]:
    found = list(
        db.session.execute(
            sa.select(AwardScenario).where(AwardScenario.round_id == round_id).order_by(AwardScenario.id)
        ).scalars()
    )
    solver_runs.fail_stale(found)
    return found


def get_scenario(scenario_id: int) -> AwardScenario:
    scenario = db.session.get(AwardScenario, scenario_id)
    if scenario is None:
        raise NotFound("No such award scenario.")
    solver_runs.fail_stale([scenario])
    return scenario


def start_scenario(round_id: int, actor: Actor, rules: ScenarioRules) -> AwardScenario:
    """Queue an award under the round's rules, or a variation of them, as a new scenario."""
    access.require_coordinator(actor)
    rounds.load_round(round_id)  # 404 before anything is written
    solver_runs.fail_dead_runs_of_round(AwardScenario, round_id)  # commits: before the round's lock
    rnd = rounds.lock(round_id)
    rounds.require_phase(rnd, *SCENARIO_PHASES, doing="compute an award")
    scenario = AwardScenario(
        round_id=rnd.id,
        created_by_id=actor.id,
        name=rules.name.strip() or f"Scenario {len(scenarios_of(rnd.id)) + 1}",
        max_winners_per_lot=rules.max_winners_per_lot or rnd.max_winners_per_lot,
        max_share_per_supplier=rules.max_share_per_supplier or rnd.max_share_per_supplier,
        line_service=LineService(rules.line_service or rnd.line_service.value),
        excluded_supplier_ids=sorted(set(rules.excluded_supplier_ids)),
        prefer_early_delivery=bool(rules.prefer_early_delivery),
        time_limit=rules.time_limit or current_app.config.get("AWARD_TIME_LIMIT", 30.0),
    )
    errors = {}
    if scenario.max_winners_per_lot < 1:
        errors["max_winners_per_lot"] = "At least one supplier must be able to win a lot."
    if not Decimal(0) < Decimal(scenario.max_share_per_supplier) <= Decimal(1):
        errors["max_share_percent"] = "Must be above 0 and at most 100 %."
    if not 1 <= scenario.time_limit <= 600:
        errors["time_limit"] = "Must be between 1 and 600 seconds."
    if errors:
        raise ValidationFailed("The scenario was not started: fix the fields marked below.", field_errors=errors)
    busy = db.session.execute(
        sa.select(AwardScenario.id).where(
            AwardScenario.round_id == rnd.id, AwardScenario.status.in_([RunStatus.QUEUED, RunStatus.RUNNING])
        )
    ).first()
    if busy:
        raise Conflict(f"Scenario #{busy[0]} is still being computed: wait for it or cancel it first.")
    db.session.add(scenario)
    db.session.flush()
    audit.record(actor, "award.start", scenario, round_id=rnd.id, summary=f"Started award scenario “{scenario.name}”.")
    events.record(events.AwardScenarioStarted(scenario.id, rnd.id))  # the solver runs in a job after the commit
    db.session.commit()
    return scenario


def cancel_scenario(scenario_id: int, actor: Actor) -> AwardScenario:
    access.require_coordinator(actor)
    scenario = get_scenario(scenario_id)
    solver_runs.cancel(scenario, actor, action="award.cancel", label=f"scenario “{scenario.name}”")
    return scenario


def execute_scenario(scenario_id: int) -> None:
    """The job: solve, validate and save one scenario (see solver_runs.execute)."""
    import solver

    offers: list[Any] = []  # the bids the input was built from, to map the result back to rows

    def build(scenario: AwardScenario) -> dict[str, Any]:
        rnd = db.session.get_one(Round, scenario.round_id)
        offers.append(bidding.bids_for_award(rnd))
        return solver_bridge.award_input(rnd, scenario, offers[0])

    solver_runs.execute(
        AwardScenario,
        scenario_id,
        label="Award scenario",
        build=build,
        solve=lambda doc, reporter, s: solver_runs.solve("award", doc, s, reporter),
        validate=solver.validate_award,
        save=lambda scenario, result: save_result(scenario.id, result, offers[0]),
    )


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def save_result(scenario_id: int, result: dict[str, Any], offers: Any) -> None:
    """Allocations and unserved reasons of an award, in one transaction with the scenario's outcome."""
    scenario = db.session.get(AwardScenario, scenario_id)
    assert scenario is not None
    rnd = rounds.lock(scenario.round_id)
    if rnd.phase not in SCENARIO_PHASES:
        raise Conflict(f"The round moved on to “{rnd.phase.label}” while the award ran; nothing was saved.")
    members = {
        solver_bridge.member_key(m.id): m
        for m in db.session.execute(
            sa.select(LotMember)
            .join(LotMember.lot)
            .where(LotMember.lot.has(pooling_run_id=rnd.published_pooling_run_id))
        ).scalars()
    }
    bid_model = {solver_bridge.bid_key(b.bid_id): (b.bid_id, b.vehicle_model_id) for b in offers.bids}
    package_model = {
        (solver_bridge.package_key(p.package_id), solver_bridge.lot_key(i.lot_id)): (p.package_id, i.vehicle_model_id)
        for p in offers.packages
        for i in p.items
    }
    for row in result["awards"]:
        source = row["source"]
        if source in bid_model:
            bid_id, model_id = bid_model[source]
            package_id = None
        else:
            package_id, model_id = package_model[(source, row["lot"])]
            bid_id = None
        for part in row["allocations"]:
            member = members[part["demand"]]
            db.session.add(solver_bridge.allocation(scenario.id, member, row, part, (bid_id, package_id, model_id)))
    for item in result["unserved"]:
        member = members[item["demand"]]
        db.session.add(
            UnservedLine(
                scenario_id=scenario.id,
                demand_line_id=member.demand_line_id,
                quantity=item["quantity"],
                reason=item["reason"][:300],
            )
        )
    from marketplace.services import backups

    backups.save(scenario, result.get("backups") or [], offers)  # who would replace each winner (contracting)
    scenario.output_json = solver_io.dumps(result)
    scenario.solver_status = result["status"]
    scenario.awarded_quantity = result["awarded_quantity"]
    scenario.total_price = _money(result["total_price"])
    scenario.bound_quantity = result["stats"]["bound_quantity"]
    scenario.bound_price = _money(result["stats"]["bound_price"])
    scenario.early_delivery_proven = (result["stats"].get("early_delivery") or {}).get("applied")
    scenario.status = RunStatus.SUCCEEDED
    scenario.finished_at = clock.now()
    creator = db.session.get(User, scenario.created_by_id) if scenario.created_by_id else None
    audit.record(
        creator,
        "award.succeeded",
        scenario,
        round_id=rnd.id,
        summary=f"“{scenario.name}”: {count_of(scenario.awarded_quantity, 'vehicle')} for {scenario.total_price} {rnd.currency} "
        f"({scenario.solver_status.lower()}).",
    )
    db.session.commit()


def servable_unserved(scenario: AwardScenario) -> list[UnservedLine]:
    """Unserved lines that some bid or package could have served within their maximum price.

    "Servable" is the solver's own definition (solver.award.bounds.servable_lines), taken on the
    scenario's exact input without its excluded suppliers: a line left out only because the
    scenario excluded a supplier, or by a winner, share or capacity limit, counts as servable.
    """
    if scenario.input_json is None:
        return []
    from solver.award.bounds import servable_lines
    from solver.award.instance import parse
    from solver.award.prep import prepare

    doc = solver_io.loads(scenario.input_json)
    for lot in doc.get("lots", []):
        for line in lot.get("demand", []):
            line.pop("excluded_suppliers", None)
    inst = parse(doc)
    prep = prepare(inst)
    members = {solver_bridge.parse_key(inst.lines[li].id, "member") for li in servable_lines(prep)}
    if not members:
        return []
    lines = set(db.session.execute(sa.select(LotMember.demand_line_id).where(LotMember.id.in_(members))).scalars())
    return [u for u in scenario.unserved if u.demand_line_id in lines]


def reason_needed(scenario: AwardScenario, awarded: int, servable: list[UnservedLine]) -> str | None:
    """Why publishing this award needs the coordinator's typed reason, or None."""
    if awarded == 0:
        return "This award gives no vehicles to anyone."
    if servable:
        vehicles = sum(u.quantity for u in servable)
        return (
            f"This award leaves {len(servable):,} {rounds.plural(len(servable), 'line')} "
            f"({vehicles:,} {rounds.plural(vehicles, 'vehicle')}) unserved that some bid could serve."
        )
    return None


def publish_scenario(scenario_id: int, actor: Actor, *, reason: str | None = None) -> Round:
    """Make a scenario the round's award: OEMs see what they won, fleets their allocations.

    An award of no vehicles, or one leaving servable lines unserved, is published only with the
    coordinator's reason (kept in the audit log).
    """
    access.require_coordinator(actor)
    scenario = get_scenario(scenario_id)
    rnd = rounds.lock(scenario.round_id)
    rounds.require_phase(rnd, RoundPhase.BIDS_CLOSED, doing="publish an award")
    if scenario.status is not RunStatus.SUCCEEDED:
        raise Conflict(f"Scenario “{scenario.name}” has not finished: only a computed award can be published.")
    reason = (reason or "").strip()
    awarded = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(Allocation.quantity), 0)).where(Allocation.scenario_id == scenario.id)
    ).scalar_one()
    needed = reason_needed(scenario, int(awarded), servable_unserved(scenario))
    if needed and not reason:
        raise ValidationFailed(
            f"{needed} Publish it only with a reason.",
            field_errors={"reason": "Say why this award is published anyway."},
        )
    if len(reason) > 500:
        raise ValidationFailed("The reason is too long.", field_errors={"reason": "Use at most 500 characters."})
    rnd.published_scenario_id = scenario.id
    scenario.published_at = clock.now()
    summary = f"Published the award of scenario “{scenario.name}”."
    if needed:
        summary += f" {needed} Reason: {reason}"
    elif reason:
        summary += f" Note: {reason}"
    rounds.move(rnd, RoundPhase.AWARDED, actor, summary=summary)
    events.record(events.AwardPublished(rnd.id, scenario.id))
    db.session.commit()
    return rnd


def bidders(rnd: Round) -> list[Any]:
    """The OEMs with a bid or a package in the round (coordinators see them once bids are closed)."""
    from marketplace.models import Bid, Organization, PackageBid

    if rnd.phase not in bidding.AWARD_PHASES:
        return []  # sealed until bids close, for coordinators too

    ids = set(db.session.execute(sa.select(Bid.organization_id).where(Bid.round_id == rnd.id)).scalars())
    ids |= set(db.session.execute(sa.select(PackageBid.organization_id).where(PackageBid.round_id == rnd.id)).scalars())
    if not ids:
        return []
    return list(
        db.session.execute(
            sa.select(Organization).where(Organization.id.in_(ids)).order_by(Organization.name)
        ).scalars()
    )
