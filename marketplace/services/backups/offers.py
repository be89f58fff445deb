"""The backup supplier's side: its offer, accepting or refusing it, an unanswered one lapsing; who is told."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.filters import count_of
from marketplace.models import (
    Allocation,
    Backup,
    DemandLine,
    OrganizationKind,
    Round,
)
from marketplace.services import access, audit, clock, events, rounds
from marketplace.services.access import Actor
from marketplace.services.backups.promotion import PROMOTION_PHASES, _backup_of_round, _round_of
from marketplace.services.backups.rules import CS
from marketplace.services.closing import lapse_offers  # noqa: F401 (re-exported: backups' names)
from marketplace.services.errors import Conflict, NotFound

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
    rnd = rounds.lock(round_id) if for_update else rounds.load_round(round_id)
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
