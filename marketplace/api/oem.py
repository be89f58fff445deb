"""OEMs: capacity for a round, the lots of a tender, sealed bids and packages (create, revise, withdraw),
and what they won (catalog models: api/oem_catalog.py; capacity by quarter: api/oem_quarters.py, on this
blueprint).

Bids and packages are written by the same services as the web's forms and bid sheet: this module
only turns JSON into the services' fields and their problems back into JSON pointers.
"""

from __future__ import annotations

from typing import Any

from flask import g
from marshmallow import fields, validate

from marketplace.api import blueprint
from marketplace.api.idempotency import PARAMETER as IDEMPOTENCY
from marketplace.api.idempotency import idempotent
from marketplace.api.pagination import PageArgs, decode, encode, page, page_schema
from marketplace.api.schemas import (
    QUARTER,
    QUARTERS_DOC,
    DecimalText,
    Instant,
    Money,
    StrictSchema,
    money,
    quarters_text,
)
from marketplace.models import Allocation, BidRevision, Lot, PackageRevision
from marketplace.services import access, bidding, contracting, rounds
from marketplace.services import values as V
from marketplace.services.errors import DomainError

bp = blueprint("oem", "OEMs: catalog, capacity, lots of a tender, sealed bids and packages, results.")


class CapacityInput(StrictSchema):
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=V.CAPACITY_MAX))


class CapacitySchema(StrictSchema):
    round_id = fields.Integer(required=True)
    capacity = fields.Integer(required=True)


class LotSchema(StrictSchema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    segment = fields.String(required=True)
    region = fields.String(required=True)
    charging = fields.String(required=True)
    earliest_quarter = fields.String(required=True)
    latest_quarter = fields.String(required=True)
    quantity = fields.Integer(required=True)


def lot_json(lot: Lot) -> dict[str, Any]:
    return {"id": lot.id, "code": lot.code, "segment": lot.segment_id, "region": lot.region_id,
            "charging": lot.charging, "earliest_quarter": lot.earliest_quarter,
            "latest_quarter": lot.latest_quarter, "quantity": lot.quantity}  # fmt: skip


class TierInput(StrictSchema):
    min_quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=V.QUANTITY_MAX))
    unit_price = DecimalText(required=True)


class BidInput(StrictSchema):
    model_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    min_quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=V.QUANTITY_MAX))
    max_quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=V.QUANTITY_MAX))
    tiers = fields.List(fields.Nested(TierInput), required=True,
                        validate=validate.Length(min=1, max=bidding.MAX_TIERS),
                        metadata={"description": "unit price from each tier's minimum quantity, minimums increasing"})  # fmt: skip
    quarters = fields.List(fields.String(validate=validate.Length(min=1, max=40), metadata=QUARTER), allow_none=True,
                           validate=validate.Length(max=40), metadata={"description": QUARTERS_DOC})  # fmt: skip


class TierSchema(StrictSchema):
    min_quantity = fields.Integer(required=True)
    unit_price = Money(required=True)


class RevisionSchema(StrictSchema):
    """What every sealed offer answers with: its public id and the revision that counts now."""

    id = fields.String(required=True, metadata={"description": "the public id"})
    revision = fields.Integer(required=True)
    withdrawn = fields.Boolean(required=True)
    submitted_at = Instant(required=True)


def _revision(public_id: str, r: BidRevision | PackageRevision) -> dict[str, Any]:
    return {"id": public_id, "revision": r.number, "withdrawn": r.withdrawn, "submitted_at": r.submitted_at}


class BidSchema(RevisionSchema):
    lot_id = fields.Integer(required=True)
    model_code = fields.String(required=True)
    min_quantity = fields.Integer(required=True)
    max_quantity = fields.Integer(required=True)
    tiers = fields.List(fields.Nested(TierSchema), required=True)
    quarters = fields.List(fields.String(), required=True, allow_none=True,
                           metadata={"description": "the quarters it delivers in, sorted; null: any quarter"})  # fmt: skip


def bid_json(r: BidRevision, currency: str) -> dict[str, Any]:
    return _revision(r.bid.public_id, r) | {
        "lot_id": r.bid.lot_id, "model_code": r.vehicle_model.code, "min_quantity": r.min_quantity,
        "max_quantity": r.max_quantity,
        "tiers": [{"min_quantity": t.min_quantity, "unit_price": money(t.unit_price, currency)} for t in r.tiers],
        "quarters": list(r.quarters) if r.quarters else None,
    }  # fmt: skip


class ItemInput(StrictSchema):
    lot_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=V.ID_MAX))
    model_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=V.QUANTITY_MAX))
    unit_price = DecimalText(required=True)


class PackageInput(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=V.NAME_MAX))
    items = fields.List(fields.Nested(ItemInput), required=True, validate=validate.Length(min=2, max=500),
                        metadata={"description": "all or nothing: one item per lot, at least 2 lots"})  # fmt: skip
    quarters = fields.List(fields.String(validate=validate.Length(min=1, max=40), metadata=QUARTER), allow_none=True,
                           validate=validate.Length(max=40), metadata={"description": QUARTERS_DOC})  # fmt: skip


class ItemSchema(StrictSchema):
    lot_id = fields.Integer(required=True)
    model_code = fields.String(required=True)
    quantity = fields.Integer(required=True)
    unit_price = Money(required=True)


class PackageSchema(RevisionSchema):
    round_id = fields.Integer(required=True)
    name = fields.String(required=True)
    items = fields.List(fields.Nested(ItemSchema), required=True)
    quarters = fields.List(fields.String(), required=True, allow_none=True,
                           metadata={"description": "the quarters it delivers in, sorted; null: any quarter"})  # fmt: skip


def package_json(r: PackageRevision, currency: str) -> dict[str, Any]:
    p = r.package
    return _revision(p.public_id, r) | {
        "round_id": p.round_id, "name": p.name,
        "items": [{"lot_id": i.lot_id, "model_code": i.vehicle_model.code, "quantity": i.quantity,
                   "unit_price": money(i.unit_price, currency)} for i in r.items],
        "quarters": list(r.quarters) if r.quarters else None,
    }  # fmt: skip


class ResultSchema(StrictSchema):
    id = fields.String(required=True, metadata={"description": "the allocation's public id"})
    lot = fields.String(required=True)
    demand_line_id = fields.Integer(required=True)
    fleet = fields.String(required=True)
    vehicle_model = fields.String(required=True)
    quantity = fields.Integer(required=True)
    unit_price = Money(required=True)
    confirmation = fields.String(required=True)


LotPage = page_schema(LotSchema, "LotPage")
BidPage = page_schema(BidSchema, "BidPage")
ResultPage = page_schema(ResultSchema, "ResultPage")


def _bid_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The bid as the bidding service reads it (the form's and bid sheet's fields)."""
    values: dict[str, Any] = {k: data[k] for k in ("model_code", "min_quantity", "max_quantity")}
    for n, tier in enumerate(data["tiers"], start=1):
        values[f"tier{n}_min"], values[f"tier{n}_price"] = tier["min_quantity"], tier["unit_price"]
    if "quarters" in data:  # left out: the service keeps the quarters of the revision that counts
        values["quarters"] = quarters_text(data)
    return values


def _bid_pointers(exc: DomainError) -> DomainError:
    """tier2_price -> /tiers/1/unit_price: the service's fields as pointers into the JSON sent."""
    out = {}
    for key, message in exc.field_errors.items():
        if key.startswith("tier") and key[4:].split("_")[0].isdigit():
            number, _, kind = key[4:].partition("_")
            out[f"tiers/{int(number) - 1}/{'min_quantity' if kind == 'min' else 'unit_price'}"] = message
        else:
            out[key] = message
    exc.field_errors = out
    return exc


def _package_fields(data: dict[str, Any], current: PackageRevision | None = None) -> dict[str, Any]:
    """The package as the bidding service reads it; quarters left out keep those of `current` (a revision)."""
    values: dict[str, Any] = {"name": data["name"]}
    if "quarters" in data:
        values["quarters"] = quarters_text(data)
    elif current is not None and current.quarters:
        values["quarters"] = ", ".join(current.quarters)
    for item in data["items"]:
        for name in ("model_code", "quantity", "unit_price"):
            values[f"lot{item['lot_id']}_{name}"] = item[name]
    return values


def _package_pointers(exc: DomainError, data: dict[str, Any]) -> DomainError:
    index = {item["lot_id"]: i for i, item in enumerate(data["items"])}
    out = {}
    for key, message in exc.field_errors.items():
        lot, _, name = key.partition("_")
        if lot.startswith("lot") and lot[3:].isdigit() and int(lot[3:]) in index:
            out[f"items/{index[int(lot[3:])]}/{name}"] = message
        else:
            out[key] = message
    exc.field_errors = out
    return exc


# ---------------------------------------------------------------- capacity


@bp.route("/rounds/<int:round_id>/capacity", methods=["PUT"])
@bp.arguments(CapacityInput)
@bp.response(200, CapacitySchema)
def set_capacity(data: dict[str, Any], round_id: int):
    """State my capacity for a round (the most vehicles over all my bids and packages)"""
    row = bidding.set_capacity(round_id, data["capacity"], g.api_actor)
    return {"round_id": round_id, "capacity": row.capacity}


# ---------------------------------------------------------------- the tender


@bp.route("/rounds/<int:round_id>/lots")
@bp.arguments(PageArgs, location="query")
@bp.response(200, LotPage)
def list_lots(args: dict[str, Any], round_id: int):
    """The published lots of a tender"""
    rnd = bidding.tender_round(round_id, g.api_actor)
    found = page(bidding.lots_query(rnd), Lot.id, args)
    return found.body([lot_json(x) for x in found.items])


@bp.route("/rounds/<int:round_id>/bids")
@bp.arguments(PageArgs, location="query")
@bp.response(200, BidPage)
def list_bids(args: dict[str, Any], round_id: int):
    """My current bids in a round (the last revision of each, withdrawn ones too)"""
    rnd = bidding.tender_round(round_id, g.api_actor)
    current = bidding.current_bids_of(rnd, g.api_actor)
    revisions = sorted(current.values(), key=lambda r: r.bid_id)
    after = args.get("cursor")
    if after:
        start = decode(after)
        revisions = [r for r in revisions if r.bid_id > start]
    limit = args.get("limit") or 100
    shown = revisions[:limit]
    next_cursor = encode(shown[-1].bid_id) if len(revisions) > limit else None
    return {"items": [bid_json(r, rnd.currency) for r in shown], "next_cursor": next_cursor}


@bp.route("/rounds/<int:round_id>/lots/<int:lot_id>/bid", methods=["POST"])
@idempotent
@bp.arguments(BidInput)
@bp.response(201, BidSchema)
@bp.doc(parameters=[IDEMPOTENCY])
def submit_bid(data: dict[str, Any], round_id: int, lot_id: int):
    """Bid on a lot, or revise my bid on it (a new revision, the one that counts)"""
    try:
        revision = bidding.submit_bid(round_id, lot_id, _bid_fields(data), g.api_actor)
    except DomainError as exc:
        raise _bid_pointers(exc) from None
    return bid_json(revision, rounds.load_round(round_id).currency)


@bp.route("/bids/<bid:bid_id>/withdraw", methods=["POST"])
@idempotent
@bp.response(200, BidSchema)
@bp.doc(parameters=[IDEMPOTENCY])
def withdraw_bid(bid_id: int):
    """Withdraw my bid (a withdrawn revision; the terms stay in the history)"""
    revision = bidding.withdraw_bid(bid_id, g.api_actor)
    return bid_json(revision, rounds.load_round(revision.bid.round_id).currency)


@bp.route("/rounds/<int:round_id>/packages", methods=["POST"])
@idempotent
@bp.arguments(PackageInput)
@bp.response(201, PackageSchema)
@bp.doc(parameters=[IDEMPOTENCY])
def submit_package(data: dict[str, Any], round_id: int):
    """Bid a package: all-or-nothing items over several lots"""
    try:
        revision = bidding.submit_package(round_id, _package_fields(data), g.api_actor)
    except DomainError as exc:
        raise _package_pointers(exc, data) from None
    return package_json(revision, rounds.load_round(round_id).currency)


@bp.route("/packages/<package:package_id>", methods=["PUT"])
@bp.arguments(PackageInput)
@bp.response(200, PackageSchema)
def revise_package(data: dict[str, Any], package_id: int):
    """Revise my package (every item, as when bidding it)"""
    package = access.own_package(g.api_actor, package_id)
    values = _package_fields(data, package.current_revision)
    try:
        revision = bidding.submit_package(package.round_id, values, g.api_actor, package_id=package_id)
    except DomainError as exc:
        raise _package_pointers(exc, data) from None
    return package_json(revision, rounds.load_round(package.round_id).currency)


@bp.route("/packages/<package:package_id>/withdraw", methods=["POST"])
@idempotent
@bp.response(200, PackageSchema)
@bp.doc(parameters=[IDEMPOTENCY])
def withdraw_package(package_id: int):
    """Withdraw my package"""
    revision = bidding.withdraw_package(package_id, g.api_actor)
    return package_json(revision, rounds.load_round(revision.package.round_id).currency)


@bp.route("/rounds/<int:round_id>/results")
@bp.arguments(PageArgs, location="query")
@bp.response(200, ResultPage)
def results(args: dict[str, Any], round_id: int):
    """What I won in the round's published award"""
    q = contracting.oem_result_query(round_id, g.api_actor)
    found = page(q.allocations, Allocation.id, args)
    items = [{"id": a.public_id, "lot": a.lot.code, "demand_line_id": a.demand_line_id,
              "fleet": a.demand_line.organization.name, "vehicle_model": a.vehicle_model.name,
              "quantity": a.quantity, "unit_price": money(a.unit_price, q.rnd.currency),
              "confirmation": a.confirmation.value} for a in found.items]  # fmt: skip
    return found.body(items)
