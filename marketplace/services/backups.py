"""Backup winners: kept with each award scenario, promoted in contracting when a winner drops out.

The solver computes, for each lot and winning supplier, the best re-award of the lines that
supplier served there, all other award rows fixed (docs/solver-io.md, `backups`). `save` keeps
them as rows of the scenario. Once the award is published, when an OEM withdraws or the
coordinator declares it in default, the coordinator promotes that winner's backup in one move
(`promote`): the winner's live allocations in the lot are taken back (withdrawn), the backup's
allocations are added to the published award as offers, and each backup supplier accepts or
refuses its part (`answer`). Accepted, they are pending allocations the fleets confirm or decline
through the usual decision rule; refused, the lines stay without that supplier.

Deposits follow the new outcome (services.deposits._outcome_rule): a line waits while an offer is
open; a line left with nothing live is released in full (refunded if it was charged), as is a line
whose fleet declines the replacement, because changing supplier was not the fleet's choice.

Each backup was computed with every other award row in place, so one lot takes one promotion, a
supplier that dropped out is nobody's backup, and a backup supplier's round capacity is checked
against everything it holds when promoted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from marketplace.extensions import db
from marketplace.filters import count_of
from marketplace.models import (
    Allocation,
    AwardScenario,
    Backup,
    BackupAllocation,
    ConfirmationStatus,
    DemandLine,
    FailureCause,
    Lot,
    LotMember,
    Organization,
    OrganizationKind,
    Round,
    RoundPhase,
)
from marketplace.services import access, audit, clock, events, rounds, solver_bridge
from marketplace.services.access import Actor
from marketplace.services.errors import Conflict, NotFound, ValidationFailed

CS = ConfirmationStatus
PROMOTION_PHASES = (RoundPhase.AWARDED, RoundPhase.CONTRACTING)
HELD = (CS.PENDING, CS.CONFIRMED)  # a winner's allocations a withdrawal takes back


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


# ---------------------------------------------------------------- kept with the scenario (the award job)


def save(scenario: AwardScenario, entries: list[dict[str, Any]], offers: Any) -> list[Backup]:
    """The solver's `backups` as rows of the scenario, in the award job's transaction (no commit).

    `offers` is the bidding.bids_for_award the input was built from: a replacement source is a bid
    of that input (packages are not reused), priced as the solver says.
    """
    if not entries:
        return []
    members = {
        solver_bridge.member_key(m.id): m
        for m in db.session.execute(
            sa.select(LotMember).where(
                LotMember.lot_id.in_({solver_bridge.parse_key(e["lot"], "lot") for e in entries})
            )
        ).scalars()
    }
    bid_model = {solver_bridge.bid_key(b.bid_id): (b.bid_id, b.vehicle_model_id) for b in offers.bids}
    made = []
    for entry in entries:
        backup = Backup(
            scenario_id=scenario.id,
            lot_id=solver_bridge.parse_key(entry["lot"], "lot"),
            withdrawn_id=solver_bridge.parse_key(entry["withdrawn"], "org"),
            quantity=entry["quantity"],
            covered_quantity=entry["covered_quantity"],
            total_price=_money(entry["total_price"]),
        )
        for source in entry["replacement"]:
            bid_id, model_id = bid_model[source["source"]]
            for part in source["allocations"]:
                backup.rows.append(
                    BackupAllocation(
                        demand_line_id=members[part["demand"]].demand_line_id,
                        organization_id=solver_bridge.parse_key(source["supplier"], "org"),
                        bid_id=bid_id,
                        vehicle_model_id=model_id,
                        quantity=part["quantity"],
                        unit_price=_money(source["unit_price"]),
                        deliveries=part.get("deliveries"),
                    )
                )
        db.session.add(backup)
        made.append(backup)
    return made


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
    from marketplace.services.contracting import published_scenario

    return published_scenario(rnd)


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
    return rnd, [_view(rnd, b, allocations) for b in found]


def _view(rnd: Round, backup: Backup, allocations: list[Allocation]) -> BackupView:
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
    view.blocked = _blocked(rnd, backup, view, allocations)
    return view


def _blocked(rnd: Round, backup: Backup, view: BackupView, allocations: list[Allocation]) -> str:
    """Why this backup cannot be promoted now, in words ("" when it can)."""
    if backup.promoted_at is not None:
        return "It was promoted already."
    if rnd.phase not in PROMOTION_PHASES:
        return f"The round is in phase “{rnd.phase.label}”: backups are promoted while awarded or in contracting."
    if not view.held:
        return f"{backup.withdrawn.name} holds no allocation of this lot that a fleet has not declined."
    promoted = db.session.execute(
        sa.select(Backup.lot_id, Backup.withdrawn_id).where(
            Backup.scenario_id == backup.scenario_id, Backup.promoted_at.is_not(None)
        )
    ).all()
    if any(lot_id == backup.lot_id for lot_id, _ in promoted):
        return (
            "Another backup of this lot was promoted already: each backup was computed with the other winners "
            "in place, so this lot needs a new award scenario."
        )
    dropped = {org_id for _, org_id in promoted}
    if backup.withdrawn_id in dropped:
        return f"{backup.withdrawn.name} dropped out already."
    for supplier in view.suppliers:
        if supplier.id in dropped:
            return f"The backup supplier {supplier.name} dropped out of this award itself."
    capacity = _capacities(rnd)
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


def _capacities(rnd: Round) -> dict[int, int]:
    from marketplace.models import RoundCapacity

    return dict(
        db.session.execute(
            sa.select(RoundCapacity.organization_id, RoundCapacity.capacity).where(RoundCapacity.round_id == rnd.id)
        ).all()
    )


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
    view = _view(rnd, backup, allocations)
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
    rnd = rounds.get_for_update(round_id)  # serialised with the round's other moves and the fleets' decisions
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


# ---------------------------------------------------------------- the backup supplier answers


@dataclass
class Offer:
    """One backup supplier's part of a promoted backup (its own rows only: no other supplier, no price of theirs)."""

    round: Round
    backup: Backup
    allocations: list[Allocation]

    @property
    def vehicles(self) -> int:
        return sum(a.quantity for a in self.allocations)

    @property
    def value(self) -> Decimal:
        return sum((a.quantity * a.unit_price for a in self.allocations), Decimal("0"))

    @property
    def open(self) -> bool:
        return any(a.confirmation is CS.OFFERED for a in self.allocations)

    @property
    def answer(self) -> str:
        if self.open:
            return "waiting for your answer"
        return "refused" if all(a.confirmation is CS.REFUSED for a in self.allocations) else "accepted"


def offer_for(backup_id: int, actor: Actor, *, for_update: bool = False) -> Offer:
    """The OEM's own part of a promoted backup (404 for anyone else's)."""
    access.require_kind(actor, OrganizationKind.OEM, "Only a backup supplier answers a backup offer.")
    round_id = _round_of(backup_id)
    rnd = rounds.get_for_update(round_id) if for_update else rounds.load_round(round_id)
    backup = _backup_of_round(backup_id, rnd)
    query = (
        sa.select(Allocation)
        .where(Allocation.backup_id == backup.id, Allocation.organization_id == actor.organization_id)
        .options(
            joinedload(Allocation.demand_line).options(
                joinedload(DemandLine.organization), joinedload(DemandLine.segment), joinedload(DemandLine.region)
            ),
            joinedload(Allocation.vehicle_model),
        )
        .order_by(Allocation.demand_line_id, Allocation.id)
    )
    mine = list(db.session.execute(query.with_for_update(of=Allocation) if for_update else query).unique().scalars())
    if not mine:
        raise NotFound("No such backup offer.")
    return Offer(rnd, backup, mine)


def offers_of(round_id: int, actor: Actor) -> list[Offer]:
    """The OEM's backup offers in a round's published award, open ones first."""
    access.require_kind(actor, OrganizationKind.OEM, "Only an OEM has backup offers.")
    rnd = rounds.load_round(round_id)
    if rnd.published_scenario_id is None:
        return []
    rows = db.session.execute(
        sa.select(Allocation)
        .where(
            Allocation.scenario_id == rnd.published_scenario_id,
            Allocation.organization_id == actor.organization_id,
            Allocation.backup_id.is_not(None),
        )
        .order_by(Allocation.backup_id, Allocation.id)
    ).scalars()
    by_backup: dict[int, list[Allocation]] = defaultdict(list)
    for a in rows:
        by_backup[a.backup_id].append(a)  # type: ignore[index]
    backups = {
        b.id: b
        for b in db.session.execute(sa.select(Backup).where(Backup.id.in_(by_backup)).options(joinedload(Backup.lot)))
        .scalars()
        .all()
    }
    found = [Offer(rnd, backups[b], rows) for b, rows in by_backup.items()]
    return sorted(found, key=lambda o: (not o.open, o.backup.lot.code))


def answer(backup_id: int, accept: bool, actor: Actor) -> Offer:
    """The backup supplier accepts (its allocations wait for the fleets) or refuses (the lines stay unreplaced)."""
    offer = offer_for(backup_id, actor, for_update=True)
    rounds.require_phase(offer.round, *PROMOTION_PHASES, doing="answer a backup offer")
    if not offer.open:
        raise Conflict(f"You {offer.answer} this offer already.")
    at = clock.now()
    for a in offer.allocations:
        a.confirmation = CS.PENDING if accept else CS.REFUSED
        if not accept:
            a.decided_at, a.decided_by_id = at, actor.id
    audit.record(
        actor,
        "backup.accept" if accept else "backup.refuse",
        offer.backup,
        round_id=offer.round.id,
        summary=f"{'Accepted' if accept else 'Refused'} to supply {count_of(offer.vehicles, 'vehicle')} on "
        f"{offer.backup.lot.code} as backup, {offer.value} {offer.round.currency} in all.",
        before={"confirmation": "offered"},
        after={"confirmation": "pending" if accept else "refused"},
    )
    events.record(
        events.BackupAnswered(
            offer.backup.id,
            offer.round.id,
            actor.organization_id,
            accept,
            tuple(sorted({a.demand_line_id for a in offer.allocations})),
        )
    )
    db.session.commit()
    return offer


def lapse_offers(rnd: Round, actor: Actor | None, *, reason: str) -> int:
    """Offers still open when the round closes count as refused (rounds' close move, in its transaction)."""
    if rnd.published_scenario_id is None:
        return 0
    open_offers = db.session.execute(
        sa.select(Allocation)
        .where(Allocation.scenario_id == rnd.published_scenario_id, Allocation.confirmation == CS.OFFERED)
        .order_by(Allocation.id)
        .with_for_update()
    ).scalars()
    count = 0
    for a in open_offers:
        a.confirmation = CS.REFUSED
        a.decided_at = clock.now()
        audit.record(
            actor,
            "backup.lapse",
            a,
            round_id=rnd.id,
            summary=f"Backup offer of {count_of(a.quantity, 'vehicle')} for line {a.demand_line_id} not answered "
            f"when the round closed: counted as refused. {reason}",
            before={"confirmation": "offered"},
            after={"confirmation": "refused"},
        )
        count += 1
    return count


# ---------------------------------------------------------------- who is told (notifications)


def affected_fleets(backup_id: int) -> set[int]:
    """Fleets whose allocations a promotion took back."""
    backup = db.session.get(Backup, backup_id)
    if backup is None:
        return set()
    return set(
        db.session.execute(
            sa.select(DemandLine.organization_id)
            .join(Allocation, Allocation.demand_line_id == DemandLine.id)
            .where(
                Allocation.scenario_id == backup.scenario_id,
                Allocation.lot_id == backup.lot_id,
                Allocation.organization_id == backup.withdrawn_id,
                Allocation.confirmation == CS.WITHDRAWN,
            )
        ).scalars()
    )


def offered_suppliers(backup_id: int) -> set[int]:
    return set(
        db.session.execute(sa.select(Allocation.organization_id).where(Allocation.backup_id == backup_id)).scalars()
    )
