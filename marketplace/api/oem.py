"""OEMs: catalog models, capacity for a round, the lots of a tender, sealed bids and packages
(create, revise, withdraw), and what they won.

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
from marketplace.api.problems import fields_named
from marketplace.api.schemas import DecimalText, Instant, Money, StrictSchema, money
from marketplace.models import Allocation, BidRevision, Lot, PackageRevision, VehicleModel
from marketplace.services import access, bidding, catalog, contracting, quarter_capacity, rounds
from marketplace.services import values as V
from marketplace.services.errors import DomainError
from marketplace.services.reference_data import CHARGING_STANDARDS

bp = blueprint("oem", "OEMs: catalog, capacity, lots of a tender, sealed bids and packages, results.")


class ModelSchema(StrictSchema):
    id = fields.Integer(required=True)
    code = fields.String(required=True, metadata={"description": "what bids name as model_code"})
    name = fields.String(required=True)
    segment = fields.String(required=True)
    powertrain = fields.String(required=True)
    range_km = fields.Integer(required=True, allow_none=True)
    payload_kg = fields.Integer(required=True, allow_none=True)
    battery_kwh = fields.Integer(required=True, allow_none=True)
    charging = fields.List(fields.String(), required=True)
    markets = fields.List(fields.String(), required=True)
    list_price = Money(required=True, allow_none=True)
    currency = fields.String(required=True)
    yearly_capacity = fields.Integer(required=True, allow_none=True)
    retired = fields.Boolean(required=True)


def model_json(m: VehicleModel) -> dict[str, Any]:
    return {
        "id": m.id, "code": m.code, "name": m.name, "segment": m.segment_id, "powertrain": m.powertrain,
        "range_km": m.range_km, "payload_kg": m.payload_kg, "battery_kwh": m.battery_kwh,
        "charging": list(m.charging or []), "markets": list(m.markets or []),
        "list_price": money(m.list_price, m.currency), "currency": m.currency,
        "yearly_capacity": m.yearly_capacity, "retired": m.retired,
    }  # fmt: skip


def _spec(minimum: int, **kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=minimum, max=V.SPEC_MAX), **kwargs)


class ModelInput(StrictSchema):
    """A catalog model, every field as on the catalog form (catalog.check_model decides)."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=V.NAME_MAX))
    segment = fields.String(required=True, validate=validate.Length(min=1, max=100),
                            metadata={"description": "segment id", "examples": ["md_box_truck"]})  # fmt: skip
    powertrain = fields.String(required=True, validate=validate.OneOf(list(catalog.POWERTRAINS)))
    markets = fields.List(fields.String(validate=validate.Length(min=1, max=20)), required=True,
                          validate=validate.Length(min=1, max=300),
                          metadata={"description": "ISO 3166-1 alpha-2 codes", "examples": [["US", "CA"]]})  # fmt: skip
    range_km = _spec(1, required=True)
    payload_kg = _spec(1, load_default=None, allow_none=True)
    battery_kwh = _spec(1, load_default=None, allow_none=True)
    charging = fields.List(fields.String(validate=validate.OneOf(list(CHARGING_STANDARDS))), required=True,
                           validate=validate.Length(min=1, max=len(CHARGING_STANDARDS)))  # fmt: skip
    list_price = DecimalText(load_default=None, allow_none=True)
    currency = fields.String(load_default="USD", validate=validate.OneOf(V.CURRENCIES))
    yearly_capacity = _spec(0, load_default=None, allow_none=True)


MODEL_FIELDS = {"segment_id": "segment"}  # the service's name -> the API's


def _model_values(data: dict[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in data.items() if k != "segment"}
    return values | {"segment_id": data["segment"]}


class CapacityInput(StrictSchema):
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=V.CAPACITY_MAX))


class CapacitySchema(StrictSchema):
    round_id = fields.Integer(required=True)
    capacity = fields.Integer(required=True)


QUARTER = {"description": "a quarter, e.g. 2027Q2", "examples": ["2027Q2"]}


class QuarterCapacityEntry(StrictSchema):
    quarter = fields.String(required=True, validate=validate.Length(min=1, max=20), metadata=QUARTER)
    segment = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64),
                            metadata={"description": "a segment id; null: over all segments"})  # fmt: skip
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=V.CAPACITY_MAX))


class QuarterCapacityInput(StrictSchema):
    quarters = fields.List(
        fields.Nested(QuarterCapacityEntry), required=True, validate=validate.Length(max=quarter_capacity.ROWS_MAX),
        metadata={"description": "every quarter I can deliver in, with the most vehicles in it (per segment where "
                                 "it matters); these replace the ones stated before; [] for none (any quarter, up "
                                 "to my total)"},
    )  # fmt: skip


class QuarterCapacityRow(StrictSchema):
    quarter = fields.String(required=True)
    segment = fields.String(required=True, allow_none=True)
    capacity = fields.Integer(required=True)


class QuarterCapacitySchema(StrictSchema):
    round_id = fields.Integer(required=True)
    capacity = fields.Integer(required=True, allow_none=True, metadata={"description": "my total for the round"})
    quarters = fields.List(fields.Nested(QuarterCapacityRow), required=True)


def quarter_capacity_json(round_id: int, total: int | None, rows: list[Any]) -> dict[str, Any]:
    return {"round_id": round_id, "capacity": total,
            "quarters": [{"quarter": r.quarter, "segment": r.segment_id, "capacity": r.capacity} for r in rows]}  # fmt: skip


def _quarter_rows(data: dict[str, Any]) -> dict[str, Any]:
    """The rows as the quarter capacity service reads them (the web form's rowN_quarter, rowN_segment, ...)."""
    values: dict[str, Any] = {}
    for n, entry in enumerate(data["quarters"], start=1):
        values |= {f"row{n}_quarter": entry["quarter"], f"row{n}_segment": entry["segment"] or "",
                   f"row{n}_capacity": entry["capacity"]}  # fmt: skip
    return values


def _quarter_pointers(exc: DomainError) -> DomainError:
    """row2_capacity -> /quarters/1/capacity; the rows together ("rows") -> /quarters."""
    out = {}
    for key, message in exc.field_errors.items():
        number, _, name = key[3:].partition("_")
        if key.startswith("row") and number.isdigit():
            out[f"quarters/{int(number) - 1}/{name}"] = message
        else:
            out["quarters" if key == "rows" else key] = message
    exc.field_errors = out
    return exc


QUARTERS_DOC = (
    "the quarters I deliver in: each a quarter (2027Q2) or a range (2027Q2-2028Q1); null or []: any quarter; "
    "left out of a revision: the quarters of the revision that counts stay"
)


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


ModelPage = page_schema(ModelSchema, "ModelPage")
LotPage = page_schema(LotSchema, "LotPage")
BidPage = page_schema(BidSchema, "BidPage")
ResultPage = page_schema(ResultSchema, "ResultPage")


def _quarters_text(data: dict[str, Any]) -> str:
    """The quarters as the web form's one field ("2027Q2-2028Q1, 2028Q3"), read by the same rule."""
    return ", ".join(data.get("quarters") or [])


def _bid_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The bid as the bidding service reads it (the form's and bid sheet's fields)."""
    values: dict[str, Any] = {k: data[k] for k in ("model_code", "min_quantity", "max_quantity")}
    for n, tier in enumerate(data["tiers"], start=1):
        values[f"tier{n}_min"], values[f"tier{n}_price"] = tier["min_quantity"], tier["unit_price"]
    if "quarters" in data:  # left out: the service keeps the quarters of the revision that counts
        values["quarters"] = _quarters_text(data)
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
        values["quarters"] = _quarters_text(data)
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


# ---------------------------------------------------------------- catalog and capacity


@bp.route("/models")
@bp.arguments(PageArgs, location="query")
@bp.response(200, ModelPage)
def list_models(args: dict[str, Any]):
    """My organization's catalog models"""
    found = page(catalog.own_models_query(g.api_actor), VehicleModel.id, args)
    return {"items": [model_json(m) for m in found.items], "next_cursor": found.next_cursor}


@bp.route("/models", methods=["POST"])
@idempotent
@bp.arguments(ModelInput)
@bp.response(201, ModelSchema)
@bp.doc(parameters=[IDEMPOTENCY])
def create_model(data: dict[str, Any]):
    """Add a model to my catalog (its code, which bids name, is made from the name)"""
    with fields_named(MODEL_FIELDS):
        return model_json(catalog.create_model(_model_values(data), g.api_actor))


@bp.route("/models/<int:model_id>")
@bp.response(200, ModelSchema)
def get_model(model_id: int):
    """One of my catalog models"""
    return model_json(access.own_model(g.api_actor, model_id))


@bp.route("/models/<int:model_id>", methods=["PUT"])
@bp.arguments(ModelInput)
@bp.response(200, ModelSchema)
def update_model(data: dict[str, Any], model_id: int):
    """Change one of my catalog models (every field, as when adding it; bids already made keep their terms)"""
    with fields_named(MODEL_FIELDS):
        return model_json(catalog.update_model(model_id, _model_values(data), g.api_actor))


@bp.route("/models/<int:model_id>/retire", methods=["POST"])
@idempotent
@bp.response(200, ModelSchema)
@bp.doc(parameters=[IDEMPOTENCY])
def retire_model(model_id: int):
    """Retire a model: no new bid or revision may offer it; bids that name it keep it"""
    return model_json(catalog.set_retired(model_id, True, g.api_actor))


@bp.route("/models/<int:model_id>/reinstate", methods=["POST"])
@idempotent
@bp.response(200, ModelSchema)
@bp.doc(parameters=[IDEMPOTENCY])
def reinstate_model(model_id: int):
    """Bring a retired model back into my catalog"""
    return model_json(catalog.set_retired(model_id, False, g.api_actor))


@bp.route("/rounds/<int:round_id>/capacity", methods=["PUT"])
@bp.arguments(CapacityInput)
@bp.response(200, CapacitySchema)
def set_capacity(data: dict[str, Any], round_id: int):
    """State my capacity for a round (the most vehicles over all my bids and packages)"""
    row = bidding.set_capacity(round_id, data["capacity"], g.api_actor)
    return {"round_id": round_id, "capacity": row.capacity}


@bp.route("/rounds/<int:round_id>/capacity/quarters")
@bp.response(200, QuarterCapacitySchema)
def get_quarter_capacity(round_id: int):
    """My capacity by quarter for a round (a ramp, per segment where it matters), beside my total"""
    rnd = bidding.tender_round(round_id, g.api_actor)
    rows = quarter_capacity.rows_of(rnd, g.api_actor)
    return quarter_capacity_json(round_id, bidding.capacity_of(rnd, g.api_actor), rows)


@bp.route("/rounds/<int:round_id>/capacity/quarters", methods=["PUT"])
@bp.arguments(QuarterCapacityInput)
@bp.response(200, QuarterCapacitySchema)
def set_quarter_capacity(data: dict[str, Any], round_id: int):
    """State my capacity by quarter for a round: I deliver only in the quarters listed, at most so many in each"""
    try:
        rows = quarter_capacity.set_rows(round_id, _quarter_rows(data), g.api_actor)
    except DomainError as exc:
        raise _quarter_pointers(exc) from None
    rnd = bidding.tender_round(round_id, g.api_actor)
    return quarter_capacity_json(round_id, bidding.capacity_of(rnd, g.api_actor), rows)


# ---------------------------------------------------------------- the tender


@bp.route("/rounds/<int:round_id>/lots")
@bp.arguments(PageArgs, location="query")
@bp.response(200, LotPage)
def list_lots(args: dict[str, Any], round_id: int):
    """The published lots of a tender"""
    rnd = bidding.tender_round(round_id, g.api_actor)
    found = page(bidding.lots_query(rnd), Lot.id, args)
    return {"items": [lot_json(x) for x in found.items], "next_cursor": found.next_cursor}


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
    return {"items": items, "next_cursor": found.next_cursor}
