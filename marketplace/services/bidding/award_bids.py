"""The award's read of every OEM's bids: the revisions that count, once bids have closed.

The only reader of all bids (the coordinator side); the caller checks that the actor is a
coordinator.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from marketplace.extensions import db
from marketplace.models import Bid, BidRevision, Lot, PackageBid, PackageItem, PackageRevision, Round, RoundCapacity
from marketplace.services import rounds
from marketplace.services.bidding.reads import AWARD_PHASES
from marketplace.services.errors import Conflict


@dataclass(frozen=True)
class AwardTier:
    min_quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class AwardBid:
    bid_id: int
    revision_id: int
    revision_number: int
    organization_id: int
    lot_id: int
    lot_code: str
    vehicle_model_id: int
    min_quantity: int
    max_quantity: int
    tiers: tuple[AwardTier, ...]
    quarters: tuple[str, ...] | None = None  # None: any quarter


@dataclass(frozen=True)
class AwardPackageItem:
    lot_id: int
    lot_code: str
    vehicle_model_id: int
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class AwardPackage:
    package_id: int
    revision_id: int
    revision_number: int
    organization_id: int
    items: tuple[AwardPackageItem, ...]
    quarters: tuple[str, ...] | None = None


@dataclass(frozen=True)
class AwardBids:
    bids: list[AwardBid]
    packages: list[AwardPackage]
    capacities: dict[int, int]  # organization id -> vehicles over all its bids and packages


def bids_for_award(rnd: Round) -> AwardBids:
    """Every OEM's bids that count, for the award solver: coordinator side only, and only once bids closed.

    For each bid and package, its current revision (the highest number) unless that revision is a
    withdrawal; only lots of the round's published pooling run. Tiers are sorted by minimum; the
    checks at submission guarantee what docs/solver-io.md section 2 asks (one bid per supplier and
    lot, min_quantity <= max_quantity, tier minimums strictly increasing from the bid's
    min_quantity, prices > 0 exact to the cent, package items on distinct lots). Capacities are
    every supplier's stated RoundCapacity in the round (an OEM that bid has one: it is required
    before the first bid). Ordered by id, so an export built from it is deterministic.

    Raises Conflict while the round is before bids_closed: bids are sealed until the deadline.
    Reads the round's phase after its passed deadlines (writes nothing).
    The caller (services.award / solver_bridge) checks that the actor is a coordinator.
    """
    phase = rounds.effective_phase(rnd)
    if phase not in AWARD_PHASES:
        raise Conflict(f"Bids are sealed until bids close: this round is in phase “{phase.label}”.")
    run_id = rnd.published_pooling_run_id
    latest_bid = (
        sa.select(BidRevision.bid_id, sa.func.max(BidRevision.number).label("number"))
        .group_by(BidRevision.bid_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Bid, BidRevision, Lot)
        .join(latest_bid, latest_bid.c.bid_id == Bid.id)
        .join(BidRevision, sa.and_(BidRevision.bid_id == Bid.id, BidRevision.number == latest_bid.c.number))
        .join(Lot, Lot.id == Bid.lot_id)
        .where(Bid.round_id == rnd.id, Lot.pooling_run_id == run_id, BidRevision.withdrawn.is_(False))
        .options(selectinload(BidRevision.tiers))
        .order_by(Bid.id)
    ).all()
    bids = [
        AwardBid(
            bid_id=bid.id,
            revision_id=rev.id,
            revision_number=rev.number,
            organization_id=bid.organization_id,
            lot_id=lot.id,
            lot_code=lot.code,
            vehicle_model_id=rev.vehicle_model_id,
            min_quantity=rev.min_quantity,
            max_quantity=rev.max_quantity,
            tiers=tuple(
                AwardTier(t.min_quantity, Decimal(t.unit_price))
                for t in sorted(rev.tiers, key=lambda t: t.min_quantity)
            ),
            quarters=tuple(rev.quarters) if rev.quarters else None,
        )
        for bid, rev, lot in rows
    ]
    latest_pkg = (
        sa.select(PackageRevision.package_id, sa.func.max(PackageRevision.number).label("number"))
        .group_by(PackageRevision.package_id)
        .subquery()
    )
    pkg_rows = db.session.execute(
        sa.select(PackageBid, PackageRevision)
        .join(latest_pkg, latest_pkg.c.package_id == PackageBid.id)
        .join(
            PackageRevision,
            sa.and_(PackageRevision.package_id == PackageBid.id, PackageRevision.number == latest_pkg.c.number),
        )
        .where(PackageBid.round_id == rnd.id, PackageRevision.withdrawn.is_(False))
        .options(selectinload(PackageRevision.items).selectinload(PackageItem.lot))
        .order_by(PackageBid.id)
    ).all()
    packages = []
    for package, rev in pkg_rows:
        items = sorted(rev.items, key=lambda i: i.lot_id)
        if any(i.lot.pooling_run_id != run_id for i in items):
            continue  # a package on lots of an unpublished run cannot be awarded
        packages.append(
            AwardPackage(
                package_id=package.id,
                revision_id=rev.id,
                revision_number=rev.number,
                organization_id=package.organization_id,
                items=tuple(
                    AwardPackageItem(i.lot_id, i.lot.code, i.vehicle_model_id, i.quantity, Decimal(i.unit_price))
                    for i in items
                ),
                quarters=tuple(rev.quarters) if rev.quarters else None,
            )
        )
    capacities = dict(
        db.session.execute(
            sa.select(RoundCapacity.organization_id, RoundCapacity.capacity)
            .where(RoundCapacity.round_id == rnd.id)
            .order_by(RoundCapacity.organization_id)
        ).all()
    )
    return AwardBids(bids=bids, packages=packages, capacities=capacities)
