"""Sealed reads: an OEM's own bids, packages and capacity, and the published lots of a round.

Every query here that reads bids, packages or capacities filters by the acting OEM's organization;
nothing an OEM can reach says whether another OEM bid, not even how many did.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from marketplace.extensions import db
from marketplace.models import (
    Bid,
    BidRevision,
    Lot,
    PackageBid,
    PackageItem,
    PackageRevision,
    Region,
    Round,
    RoundPhase,
    Segment,
    VehicleModel,
)
from marketplace.pagination import contains
from marketplace.services import access, rounds
from marketplace.services.access import Actor, require_oem
from marketplace.services.errors import Conflict, NotFound

P = RoundPhase


# Phases in which an OEM sees the tender (read-only once bids close).
TENDER_PHASES = (P.TENDERING, P.BIDS_CLOSED, P.AWARDED, P.CONTRACTING, P.CLOSED)


# Phases in which the coordinator side may read every bid.
AWARD_PHASES = (P.BIDS_CLOSED, P.AWARDED, P.CONTRACTING, P.CLOSED)


def tender_round(round_id: int, actor: Actor | None) -> Round:
    """A round whose lots the OEM may see: published, in tendering or later."""
    require_oem(actor)
    rnd = access.visible(actor, rounds.load_round(round_id))
    if rnd.phase is P.CANCELLED:
        raise Conflict("This round was cancelled: its tender is closed.")
    if rnd.phase not in TENDER_PHASES or rnd.published_pooling_run_id is None:
        raise Conflict(
            "The lots of this round are not published yet: bidding opens when the coordinator publishes them."
        )
    return rnd


def lots_of(rnd: Round) -> list[Lot]:
    """The published lots of a round (the tender)."""
    if rnd.published_pooling_run_id is None:
        return []
    return list(
        db.session.execute(
            sa.select(Lot)
            .where(Lot.pooling_run_id == rnd.published_pooling_run_id, Lot.round_id == rnd.id)
            .options(joinedload(Lot.segment), joinedload(Lot.region))  # one statement: each lot has one of each
            .order_by(Lot.id)
        ).scalars()
    )


def lot_in(rnd: Round, lot_id: int) -> Lot:
    lot = db.session.execute(
        sa.select(Lot).where(
            Lot.id == lot_id, Lot.round_id == rnd.id, Lot.pooling_run_id == rnd.published_pooling_run_id
        )
    ).scalar_one_or_none()
    if lot is None:
        raise NotFound("No such lot in this round's tender.")
    return lot


def lots_query(rnd: Round) -> sa.Select[Any]:
    """lots_of as a query to page through (the tender page, the API): the published lots of a round."""
    if rnd.published_pooling_run_id is None:
        return sa.select(Lot).where(sa.false())
    return (
        sa.select(Lot)
        .where(Lot.pooling_run_id == rnd.published_pooling_run_id, Lot.round_id == rnd.id)
        .options(joinedload(Lot.segment), joinedload(Lot.region))
    )


# The tender page's list of lots: hundreds at coalition scale, paged and filtered in SQL (marketplace.pagination).
TENDER_LOT_SORTS: dict[str, Any] = {
    "lot": Lot.id,
    "segment": [Lot.segment_id, Lot.id],
    "region": [Lot.region_id, Lot.id],
    "delivery": [Lot.earliest_quarter, Lot.latest_quarter, Lot.id],
    "vehicles": [Lot.quantity, Lot.id],
}
TENDER_LOT_FILTERS = {
    "lot": lambda v: Lot.code.ilike(contains(v)),
    "segment": lambda v: Lot.segment.has(Segment.name.ilike(contains(v))) | Lot.segment_id.ilike(contains(v)),
    "region": lambda v: Lot.region.has(Region.name.ilike(contains(v))) | Lot.region_id.ilike(contains(v)),
}


# The "Your bid" filter of the tender page: lots where the OEM's bid counts, or where it has none that
# counts (never bid, or withdrawn), as the table's "Your bid" column shows them.
YOUR_BID_CHOICES = ("bid placed", "no bid")


def tender_lot_filters(rnd: Round, actor: Actor) -> dict[str, Any]:
    """TENDER_LOT_FILTERS and "bid" (YOUR_BID_CHOICES): the OEM's lots with or without its bid; a value not
    offered answers None, so the list ignores it (pagination.paginate)."""
    require_oem(actor)
    latest = _latest_numbers(rnd, actor)
    placed = (
        sa.select(Bid.lot_id)
        .join(BidRevision, BidRevision.bid_id == Bid.id)
        .join(latest, sa.and_(latest.c.bid_id == BidRevision.bid_id, latest.c.number == BidRevision.number))
        .where(BidRevision.withdrawn.is_(False))
    )
    how = {"bid placed": Lot.id.in_(placed), "no bid": Lot.id.not_in(placed)}
    return {**TENDER_LOT_FILTERS, "bid": how.get}


def _revisions_loaded() -> Any:
    """The revision that counts with its tiers and model; the history is read only by its own page."""
    return selectinload(Bid.current_revision).options(
        selectinload(BidRevision.tiers), selectinload(BidRevision.vehicle_model)
    )


def bids_of(rnd: Round, actor: Actor) -> dict[int, Bid]:
    """The OEM's own bids in a round, by lot id."""
    require_oem(actor)
    bids = db.session.execute(
        sa.select(Bid)
        .where(Bid.round_id == rnd.id, Bid.organization_id == actor.organization_id)
        .options(_revisions_loaded())
    ).scalars()
    return {b.lot_id: b for b in bids}


def _latest_numbers(rnd: Round, actor: Actor) -> Any:
    """(bid_id, number) of the revision that counts of each of the OEM's own bids in a round."""
    return (
        sa.select(BidRevision.bid_id, sa.func.max(BidRevision.number).label("number"))
        .join(Bid, Bid.id == BidRevision.bid_id)
        .where(Bid.round_id == rnd.id, Bid.organization_id == actor.organization_id)
        .group_by(BidRevision.bid_id)
        .subquery()
    )


def current_bids_of(rnd: Round, actor: Actor) -> dict[int, BidRevision]:
    """The revision that counts of each of the OEM's own bids in a round, by lot id (no history)."""
    require_oem(actor)
    latest = _latest_numbers(rnd, actor)
    rows = db.session.execute(
        sa.select(Bid.lot_id, BidRevision)
        .join(Bid, Bid.id == BidRevision.bid_id)
        .join(latest, sa.and_(latest.c.bid_id == BidRevision.bid_id, latest.c.number == BidRevision.number))
        .options(selectinload(BidRevision.tiers))
    ).all()
    return {lot_id: revision for lot_id, revision in rows}


def packages_of(rnd: Round, actor: Actor) -> list[PackageBid]:
    require_oem(actor)
    return list(
        db.session.execute(
            sa.select(PackageBid)
            .where(PackageBid.round_id == rnd.id, PackageBid.organization_id == actor.organization_id)
            .options(
                selectinload(PackageBid.current_revision)
                .selectinload(PackageRevision.items)
                .options(selectinload(PackageItem.lot), selectinload(PackageItem.vehicle_model))
            )
            .order_by(PackageBid.id)
        ).scalars()
    )


def bid_history(bid_id: int, actor: Actor | None) -> tuple[Bid, sa.Select]:
    """One of the OEM's bids and the query of its revisions (paged by the history page, never loaded whole)."""
    bid = access.own_bid(actor, bid_id, _revisions_loaded())
    query = sa.select(BidRevision).where(BidRevision.bid_id == bid.id)
    return bid, query.options(selectinload(BidRevision.tiers), selectinload(BidRevision.vehicle_model))


def package_history(package_id: int, actor: Actor | None) -> tuple[PackageBid, sa.Select]:
    """One of the OEM's packages and the query of its revisions, with their items."""
    package = access.own_package(actor, package_id)
    query = sa.select(PackageRevision).where(PackageRevision.package_id == package.id)
    items = selectinload(PackageRevision.items).options(
        selectinload(PackageItem.lot), selectinload(PackageItem.vehicle_model)
    )
    return package, query.options(items)


def bid_models(actor: Actor) -> dict[str, VehicleModel]:
    """The OEM's models that can be offered (not retired), by code."""
    models = db.session.execute(
        sa.select(VehicleModel).where(
            VehicleModel.organization_id == actor.organization_id, VehicleModel.retired.is_(False)
        )
    ).scalars()
    return {m.code: m for m in models}
