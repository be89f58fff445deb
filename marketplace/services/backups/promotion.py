"""The coordinator's side: every backup of the published award, and promoting one in one move."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from marketplace.extensions import db
from marketplace.filters import count_of
from marketplace.models import (
    Allocation,
    AllocationDelivery,
    AwardScenario,
    Backup,
    BackupAllocation,
    DemandLine,
    FailureCause,
    Lot,
    Organization,
    Round,
    RoundPhase,
)
from marketplace.services import access, audit, clock, events, rounds
from marketplace.services.access import Actor
from marketplace.services.backups.rules import CS, HELD, PROMOTION_PHASES
from marketplace.services.errors import Conflict, NotFound, ValidationFailed

# ---------------------------------------------------------------- what the coordinator sees


@dataclass
class BackupView:
    """One winner of one lot in the published award, and who would replace it."""

    backup: Backup
    held: list[Allocation]  # the winner's live allocations in the lot (what a promotion takes back)
    offered: list[Allocation]  # allocations the promotion made (once promoted)
    blocked: str = ""  # why it cannot be promoted now ("" when it can)

    @property
    def held_vehicles(self) -> int:
        return sum(a.quantity for a in self.held)

    @property
    def suppliers(self) -> list[Organization]:
        seen: dict[int, Organization] = {}
        for row in self.backup.rows:
            seen.setdefault(row.organization_id, row.supplier)
        return list(seen.values())

    @property
    def state(self) -> str:
        """In words: not promoted, waiting for a supplier, accepted, refused."""
        if self.backup.promoted_at is None:
            return "not promoted"
        if not self.offered:
            return "promoted: nobody could replace"
        states = {a.confirmation for a in self.offered}
        if CS.OFFERED in states:
            return "waiting for the backup supplier"
        if states <= {CS.REFUSED}:
            return "refused by the backup supplier"
        return "accepted: fleets re-confirm" if CS.PENDING in states else "accepted"


_BACKUP_ROWS = (
    joinedload(Backup.lot),
    joinedload(Backup.withdrawn),
    selectinload(Backup.rows).options(
        joinedload(BackupAllocation.supplier),
        joinedload(BackupAllocation.vehicle_model),
        joinedload(BackupAllocation.demand_line).joinedload(DemandLine.organization),
    ),
)


def _published(rnd: Round) -> int:
    """The published scenario's id (contracting.published_scenario's rule; contracting imports this package)."""
    phase = rounds.effective_phase(rnd)
    if phase not in (*PROMOTION_PHASES, RoundPhase.CLOSED) or rnd.published_scenario_id is None:
        raise Conflict(f"The award of this round is not published yet (it is “{phase.label}”).")
    return rnd.published_scenario_id


def overview(round_id: int, actor: Actor) -> tuple[Round, list[BackupView]]:
    """Every backup of the published award, by lot, with what promoting it would take back."""
    access.require_coordinator(actor)
    rnd = rounds.load_round(round_id)
    scenario_id = _published(rnd)
    found = list(
        db.session.execute(
            sa.select(Backup)
            .join(Lot, Lot.id == Backup.lot_id)
            .where(Backup.scenario_id == scenario_id)
            .options(*_BACKUP_ROWS)
            .order_by(Lot.code, Backup.withdrawn_id)
        )
        .unique()
        .scalars()
    )
    allocations = list(
        db.session.execute(
            sa.select(Allocation)
            .where(Allocation.scenario_id == scenario_id)
            .options(joinedload(Allocation.demand_line).joinedload(DemandLine.organization))
        ).scalars()
    )
    facts = _facts(rnd, scenario_id)
    return rnd, [_view(rnd, b, allocations, facts) for b in found]


@dataclass
class _Facts:
    """What every backup's check reads, loaded once per page (not once per backup)."""

    promoted: list[tuple[int, int]]  # (lot, supplier that dropped out) of promoted backups
    capacity: dict[int, int]


def _facts(rnd: Round, scenario_id: int) -> _Facts:
    from marketplace.models import RoundCapacity

    promoted = db.session.execute(
        sa.select(Backup.lot_id, Backup.withdrawn_id).where(
            Backup.scenario_id == scenario_id, Backup.promoted_at.is_not(None)
        )
    ).all()
    capacity = db.session.execute(
        sa.select(RoundCapacity.organization_id, RoundCapacity.capacity).where(RoundCapacity.round_id == rnd.id)
    ).all()
    return _Facts([(lot, org) for lot, org in promoted], {org: cap for org, cap in capacity})


def _view(rnd: Round, backup: Backup, allocations: list[Allocation], facts: _Facts) -> BackupView:
    held = [
        a
        for a in allocations
        if a.lot_id == backup.lot_id
        and a.organization_id == backup.withdrawn_id
        and a.backup_id is None
        and a.confirmation in HELD
    ]
    offered = [a for a in allocations if a.backup_id == backup.id]
    view = BackupView(backup, held, offered)
    view.blocked = _blocked(rnd, backup, view, allocations, facts)
    return view


def _blocked(rnd: Round, backup: Backup, view: BackupView, allocations: list[Allocation], facts: _Facts) -> str:
    """Why this backup cannot be promoted now, in words ("" when it can)."""
    if backup.promoted_at is not None:
        return "It was promoted already."
    if rnd.phase not in PROMOTION_PHASES:
        return f"The round is in phase “{rnd.phase.label}”: backups are promoted while awarded or in contracting."
    if not view.held:
        return f"{backup.withdrawn.name} holds no allocation of this lot that a fleet has not declined."
    promoted = facts.promoted
    if any(lot_id == backup.lot_id for lot_id, _ in promoted):
        return (
            "Another backup of this lot was promoted already: each backup was computed with the other winners "
            "in place, so this lot needs a new award scenario."
        )
    dropped = {org_id for _, org_id in promoted}
    for supplier in view.suppliers:
        if supplier.id in dropped:
            return f"The backup supplier {supplier.name} dropped out of this award itself."
    capacity = facts.capacity
    for supplier in view.suppliers:
        holds = sum(
            a.quantity
            for a in allocations
            if a.organization_id == supplier.id and a.confirmation in (CS.PENDING, CS.CONFIRMED, CS.OFFERED)
        )
        more = sum(r.quantity for r in backup.rows if r.organization_id == supplier.id)
        if holds + more > capacity.get(supplier.id, 0):
            return (
                f"{supplier.name} stated a capacity of {count_of(capacity.get(supplier.id, 0), 'vehicle')} for this "
                f"round and already holds {holds:,}: it cannot take {more:,} more."
            )
    return ""


def _backup_of_round(backup_id: int, rnd: Round) -> Backup:
    backup = db.session.execute(
        sa.select(Backup).where(Backup.id == backup_id).options(*_BACKUP_ROWS)
    ).scalar_one_or_none()
    if backup is None or backup.scenario_id != rnd.published_scenario_id:
        raise NotFound("No such backup in this round's published award.")
    return backup


def _round_of(backup_id: int) -> int:
    round_id = db.session.execute(
        sa.select(AwardScenario.round_id)
        .join(Backup, Backup.scenario_id == AwardScenario.id)
        .where(Backup.id == backup_id)
    ).scalar_one_or_none()
    if round_id is None:
        raise NotFound("No such backup.")
    return round_id


@dataclass
class Promotion:
    """What promoting a backup does, in numbers, before the coordinator does it (nothing changes)."""

    round: Round
    view: BackupView
    # per demand line: (line, vehicles taken back, vehicles offered by the backup)
    lines: list[tuple[DemandLine, int, int]] = field(default_factory=list)

    @property
    def taken_back(self) -> int:
        return self.view.held_vehicles

    @property
    def offered(self) -> int:
        return sum(offered for _, _, offered in self.lines)

    @property
    def unreplaced(self) -> int:
        return self.taken_back - self.offered

    @property
    def fleets(self) -> int:
        return len({line.organization_id for line, _, _ in self.lines})

    @property
    def held_value(self) -> Decimal:
        return sum((a.quantity * a.unit_price for a in self.view.held), Decimal("0"))

    @property
    def offered_value(self) -> Decimal:
        live = {line.id for line, _, _ in self.lines}
        return sum((r.quantity * r.unit_price for r in self.view.backup.rows if r.demand_line_id in live), Decimal("0"))


def promotion(round_id: int, backup_id: int, actor: Actor) -> Promotion:
    """The consequences of promoting one backup: vehicles taken back, offered, left unserved, by line."""
    access.require_coordinator(actor)
    return _promotion(rounds.load_round(round_id), backup_id)


def _promotion(rnd: Round, backup_id: int) -> Promotion:
    _published(rnd)
    backup = _backup_of_round(backup_id, rnd)
    allocations = list(
        db.session.execute(
            sa.select(Allocation)
            .where(Allocation.scenario_id == backup.scenario_id)
            .options(joinedload(Allocation.demand_line).joinedload(DemandLine.organization))
        ).scalars()
    )
    view = _view(rnd, backup, allocations, _facts(rnd, backup.scenario_id))
    result = Promotion(rnd, view)
    for a in sorted(view.held, key=lambda a: (a.demand_line_id, a.id)):
        offered = sum(r.quantity for r in backup.rows if r.demand_line_id == a.demand_line_id)
        result.lines.append((a.demand_line, a.quantity, offered))
    return result


def promote(round_id: int, backup_id: int, cause: str, reason: str, actor: Actor) -> Promotion:
    """One move: the winner's live allocations in the lot are withdrawn, the backup's are offered to its suppliers."""
    try:
        why = FailureCause(cause)
    except ValueError:
        raise ValidationFailed(
            "Say why the supplier drops out.", field_errors={"cause": "Choose “withdrew” or “declared in default”."}
        ) from None
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            "Give a reason: it goes to the audit log.", field_errors={"reason": "Say what happened."}
        )
    if len(reason) > 500:
        raise ValidationFailed("The reason is too long.", field_errors={"reason": "Use at most 500 characters."})
    access.require_coordinator(actor)
    rounds.load_round(round_id)
    rnd = rounds.lock(round_id)  # serialised with the round's other moves and the fleets' decisions
    rounds.require_phase(rnd, *PROMOTION_PHASES, doing="promote a backup")
    summary = _promotion(rnd, backup_id)
    view = summary.view
    if view.blocked:
        raise Conflict(view.blocked)
    backup, at = view.backup, clock.now()
    winner = backup.withdrawn.name
    for a in view.held:
        before = a.confirmation.value
        a.confirmation = CS.WITHDRAWN
        a.decided_at = at
        audit.record(
            actor,
            "allocation.withdraw",
            a,
            round_id=rnd.id,
            summary=f"{winner} {why.label} on {backup.lot.code}: {count_of(a.quantity, 'vehicle')} for line "
            f"{a.demand_line_id} taken back. {reason}",
            before={"confirmation": before},
            after={"confirmation": "withdrawn", "cause": why.value},
        )
    replaced = {a.demand_line_id for a in view.held}
    for row in backup.rows:
        if row.demand_line_id not in replaced:
            continue  # the fleet declined that line's allocation already: nothing to replace
        db.session.add(
            Allocation(
                scenario_id=backup.scenario_id,
                lot_id=backup.lot_id,
                demand_line_id=row.demand_line_id,
                organization_id=row.organization_id,
                bid_id=row.bid_id,
                vehicle_model_id=row.vehicle_model_id,
                quantity=row.quantity,
                unit_price=row.unit_price,
                confirmation=CS.OFFERED,
                backup_id=backup.id,
                # The quarters the solver planned for the backup (within its supplier's quarterly capacity
                # and the line's window): the fleet's schedule and the OEM's won-by-quarter view read them.
                deliveries=[
                    AllocationDelivery(quarter=d["quarter"], quantity=d["quantity"]) for d in row.deliveries or []
                ],
            )
        )
    backup.promoted_at, backup.promoted_by_id = at, actor.id
    backup.cause, backup.reason = why, reason
    suppliers = ", ".join(s.name for s in view.suppliers) or "nobody (no backup could replace it)"
    audit.record(
        actor,
        "backup.promote",
        backup,
        round_id=rnd.id,
        summary=f"{winner} {why.label} on {backup.lot.code} ({count_of(summary.taken_back, 'vehicle')}); backup "
        f"promoted: {summary.offered:,} offered to {suppliers} for {summary.offered_value} {rnd.currency}, "
        f"{summary.unreplaced:,} not replaced. Reason: {reason}",
        after={
            "lot": backup.lot.code,
            "withdrawn": backup.withdrawn_id,
            "cause": why.value,
            "taken_back": summary.taken_back,
            "offered": summary.offered,
            "offered_value": str(summary.offered_value),
        },
    )
    # Notices to the fleets and backup suppliers, and the deposits of lines left with nothing, after the commit.
    events.record(events.BackupPromoted(backup.id, rnd.id, tuple(sorted(replaced))))
    db.session.commit()
    return summary
