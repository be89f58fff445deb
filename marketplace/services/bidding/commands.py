"""Submitting and withdrawing sealed bids and package bids.

Every change is a new revision (number + 1; a withdrawal is a revision with withdrawn=True); the
highest number counts. Each use case holds the round lock (bidding.writes.open_for_bids), locks
the bid or package row, audits and records its domain event, then commits once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import Bid, BidRevision, BidTier, Lot, PackageBid, PackageItem, PackageRevision, Round
from marketplace.services import access, audit, events
from marketplace.services.access import Actor, own_package, require_oem
from marketplace.services.bidding.capacity import _require_capacity
from marketplace.services.bidding.reads import _revisions_loaded, bid_models, lot_in, lots_of
from marketplace.services.bidding.rules import CheckedBid, CheckedPackage, check_bid, check_package
from marketplace.services.bidding.writes import _next_number, _refuse, commit_or_conflict, guarded, open_for_bids
from marketplace.services.errors import Conflict, NotFound
from marketplace.services.values import number_format_of


def _bid_snapshot(revision: BidRevision) -> dict[str, Any]:
    return {
        "number": revision.number,
        "withdrawn": revision.withdrawn,
        "model": revision.vehicle_model.code if revision.vehicle_model else revision.vehicle_model_id,
        "min_quantity": revision.min_quantity,
        "max_quantity": revision.max_quantity,
        "tiers": [[t.min_quantity, str(t.unit_price)] for t in revision.tiers],
        "quarters": revision.quarters,
    }


def _locked(query: sa.Select) -> Any:
    """The bid or package row of `query`, locked until the commit and read afresh (None when there is none)."""
    return db.session.execute(query.with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()


def _lock_bid(lot: Lot, actor: Actor) -> Bid | None:
    return _locked(sa.select(Bid).where(Bid.lot_id == lot.id, Bid.organization_id == actor.organization_id))


def _latest_live(revision: Any, parent: Any, parent_id: int, what: str) -> Any:
    """The revision of a bid or package that counts, which a withdrawal follows (refused when it is withdrawn)."""
    current = db.session.execute(
        sa.select(revision).where(parent == parent_id).order_by(revision.number.desc()).limit(1)
    ).scalar_one()
    if current.withdrawn:
        raise Conflict(f"This {what} is already withdrawn.")
    return current


def _record_revision(actor: Actor, rnd: Round, what: str, row: Any, number: int, subject: str, after: Any) -> None:
    """Audit a submitted (revision 1) or revised bid or package."""
    audit.record(
        actor,
        f"{what}.submit" if number == 1 else f"{what}.revise",
        row,
        summary=f"{'Submitted' if number == 1 else 'Revised'} {subject} (revision {number}).",
        after=after,
        round_id=rnd.id,
    )


def _checked(what: str, checked: Any, errors: Mapping[str, str]) -> Any:
    """The checked bid or package, or the refusal naming every field with a problem (nothing saved)."""
    if errors or checked is None:
        _refuse(f"The {what} has problems: fix the fields marked below. Nothing was saved.", dict(errors))
    return checked


def save_bid(rnd: Round, lot: Lot, checked: CheckedBid, actor: Actor) -> BidRevision:
    """Add the bid's next revision (creating the bid on its first); the caller holds the round lock and commits."""
    bid = _lock_bid(lot, actor)
    if bid is None:
        bid = Bid(round_id=rnd.id, lot_id=lot.id, organization_id=actor.organization_id)
        db.session.add(bid)
        db.session.flush()  # a racing first bid on the same lot fails here on uq_bid_lot_supplier
    number = _next_number(BidRevision, BidRevision.bid_id, bid.id)
    quarters = checked.quarters
    if not checked.quarters_given and number > 1:
        quarters = db.session.execute(
            sa.select(BidRevision.quarters).where(BidRevision.bid_id == bid.id, BidRevision.number == number - 1)
        ).scalar_one()
    revision = BidRevision(
        bid_id=bid.id,
        number=number,
        withdrawn=False,
        vehicle_model_id=checked.vehicle_model.id,
        vehicle_model=checked.vehicle_model,
        min_quantity=checked.min_quantity,
        max_quantity=checked.max_quantity,
        quarters=quarters,
        submitted_by_id=actor.id,
        tiers=[BidTier(min_quantity=q, unit_price=p) for q, p in checked.tiers],
    )
    db.session.add(revision)
    db.session.flush()
    _record_revision(actor, rnd, "bid", bid, number, f"the bid on lot {lot.code}", _bid_snapshot(revision))
    events.record(events.BidSubmitted(rnd.id, lot.id, bid.id, bid.organization_id, number))
    return revision


def submit_bid(round_id: int, lot_id: int, values: Mapping[str, Any], actor: Actor | None) -> BidRevision:
    """Submit or revise the OEM's sealed bid on a lot: a new revision, which is the one that counts."""
    actor = require_oem(actor)
    rnd = open_for_bids(round_id, actor)
    lot = lot_in(rnd, lot_id)
    _require_capacity(rnd, actor)
    checked = _checked("bid", *check_bid(values, lot, rnd, bid_models(actor), number_format_of(actor)))
    revision = guarded("bid", lambda: save_bid(rnd, lot, checked, actor))
    commit_or_conflict("bid")
    return revision


def withdraw_bid(bid_id: int, actor: Actor | None) -> BidRevision:
    """Withdraw a bid: a revision marked withdrawn (the terms stay in the history)."""
    bid = access.own_bid(actor, bid_id, _revisions_loaded())
    assert actor is not None
    rnd = open_for_bids(bid.round_id, actor, doing="withdraw a bid")
    locked = _lock_bid(bid.lot, actor)
    assert locked is not None
    current = _latest_live(BidRevision, BidRevision.bid_id, locked.id, "bid")
    revision = BidRevision(
        bid_id=locked.id,
        number=current.number + 1,
        withdrawn=True,
        vehicle_model_id=current.vehicle_model_id,
        min_quantity=current.min_quantity,
        max_quantity=current.max_quantity,
        quarters=current.quarters,
        submitted_by_id=actor.id,
    )
    db.session.add(revision)
    audit.record(
        actor,
        "bid.withdraw",
        locked,
        summary=f"Withdrew the bid on lot {bid.lot.code} (revision {revision.number}).",
        round_id=rnd.id,
    )
    events.record(events.BidWithdrawn(rnd.id, locked.lot_id, locked.id, locked.organization_id))
    commit_or_conflict("bid")
    return revision


def _package_snapshot(revision: PackageRevision) -> dict[str, Any]:
    return {
        "number": revision.number,
        "withdrawn": revision.withdrawn,
        "items": [
            {"lot": i.lot_id, "model": i.vehicle_model_id, "quantity": i.quantity, "unit_price": str(i.unit_price)}
            for i in revision.items
        ],
        "quarters": revision.quarters,
    }


def submit_package(
    round_id: int, values: Mapping[str, Any], actor: Actor | None, *, package_id: int | None = None
) -> PackageRevision:
    """Submit a new package bid, or revise one (package_id): all-or-nothing items over several lots."""
    actor = require_oem(actor)
    package = own_package(actor, package_id) if package_id is not None else None
    if package is not None and package.round_id != round_id:
        raise NotFound("No such package.")
    rnd = open_for_bids(round_id, actor)
    _require_capacity(rnd, actor)
    checked = _checked("package", *check_package(values, rnd, lots_of(rnd), bid_models(actor), number_format_of(actor)))
    revision = guarded("package", lambda: save_package(rnd, checked, actor, package))
    commit_or_conflict("package")
    return revision


def save_package(rnd: Round, checked: CheckedPackage, actor: Actor, package: PackageBid | None) -> PackageRevision:
    """Add a package's next revision (creating the package when None); the caller holds the round lock and
    commits (the package form, and the bid sheet with every other row)."""
    if package is None:
        count = db.session.execute(
            sa.select(sa.func.count(PackageBid.id)).where(
                PackageBid.round_id == rnd.id, PackageBid.organization_id == actor.organization_id
            )
        ).scalar_one()
        package = PackageBid(
            round_id=rnd.id, organization_id=actor.organization_id, name=checked.name or f"Package {count + 1}"
        )
        db.session.add(package)
        db.session.flush()
    else:
        package = _locked(sa.select(PackageBid).where(PackageBid.id == package.id))
        if checked.name:
            package.name = checked.name
    number = _next_number(PackageRevision, PackageRevision.package_id, package.id)
    revision = PackageRevision(
        package_id=package.id,
        number=number,
        quarters=checked.quarters,
        submitted_by_id=actor.id,
        items=[
            PackageItem(
                lot_id=i.lot.id, vehicle_model_id=i.vehicle_model.id, quantity=i.quantity, unit_price=i.unit_price
            )
            for i in checked.items
        ],
    )
    db.session.add(revision)
    db.session.flush()
    _record_revision(actor, rnd, "package", package, number, f"package “{package.name}”", _package_snapshot(revision))
    events.record(events.PackageSubmitted(rnd.id, package.id, package.organization_id, number))
    return revision


def withdraw_package(package_id: int, actor: Actor | None) -> PackageRevision:
    package = own_package(actor, package_id)
    assert actor is not None
    rnd = open_for_bids(package.round_id, actor, doing="withdraw a package")
    locked = _locked(sa.select(PackageBid).where(PackageBid.id == package.id))
    current = _latest_live(PackageRevision, PackageRevision.package_id, locked.id, "package")
    revision = PackageRevision(
        package_id=locked.id, number=current.number + 1, withdrawn=True, submitted_by_id=actor.id
    )
    db.session.add(revision)
    audit.record(
        actor,
        "package.withdraw",
        locked,
        summary=f"Withdrew package “{locked.name}” (revision {revision.number}).",
        round_id=rnd.id,
    )
    events.record(events.PackageWithdrawn(rnd.id, locked.id, locked.organization_id))
    commit_or_conflict("package")
    return revision
