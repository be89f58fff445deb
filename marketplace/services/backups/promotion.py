"""Promoting a backup in one move: what it would do (promotion), then doing it (promote)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.filters import count_of
from marketplace.models import (
    Allocation,
    AllocationDelivery,
    AwardScenario,
    Backup,
    DemandLine,
    FailureCause,
    Round,
)
from marketplace.services import access, audit, clock, events, rounds
from marketplace.services.access import Actor
from marketplace.services.backups.overview import _BACKUP_ROWS, BackupView, _held, _published, _views
from marketplace.services.backups.rules import CS, PROMOTION_PHASES
from marketplace.services.errors import Conflict, NotFound, ValidationFailed


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
    held: list[Allocation]  # the winner's live allocations in the lot: what the promotion takes back
    # per demand line: (line, vehicles taken back, vehicles offered by the backup)
    lines: list[tuple[DemandLine, int, int]] = field(default_factory=list)

    @property
    def taken_back(self) -> int:
        return sum(a.quantity for a in self.held)

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
    def by_fleet(self) -> list[tuple[str, int, int, int]]:
        """Per fleet, by name: (fleet, lines, vehicles taken back, vehicles offered): a lot of 10,000-line
        rounds holds a hundred lines, but a few fleets."""
        fleets: dict[str, list[int]] = {}
        for line, taken, offered in self.lines:
            row = fleets.setdefault(line.organization.name, [0, 0, 0])
            row[0], row[1], row[2] = row[0] + 1, row[1] + taken, row[2] + offered
        return [(name, fleets[name][0], fleets[name][1], fleets[name][2]) for name in sorted(fleets)]

    @property
    def held_value(self) -> Decimal:
        return sum((a.quantity * a.unit_price for a in self.held), Decimal("0"))

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
    [view] = _views(rnd, backup.scenario_id, [backup])
    held = db.session.execute(
        _held(backup.scenario_id)
        .where(Allocation.lot_id == backup.lot_id, Allocation.organization_id == backup.withdrawn_id)
        .options(joinedload(Allocation.demand_line).joinedload(DemandLine.organization))
        .order_by(Allocation.demand_line_id, Allocation.id)
    ).scalars()
    result = Promotion(rnd, view, list(held))
    offered_by_line: dict[int, int] = {}
    for r in backup.rows:
        offered_by_line[r.demand_line_id] = offered_by_line.get(r.demand_line_id, 0) + r.quantity
    for a in result.held:
        result.lines.append((a.demand_line, a.quantity, offered_by_line.get(a.demand_line_id, 0)))
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
    for a in summary.held:
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
    replaced = {a.demand_line_id for a in summary.held}
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
