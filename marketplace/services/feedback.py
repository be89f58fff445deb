"""Feedback to OEMs after the award, by the rule the round sets (`Round.feedback_rule`).

Per lot an OEM offered on (a live bid or package item when bids closed), it is told, depending
on the rule: nothing (none), whether it won (won_lost), the rank of its lowest unit price among
the offers on the lot (rank: 1 is the lowest; ties share a rank; how many offers there were is
not said), or how far its lowest unit price was above the lowest awarded unit price of the lot,
in percent (distance). Whatever the rule, an OEM that won vehicles on a lot sees how many it holds now:
after it dropped out (withdrew, or was declared in default: services.backups) none, after fleets declined
some fewer; and a backup supplier sees what it was offered on top. Never another supplier's name, price or number of offers; the
distance rule does let an OEM work out the winning unit price from its own, which is what the
coalition chooses when it picks that rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import (
    Allocation,
    Backup,
    ConfirmationStatus,
    FailureCause,
    FeedbackRule,
    Lot,
    OrganizationKind,
    Round,
)
from marketplace.services import access, contracting, market
from marketplace.services.access import Actor


@dataclass(frozen=True)
class LotFeedback:
    lot: Lot
    your_price: Decimal  # the OEM's own lowest unit price on the lot
    won: int  # vehicles the award gave the OEM on the lot
    rank: int | None  # rule "rank" only
    distance_percent: Decimal | None  # rule "distance" only, on lots the OEM did not win and someone won
    awarded_to_anyone: bool
    holds: int = 0  # the lot's vehicles the OEM is to deliver now (pending or confirmed by the fleets)
    backup: int = 0  # vehicles offered to it as a backup supplier after a winner dropped out (not refused or declined)
    dropped_out: str = ""  # "withdrew" or "declared in default" once its award on the lot was taken back

    @property
    def outcome(self) -> str:
        if self.dropped_out:
            return f"won, then {self.dropped_out}"
        if self.won:
            return "won"
        if self.backup:
            return "backup supplier"
        return "not awarded to you" if self.awarded_to_anyone else "not awarded to anyone"


@dataclass(frozen=True)
class Feedback:
    rule: FeedbackRule
    rows: list[LotFeedback]

    @property
    def outcomes(self) -> list[tuple[str, int]]:
        """How many lots had each outcome, most first: the gist before a page of 50 lots (hundreds at scale)."""
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.outcome] = counts.get(row.outcome, 0) + 1
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def for_oem(rnd: Round, actor: Actor) -> Feedback:
    """The OEM's feedback on the round's published award (a few statements, whatever the number of bids)."""
    access.require_kind(actor, OrganizationKind.OEM, "Only an OEM gets feedback on its bids.")
    scenario_id = contracting.published_scenario(rnd)
    rule = rnd.feedback_rule
    if rule is FeedbackRule.NONE:
        return Feedback(rule, [])
    offers = market.lowest_offers(rnd)
    mine = {lot_id: price for (lot_id, org_id), price in offers.items() if org_id == actor.organization_id}
    if not mine:
        return Feedback(rule, [])
    ours = Allocation.organization_id == actor.organization_id
    live = Allocation.confirmation.in_([s for s in ConfirmationStatus if s.live])
    held = Allocation.confirmation.in_([ConfirmationStatus.PENDING, ConfirmationStatus.CONFIRMED])  # to deliver
    offered = live & (Allocation.confirmation != ConfirmationStatus.DECLINED)
    awarded = db.session.execute(
        sa.select(
            Allocation.lot_id,
            sa.func.min(sa.case((Allocation.backup_id.is_(None), Allocation.unit_price))),
            sa.func.sum(sa.case((ours & Allocation.backup_id.is_(None), Allocation.quantity), else_=0)),
            sa.func.sum(sa.case((ours & held, Allocation.quantity), else_=0)),
            sa.func.sum(sa.case((ours & offered & Allocation.backup_id.is_not(None), Allocation.quantity), else_=0)),
        )
        .where(Allocation.scenario_id == scenario_id, Allocation.lot_id.in_(mine))
        .group_by(Allocation.lot_id)
    ).all()
    winning = {
        lot_id: (None if price is None else Decimal(price), int(won or 0), int(holds or 0), int(backup or 0))
        for lot_id, price, won, holds, backup in awarded
    }
    dropped: dict[int, FailureCause | None] = {
        lot_id: cause
        for lot_id, cause in db.session.execute(
            sa.select(Backup.lot_id, Backup.cause).where(
                Backup.scenario_id == scenario_id,
                Backup.withdrawn_id == actor.organization_id,
                Backup.promoted_at.is_not(None),
                Backup.lot_id.in_(mine),
            )
        )
    }
    lots = db.session.execute(market.lots_query(rnd).where(Lot.id.in_(mine)).order_by(Lot.id)).scalars()
    rows = []
    for lot in lots:
        price = mine[lot.id]
        best, won, holds, backup = winning.get(lot.id, (None, 0, 0, 0))
        rank = distance = None
        if rule is FeedbackRule.RANK:
            rank = 1 + sum(1 for (lot_id, org), p in offers.items() if lot_id == lot.id and p < price)
        if rule is FeedbackRule.DISTANCE and best is not None and not won:
            distance = ((price - best) / best * 100).quantize(Decimal("0.1"))
        cause = dropped.get(lot.id)
        rows.append(
            LotFeedback(lot, price, won, rank, distance, best is not None, holds, backup, cause.label if cause else "")
        )
    return Feedback(rule, rows)
