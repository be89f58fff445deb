"""Sealed bids on the published lots, package bids over several lots, and an OEM's capacity for a round.

Sealed means: every query of bids, packages and capacities here filters by the acting OEM's
organization; nothing an OEM can reach says whether another OEM bid, not even how many did.
Coordinators read them all through `bids_for_award`, and only once bids have closed.

Every change is a new revision (number + 1; a withdrawal is a revision with withdrawn=True);
the highest number counts. Writes lock the round row (SELECT ... FOR UPDATE) and then the bid
or package row, so the bid deadline, a coordinator closing bids and two submits racing are
serialised: revision numbers are computed inside the lock, and the unique constraints (one bid
per lot and OEM, one number per revision) are the backstop, turned into a Conflict message.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from marketplace.extensions import db
from marketplace.models import (
    Bid,
    BidRevision,
    BidTier,
    Lot,
    PackageBid,
    PackageItem,
    PackageRevision,
    Round,
    RoundCapacity,
    RoundPhase,
    VehicleModel,
)
from marketplace.services import access, audit, clock, events, rounds
from marketplace.services.access import Actor, own_package, require_oem
from marketplace.services.catalog import shortfalls
from marketplace.services.errors import Conflict, NotFound, ValidationFailed
from marketplace.services.values import (
    CAPACITY_MAX,
    NAME_MAX,
    NumberFormat,
    amount,
    number_format_of,
    text,
    text_field,
    whole,
)

P = RoundPhase
# Phases in which an OEM sees the tender (read-only once bids close).
TENDER_PHASES = (P.TENDERING, P.BIDS_CLOSED, P.AWARDED, P.CONTRACTING, P.CLOSED)
# Phases in which the coordinator side may read every bid.
AWARD_PHASES = (P.BIDS_CLOSED, P.AWARDED, P.CONTRACTING, P.CLOSED)
MAX_TIERS = 10

T = TypeVar("T")


# ---------------------------------------------------------------- reading (the OEM's own only)


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


def capacity_of(rnd: Round, actor: Actor) -> int | None:
    require_oem(actor)
    return db.session.execute(
        sa.select(RoundCapacity.capacity).where(
            RoundCapacity.round_id == rnd.id, RoundCapacity.organization_id == actor.organization_id
        )
    ).scalar_one_or_none()


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


# ---------------------------------------------------------------- checking


@dataclass
class CheckedBid:
    vehicle_model: VehicleModel
    min_quantity: int
    max_quantity: int
    tiers: list[tuple[int, Decimal]]

    def same_as(self, revision: BidRevision | None) -> bool:
        """Whether a revision already says exactly this (an unchanged sheet row makes no new revision)."""
        return (
            revision is not None
            and not revision.withdrawn
            and revision.vehicle_model_id == self.vehicle_model.id
            and revision.min_quantity == self.min_quantity
            and revision.max_quantity == self.max_quantity
            and [(t.min_quantity, Decimal(t.unit_price)) for t in revision.tiers] == self.tiers
        )


def _model(
    code: str, lot: Lot, models: Mapping[str, VehicleModel], errors: dict[str, str], name: str
) -> VehicleModel | None:
    if not code:
        errors[name] = "choose a model from your catalog"
        return None
    model = models.get(code)
    if model is None:
        errors[name] = f"“{code}” is not a model of your catalog that can be offered (unknown or retired)"
        return None
    problems = shortfalls(model, lot)
    if problems:
        errors[name] = f"{model.name} does not meet lot {lot.code}: " + "; ".join(problems)
        return None
    return model


def tier_count(values: Mapping[str, Any]) -> int:
    """How many tier pairs the values hold (the highest N of tierN_min / tierN_price given)."""
    n = 0
    for key in values:
        if key.startswith("tier") and (key.endswith("_min") or key.endswith("_price")):
            number = key[4:].split("_")[0]
            if number.isdigit():
                n = max(n, int(number))
    return n


def check_bid(
    values: Mapping[str, Any],
    lot: Lot,
    rnd: Round,
    models: Mapping[str, VehicleModel],
    fmt: NumberFormat = NumberFormat.POINT,
) -> tuple[CheckedBid | None, dict[str, str]]:
    """Check a bid's fields against the lot: model, quantity range and all-units tiers.

    Keys: model_code, min_quantity, max_quantity, tier1_min, tier1_price, tier2_min, ... (the bid
    sheet's columns). A tier with both cells blank is no tier. Problems come back by key.
    """
    errors: dict[str, str] = {}
    model = _model(text(values.get("model_code")), lot, models, errors, "model_code")
    min_q = whole(
        values.get("min_quantity"), errors, "min_quantity", minimum=1, maximum=lot.quantity,
        message="must be a whole number of vehicles, at least 1", fmt=fmt,
    )  # fmt: skip
    if "min_quantity" in errors and errors["min_quantity"].startswith("must be at most"):
        errors["min_quantity"] = f"must be at most the lot's {lot.quantity} vehicles"
    max_q = whole(
        values.get("max_quantity"), errors, "max_quantity", minimum=1, maximum=lot.quantity,
        message="must be a whole number of vehicles, at least 1", fmt=fmt,
    )  # fmt: skip
    if "max_quantity" in errors and errors["max_quantity"].startswith("must be at most"):
        errors["max_quantity"] = f"must be at most the lot's {lot.quantity} vehicles"
    if min_q is not None and max_q is not None and max_q < min_q:
        errors["max_quantity"] = f"must be at least the minimum quantity ({min_q})"

    tiers: list[tuple[int, Decimal]] = []
    count = tier_count(values)
    if count > MAX_TIERS:
        errors[f"tier{count}_min"] = f"at most {MAX_TIERS} tiers"
        count = MAX_TIERS
    previous: int | None = None
    gap = False
    for n in range(1, count + 1):
        min_key, price_key = f"tier{n}_min", f"tier{n}_price"
        raw_min, raw_price = values.get(min_key), values.get(price_key)
        if text(raw_min) == "" and text(raw_price) == "":
            gap = True
            continue
        if gap:
            errors[min_key] = f"tier {n} follows an empty tier: fill the tiers in order, without gaps"
            break
        tier_min = whole(
            raw_min, errors, min_key, minimum=1, maximum=lot.quantity,
            message="must be the whole number of vehicles from which this tier's price applies", fmt=fmt,
        )  # fmt: skip
        price = amount(raw_price, errors, price_key, currency=rnd.currency, fmt=fmt)
        if tier_min is not None:
            if n == 1 and min_q is not None and tier_min != min_q:
                errors[min_key] = f"the first tier must start at the bid's minimum quantity ({min_q})"
            elif previous is not None and tier_min <= previous:
                errors[min_key] = f"must be above tier {n - 1}'s {previous}: tier minimums strictly increase"
            elif max_q is not None and tier_min > max_q:
                errors[min_key] = f"must be at most the bid's maximum quantity ({max_q})"
            previous = tier_min
        if tier_min is not None and price is not None:
            tiers.append((tier_min, price))
    if not tiers and not any(k.startswith("tier") for k in errors):
        errors["tier1_min"] = "give at least one tier: the unit price from the minimum quantity"

    if errors or model is None or min_q is None or max_q is None:
        return None, errors
    return CheckedBid(vehicle_model=model, min_quantity=min_q, max_quantity=max_q, tiers=tiers), {}


@dataclass
class CheckedItem:
    lot: Lot
    vehicle_model: VehicleModel
    quantity: int
    unit_price: Decimal


@dataclass
class CheckedPackage:
    name: str
    items: list[CheckedItem] = field(default_factory=list)


def item_key(lot: Lot, name: str) -> str:
    return f"lot{lot.id}_{name}"


def check_package(
    values: Mapping[str, Any],
    rnd: Round,
    lots: list[Lot],
    models: Mapping[str, VehicleModel],
    fmt: NumberFormat = NumberFormat.POINT,
) -> tuple[CheckedPackage | None, dict[str, str]]:
    """Check a package: a name and, per lot it covers, lot{ID}_model_code, lot{ID}_quantity, lot{ID}_unit_price.

    A lot whose three fields are blank is not in the package; a package covers at least 2 lots.
    """
    errors: dict[str, str] = {}
    name = text_field(values.get("name"), errors, "name", max_length=NAME_MAX)
    items: list[CheckedItem] = []
    chosen = 0
    for lot in lots:
        keys = {k: item_key(lot, k) for k in ("model_code", "quantity", "unit_price")}
        raw = {k: values.get(key) for k, key in keys.items()}
        if all(text(v) == "" for v in raw.values()):
            continue
        chosen += 1
        model = _model(text(raw["model_code"]), lot, models, errors, keys["model_code"])
        quantity = whole(
            raw["quantity"], errors, keys["quantity"], minimum=1, maximum=lot.quantity,
            message="must be a whole number of vehicles, at least 1", fmt=fmt,
        )  # fmt: skip
        if keys["quantity"] in errors and errors[keys["quantity"]].startswith("must be at most"):
            errors[keys["quantity"]] = f"must be at most the lot's {lot.quantity} vehicles"
        price = amount(raw["unit_price"], errors, keys["unit_price"], currency=rnd.currency, fmt=fmt)
        if model is not None and quantity is not None and price is not None:
            items.append(CheckedItem(lot=lot, vehicle_model=model, quantity=quantity, unit_price=price))
    if chosen < 2:
        errors["items"] = "a package covers at least 2 lots: fill model, quantity and unit price for each of them"
    if errors:
        return None, errors
    return CheckedPackage(name=name, items=items), {}


# ---------------------------------------------------------------- writing


def open_for_bids(round_id: int, actor: Actor, doing: str = "bid") -> Round:
    """The round, locked for this transaction, after its deadlines: refused unless it is in tendering.

    The lock serialises this write with the coordinator's "Close bids" and with the deadline
    move, so a bid is either in before the round closes or refused with a message.
    """
    require_oem(actor)
    rnd = access.visible(actor, rounds.lock(round_id))
    if rnd.phase is not P.TENDERING:
        deadline = rnd.bid_deadline
        if rnd.phase in AWARD_PHASES and deadline is not None and clock.now() >= deadline:
            raise Conflict(
                f"Bids closed at {deadline:%Y-%m-%d %H:%M:%S} UTC (the bid deadline): you cannot {doing} any more. "
                "Nothing was saved."
            )
        rounds.require_phase(rnd, P.TENDERING, doing=doing)
    if rnd.published_pooling_run_id is None:
        raise Conflict("The lots of this round are not published yet.")
    return rnd


def _conflict(what: str) -> Conflict:
    return Conflict(
        f"Another submission of this {what} was saved at the same moment, so this one was not: "
        "reload the page to see what counts now, and submit again if needed."
    )


def commit_or_conflict(what: str) -> None:
    """Commit; a unique constraint that a racing submit hit first becomes a clear message."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _conflict(what) from None


def _next_number(model: Any, key: Any, owner_id: int) -> int:
    highest = db.session.execute(sa.select(sa.func.max(model.number)).where(key == owner_id)).scalar_one_or_none()
    return (highest or 0) + 1


def _require_capacity(rnd: Round, actor: Actor) -> None:
    if capacity_of(rnd, actor) is None:
        raise Conflict(
            "State your capacity for this round first (the most vehicles you can deliver over all your "
            "bids and packages), then bid."
        )


def _refuse(message: str, errors: dict[str, str]) -> None:
    raise ValidationFailed(message, field_errors=errors)


def _bid_snapshot(revision: BidRevision) -> dict[str, Any]:
    return {
        "number": revision.number,
        "withdrawn": revision.withdrawn,
        "model": revision.vehicle_model.code if revision.vehicle_model else revision.vehicle_model_id,
        "min_quantity": revision.min_quantity,
        "max_quantity": revision.max_quantity,
        "tiers": [[t.min_quantity, str(t.unit_price)] for t in revision.tiers],
    }


def _lock_bid(lot: Lot, actor: Actor) -> Bid | None:
    return db.session.execute(
        sa.select(Bid)
        .where(Bid.lot_id == lot.id, Bid.organization_id == actor.organization_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def save_bid(rnd: Round, lot: Lot, checked: CheckedBid, actor: Actor) -> BidRevision:
    """Add the bid's next revision (creating the bid on its first); the caller holds the round lock and commits."""
    bid = _lock_bid(lot, actor)
    if bid is None:
        bid = Bid(round_id=rnd.id, lot_id=lot.id, organization_id=actor.organization_id)
        db.session.add(bid)
        db.session.flush()  # a racing first bid on the same lot fails here on uq_bid_lot_supplier
    number = _next_number(BidRevision, BidRevision.bid_id, bid.id)
    revision = BidRevision(
        bid_id=bid.id,
        number=number,
        withdrawn=False,
        vehicle_model_id=checked.vehicle_model.id,
        vehicle_model=checked.vehicle_model,
        min_quantity=checked.min_quantity,
        max_quantity=checked.max_quantity,
        submitted_by_id=actor.id,
        tiers=[BidTier(min_quantity=q, unit_price=p) for q, p in checked.tiers],
    )
    db.session.add(revision)
    db.session.flush()
    audit.record(
        actor,
        "bid.submit" if number == 1 else "bid.revise",
        bid,
        summary=f"{'Submitted' if number == 1 else 'Revised'} the bid on lot {lot.code} (revision {number}).",
        after=_bid_snapshot(revision),
        round_id=rnd.id,
    )
    events.record(events.BidSubmitted(rnd.id, lot.id, bid.id, bid.organization_id, number))
    return revision


def guarded(what: str, work: Callable[[], T]) -> T:
    """Run a write whose flushes may hit a unique constraint a racing submit took first."""
    try:
        return work()
    except IntegrityError:
        db.session.rollback()
        raise _conflict(what) from None


def submit_bid(round_id: int, lot_id: int, values: Mapping[str, Any], actor: Actor | None) -> BidRevision:
    """Submit or revise the OEM's sealed bid on a lot: a new revision, which is the one that counts."""
    actor = require_oem(actor)
    rnd = open_for_bids(round_id, actor)
    lot = lot_in(rnd, lot_id)
    _require_capacity(rnd, actor)
    checked, errors = check_bid(values, lot, rnd, bid_models(actor), number_format_of(actor))
    if errors or checked is None:
        _refuse("The bid has problems: fix the fields marked below. Nothing was saved.", errors)
    assert checked is not None
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
    current = db.session.execute(
        sa.select(BidRevision).where(BidRevision.bid_id == locked.id).order_by(BidRevision.number.desc()).limit(1)
    ).scalar_one()
    if current.withdrawn:
        raise Conflict("This bid is already withdrawn.")
    revision = BidRevision(
        bid_id=locked.id,
        number=current.number + 1,
        withdrawn=True,
        vehicle_model_id=current.vehicle_model_id,
        min_quantity=current.min_quantity,
        max_quantity=current.max_quantity,
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
    checked, errors = check_package(values, rnd, lots_of(rnd), bid_models(actor), number_format_of(actor))
    if errors or checked is None:
        _refuse("The package has problems: fix the fields marked below. Nothing was saved.", errors)
    assert checked is not None

    def work() -> PackageRevision:
        nonlocal package
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
            package = db.session.execute(
                sa.select(PackageBid)
                .where(PackageBid.id == package.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            ).scalar_one()
            if checked.name:
                package.name = checked.name
        number = _next_number(PackageRevision, PackageRevision.package_id, package.id)
        revision = PackageRevision(
            package_id=package.id,
            number=number,
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
        audit.record(
            actor,
            "package.submit" if number == 1 else "package.revise",
            package,
            summary=f"{'Submitted' if number == 1 else 'Revised'} package “{package.name}” (revision {number}).",
            after=_package_snapshot(revision),
            round_id=rnd.id,
        )
        events.record(events.PackageSubmitted(rnd.id, package.id, package.organization_id, number))
        return revision

    revision = guarded("package", work)
    commit_or_conflict("package")
    return revision


def withdraw_package(package_id: int, actor: Actor | None) -> PackageRevision:
    package = own_package(actor, package_id)
    assert actor is not None
    rnd = open_for_bids(package.round_id, actor, doing="withdraw a package")
    locked = db.session.execute(
        sa.select(PackageBid)
        .where(PackageBid.id == package.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    current = db.session.execute(
        sa.select(PackageRevision)
        .where(PackageRevision.package_id == locked.id)
        .order_by(PackageRevision.number.desc())
        .limit(1)
    ).scalar_one()
    if current.withdrawn:
        raise Conflict("This package is already withdrawn.")
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


def set_capacity(round_id: int, value: Any, actor: Actor | None) -> RoundCapacity:
    """State (or change) the most vehicles the OEM can deliver over all its bids and packages in the round."""
    actor = require_oem(actor)
    rnd = open_for_bids(round_id, actor, doing="change your capacity")
    errors: dict[str, str] = {}
    capacity = whole(
        value, errors, "capacity", minimum=0, maximum=CAPACITY_MAX,
        message="must be a whole number of vehicles, 0 or more", fmt=number_format_of(actor),
    )  # fmt: skip
    if errors or capacity is None:
        _refuse("The capacity has a problem.", errors)
    assert capacity is not None
    row = db.session.execute(
        sa.select(RoundCapacity)
        .where(RoundCapacity.round_id == rnd.id, RoundCapacity.organization_id == actor.organization_id)
        .with_for_update()
    ).scalar_one_or_none()
    before = {"capacity": row.capacity} if row else None
    if row is None:
        row = RoundCapacity(round_id=rnd.id, organization_id=actor.organization_id, capacity=capacity)
        db.session.add(row)
    row.capacity = capacity
    guarded("capacity", db.session.flush)
    if before != {"capacity": capacity}:
        audit.record(
            actor,
            "bid.capacity",
            row,
            summary=f"Stated a capacity of {capacity} vehicles for the round.",
            before=before,
            after={"capacity": capacity},
            round_id=rnd.id,
        )
    commit_or_conflict("capacity")
    return row


# ---------------------------------------------------------------- the award side


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


# ---------------------------------------------------------------- warnings (saved, but probably not meant)


def tier_warnings(revision: BidRevision) -> list[str]:
    """All-units tiers whose price rises with the quantity: allowed, but usually a typo."""
    tiers = list(revision.tiers)
    return [
        f"Tier {n + 1} (from {b.min_quantity} vehicles) costs more per vehicle than tier {n}"
        f" ({b.unit_price:,.2f} > {a.unit_price:,.2f}): volume tiers usually go down. Check the prices."
        for n, (a, b) in enumerate(itertools.pairwise(tiers), start=1)
        if b.unit_price > a.unit_price
    ]


def capacity_warnings(rnd: Round, actor: Actor) -> list[str]:
    """A capacity below what one live bid asks at least: that bid could never be served in full."""
    capacity = capacity_of(rnd, actor)
    if capacity is None:
        return []
    latest = _latest_numbers(rnd, actor)
    # One statement over the revisions that count (not the history, not one lot at a time).
    rows = db.session.execute(
        sa.select(Lot.code, BidRevision.min_quantity)
        .join(Bid, Bid.id == BidRevision.bid_id)
        .join(Lot, Lot.id == Bid.lot_id)
        .join(latest, sa.and_(latest.c.bid_id == BidRevision.bid_id, latest.c.number == BidRevision.number))
        .where(BidRevision.withdrawn.is_(False), BidRevision.min_quantity > capacity)
        .order_by(Bid.id)
    ).all()
    short = [f"{code} (at least {minimum})" for code, minimum in rows]
    if not short:
        return []
    return [
        f"Your capacity of {capacity:,} vehicles is below the minimum quantity of your bids on "
        + ", ".join(short)
        + ": those bids cannot win. Raise the capacity or lower their minimum quantities."
    ]


def lots_query(rnd: Round) -> sa.Select[Any]:
    """lots_of as a query to page through (the API): the published lots of a round."""
    if rnd.published_pooling_run_id is None:
        return sa.select(Lot).where(sa.false())
    return sa.select(Lot).where(Lot.pooling_run_id == rnd.published_pooling_run_id, Lot.round_id == rnd.id)
