"""After the award: what each side sees of it, and fleets confirming or declining their allocations.

Only the published scenario counts. A fleet sees the allocations of its own lines (supplier,
model, quantity, unit price, delivery window) or why a line was not served; an OEM sees
what it won, per fleet; a coordinator sees the state of every allocation. Decisions are
taken in `contracting`, until the confirmation deadline (to the second, by the server clock).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from marketplace.extensions import db
from marketplace.filters import count_of
from marketplace.models import (
    Allocation,
    ConfirmationStatus,
    DemandLine,
    Lot,
    Organization,
    OrganizationKind,
    Round,
    RoundPhase,
    UnservedLine,
)
from marketplace.pagination import contains
from marketplace.services import access, audit, clock, events, rounds
from marketplace.services.access import Actor
from marketplace.services.closing import decline_pending, pending_of  # noqa: F401 (re-exported: contracting's names)
from marketplace.services.errors import Conflict, DomainError, NotFound, ValidationFailed

RESULT_PHASES = (RoundPhase.AWARDED, RoundPhase.CONTRACTING, RoundPhase.CLOSED)


def _published(rnd: Round) -> int:
    phase = rounds.effective_phase(rnd)
    if phase not in RESULT_PHASES or rnd.published_scenario_id is None:
        raise Conflict(f"The award of this round is not published yet (it is “{phase.label}”).")
    return rnd.published_scenario_id


def published_scenario(rnd: Round) -> int:
    """The id of the round's published award scenario (Conflict while none is published)."""
    return _published(rnd)


# What an allocation row shows, loaded with it in a fixed number of statements (not one per row).
ALLOCATION_ROW = (
    joinedload(Allocation.lot).options(joinedload(Lot.segment), joinedload(Lot.region)),
    joinedload(Allocation.demand_line).options(
        joinedload(DemandLine.organization), joinedload(DemandLine.segment), joinedload(DemandLine.region)
    ),
    joinedload(Allocation.supplier),
    joinedload(Allocation.vehicle_model),
    selectinload(Allocation.deliveries),
)
UNSERVED_ROW = (joinedload(UnservedLine.demand_line).joinedload(DemandLine.organization),)


def allocations_of(scenario_id: int) -> sa.Select:
    return sa.select(Allocation).where(Allocation.scenario_id == scenario_id).options(*ALLOCATION_ROW)


def unserved_of(scenario_id: int) -> sa.Select:
    return sa.select(UnservedLine).where(UnservedLine.scenario_id == scenario_id).options(*UNSERVED_ROW)


# Sort keys and filters the allocation tables offer (pagination.paginate).
ALLOCATION_SORTS = {
    "lot": [Allocation.lot_id, Allocation.id],
    "line": [Allocation.demand_line_id, Allocation.id],
    "quantity": [Allocation.quantity, Allocation.id],
    "price": [Allocation.unit_price, Allocation.id],
    "status": [Allocation.confirmation, Allocation.id],
    "id": [Allocation.id],
}


ALLOCATION_FILTERS = {
    "fleet": lambda v: Allocation.demand_line.has(DemandLine.organization.has(Organization.name.ilike(contains(v)))),
    "supplier": lambda v: Allocation.supplier.has(Organization.name.ilike(contains(v))),
    "lot": lambda v: Allocation.lot.has(Lot.code.ilike(contains(v))),
    # A status the list does not offer (an edited link) is ignored (None), as pagination.paginate says.
    "status": lambda v: (
        Allocation.confirmation == ConfirmationStatus(v) if v in {s.value for s in ConfirmationStatus} else None
    ),
}


def confirmation_counts(scenario_id: int) -> Counter[str]:
    """Allocations of a scenario by confirmation state (one GROUP BY)."""
    rows = db.session.execute(
        sa.select(Allocation.confirmation, sa.func.count())
        .where(Allocation.scenario_id == scenario_id)
        .group_by(Allocation.confirmation)
    ).all()
    return Counter({state.value: n for state, n in rows})


@dataclass
class FleetResults:
    allocations: list[Allocation]
    unserved: list[UnservedLine]


@dataclass
class ResultQueries:
    """The published award's rows a reader may see, as queries to page through (not loaded yet)."""

    rnd: Round
    allocations: sa.Select
    unserved: sa.Select
    scenario_id: int

    def totals(self) -> tuple[int, int, Decimal, int]:
        """(allocations, vehicles, value, lots) of the reader's allocations, in one aggregate query."""
        # Allocations taken back from a supplier that dropped out, or refused by a backup, are no longer the reader's.
        live = [s for s in ConfirmationStatus if s.live]
        sub = self.allocations.order_by(None).where(Allocation.confirmation.in_(live)).subquery()
        count, vehicles, value, lots = db.session.execute(
            sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(sub.c.quantity), 0),
                sa.func.coalesce(sa.func.sum(sub.c.quantity * sub.c.unit_price), 0),
                sa.func.count(sa.distinct(sub.c.lot_id)),
            )
        ).one()
        return int(count), int(vehicles), Decimal(value), int(lots)


def fleet_result_queries(round_id: int, actor: Actor) -> ResultQueries:
    """The fleet's own allocations and unserved lines in the published award."""
    access.require_kind(actor, OrganizationKind.FLEET, "Only a fleet has allocations.")
    rnd = rounds.load_round(round_id)
    scenario_id = _published(rnd)
    allocations = (
        sa.select(Allocation)
        .join(DemandLine, DemandLine.id == Allocation.demand_line_id)
        .where(Allocation.scenario_id == scenario_id, DemandLine.organization_id == actor.organization_id)
        .options(*ALLOCATION_ROW)
    )
    unserved = (
        sa.select(UnservedLine)
        .join(DemandLine, DemandLine.id == UnservedLine.demand_line_id)
        .where(UnservedLine.scenario_id == scenario_id, DemandLine.organization_id == actor.organization_id)
        .options(*UNSERVED_ROW)
    )
    return ResultQueries(rnd, allocations, unserved, scenario_id)


def fleet_results(round_id: int, actor: Actor) -> FleetResults:
    """The fleet's own allocations and unserved lines in the published award, all of them."""
    q = fleet_result_queries(round_id, actor)
    allocations = db.session.execute(q.allocations.order_by(Allocation.demand_line_id, Allocation.id)).scalars()
    unserved = db.session.execute(q.unserved.order_by(UnservedLine.demand_line_id)).scalars()
    return FleetResults(list(allocations), list(unserved))


def oem_result_query(round_id: int, actor: Actor) -> ResultQueries:
    """What the OEM won in the published award (fleet names are visible now)."""
    access.require_kind(actor, OrganizationKind.OEM, "Only an OEM has results.")
    rnd = rounds.load_round(round_id)
    scenario_id = _published(rnd)
    allocations = (
        sa.select(Allocation)
        .where(Allocation.scenario_id == scenario_id, Allocation.organization_id == actor.organization_id)
        .options(*ALLOCATION_ROW)
    )
    return ResultQueries(rnd, allocations, sa.select(UnservedLine).where(sa.false()), scenario_id)


def oem_results(round_id: int, actor: Actor) -> list[Allocation]:
    """What the OEM won in the published award, allocation by allocation."""
    q = oem_result_query(round_id, actor)
    return list(db.session.execute(q.allocations.order_by(Allocation.lot_id, Allocation.demand_line_id)).scalars())


def all_allocation_query(round_id: int, actor: Actor) -> tuple[ResultQueries, Counter[str]]:
    """Every allocation of the published award (coordinators), and how many are in each confirmation state."""
    access.require_coordinator(actor)
    rnd = rounds.load_round(round_id)
    scenario_id = _published(rnd)
    allocations = sa.select(Allocation).where(Allocation.scenario_id == scenario_id).options(*ALLOCATION_ROW)
    query = ResultQueries(rnd, allocations, sa.select(UnservedLine).where(sa.false()), scenario_id)
    return query, confirmation_counts(scenario_id)


def all_allocations(round_id: int, actor: Actor) -> tuple[Round, list[Allocation], Counter[str]]:
    """Every allocation of the published award with its confirmation state (coordinators)."""
    query, counts = all_allocation_query(round_id, actor)
    rows = list(db.session.execute(query.allocations.order_by(Allocation.id)).scalars())
    return query.rnd, rows, counts


def decide(allocation_id: int, confirm: bool, actor: Actor) -> Allocation:
    """A fleet confirms or declines one of its allocations, once, before the confirmation deadline."""
    found = access.fleet_allocation(actor, allocation_id)
    rnd = rounds.lock(found.demand_line.round_id)  # the round first, then its rows, like every write
    allocation = _decide(rnd, found.id, confirm, actor)
    db.session.commit()
    return allocation


def _decide(rnd: Round, allocation_id: int, confirm: bool, actor: Actor) -> Allocation:
    """One decision with its audit entry and deposit follow-up, in the caller's transaction (no commit).

    The caller holds the round's lock (`rounds.lock`)."""
    allocation = access.fleet_allocation(actor, allocation_id, for_update=True)
    if allocation.scenario_id != rnd.published_scenario_id:
        raise NotFound("No such allocation.")
    rounds.require_phase(rnd, RoundPhase.CONTRACTING, doing="confirm or decline an allocation")
    if allocation.confirmation is ConfirmationStatus.OFFERED:
        raise Conflict("This replacement waits for the backup supplier to accept it: you decide once it has.")
    if allocation.confirmation is not ConfirmationStatus.PENDING:
        raise Conflict(f"This allocation is already {allocation.confirmation.value}.")
    allocation.confirmation = ConfirmationStatus.CONFIRMED if confirm else ConfirmationStatus.DECLINED
    allocation.decided_at = clock.now()
    allocation.decided_by_id = actor.id
    audit.record(
        actor,
        "allocation.confirm" if confirm else "allocation.decline",
        allocation,
        round_id=rnd.id,
        summary=f"{'Confirmed' if confirm else 'Declined'} {count_of(allocation.quantity, 'vehicle')} from "
        f"{allocation.supplier.name} at {allocation.unit_price} {rnd.currency} for line {allocation.demand_line_id}.",
        before={"confirmation": "pending"},
        after={"confirmation": allocation.confirmation.value},
    )
    # The line's deposit follows the decision, in a job after the commit (marketplace.handlers).
    events.record(
        events.AllocationDecided(
            allocation.id,
            rnd.id,
            allocation.demand_line_id,
            allocation.demand_line.organization_id,
            allocation.organization_id,
            confirm,
        )
    )
    return allocation


# ---------------------------------------------------------------- several decisions at once, after a summary

MAX_DECISIONS = 500  # allocations decided in one go (a page of the list holds at most 200)


@dataclass
class DecisionSummary:
    """What confirming (or declining) the chosen allocations means, in money, before the fleet does it."""

    round: Round
    confirm: bool
    allocations: list[Allocation]
    deposit_held: Decimal  # held on the card for the lines concerned
    deposit_effect: Decimal  # applied to the purchase (confirm) or kept by the round's rule (decline)

    @property
    def vehicles(self) -> int:
        return sum(a.quantity for a in self.allocations)

    @property
    def total_price(self) -> Decimal:
        return sum((a.unit_price * a.quantity for a in self.allocations), Decimal("0"))

    @property
    def max_total(self) -> Decimal:
        """The same vehicles at the lines' maximum unit prices: what the fleet said it would pay at most."""
        return sum((a.demand_line.max_unit_price * a.quantity for a in self.allocations), Decimal("0"))

    @property
    def public_ids(self) -> list[str]:
        return [a.public_id for a in self.allocations]


def _chosen(rnd: Round, public_ids: list[str], actor: Actor) -> list[Allocation]:
    wanted = list(dict.fromkeys(p for p in public_ids if p))
    if not wanted:
        raise ValidationFailed("Choose the allocations first: tick them in the list.")
    if len(wanted) > MAX_DECISIONS:
        raise ValidationFailed(f"Choose at most {MAX_DECISIONS} allocations at once.")
    found = list(
        db.session.execute(
            sa.select(Allocation)
            .join(DemandLine, DemandLine.id == Allocation.demand_line_id)
            .where(
                Allocation.public_id.in_(wanted),
                Allocation.scenario_id == rnd.published_scenario_id,
                DemandLine.organization_id == actor.organization_id,
            )
            .options(*ALLOCATION_ROW)
            .order_by(Allocation.demand_line_id, Allocation.id)
        ).scalars()
    )
    if len(found) != len(wanted):
        raise Conflict("Some of the chosen allocations are not yours in this award: reload the page and choose again.")
    decided = [a for a in found if a.confirmation is not ConfirmationStatus.PENDING]
    if decided:
        lines = ", ".join(f"#{a.demand_line_id}" for a in decided[:10])
        raise Conflict(f"Some of the chosen allocations are already decided (lines {lines}): choose pending ones only.")
    return found


def decision_summary(round_id: int, public_ids: list[str], confirm: bool, actor: Actor) -> DecisionSummary:
    """Vehicles, total price against the lines' maximum prices, and the deposit concerned (nothing changes)."""
    from marketplace.gateways import share_of
    from marketplace.models import Deposit, DepositState

    access.require_kind(actor, OrganizationKind.FLEET, "Only a fleet decides its allocations.")
    rnd = access.visible(actor, rounds.load_round(round_id))
    _published(rnd)
    rounds.require_phase(rnd, RoundPhase.CONTRACTING, doing="confirm or decline allocations")
    chosen = _chosen(rnd, public_ids, actor)
    held = list(
        db.session.execute(
            sa.select(Deposit).where(
                Deposit.demand_line_id.in_({a.demand_line_id for a in chosen}), Deposit.state == DepositState.HELD
            )
        ).scalars()
    )
    total_held = sum((d.held_amount for d in held), Decimal("0"))
    if confirm:
        effect = total_held
    else:
        effect = sum((share_of(d.held_amount, rnd.decline_forfeit_percent, d.currency) for d in held), Decimal("0"))
    return DecisionSummary(rnd, confirm, chosen, total_held, effect)


def decide_many(round_id: int, public_ids: list[str], confirm: bool, actor: Actor) -> list[Allocation]:
    """Confirm or decline several allocations through the one-decision rule, all or nothing, in one transaction."""
    rnd = rounds.lock(round_id)  # decisions and the round's close or deadline, one at a time
    summary = decision_summary(round_id, public_ids, confirm, actor)
    try:
        decided = [_decide(rnd, a.id, confirm, actor) for a in summary.allocations]
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    return decided
