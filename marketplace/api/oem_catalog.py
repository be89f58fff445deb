"""OEMs' catalog in the API: list, add, change, retire and reinstate models (routes of the OEM blueprint)."""

from __future__ import annotations

from typing import Any

from flask import g
from marshmallow import fields, validate

from marketplace.api.idempotency import PARAMETER as IDEMPOTENCY
from marketplace.api.idempotency import idempotent
from marketplace.api.oem import bp
from marketplace.api.pagination import PageArgs, page, page_schema
from marketplace.api.problems import fields_named
from marketplace.api.schemas import DecimalText, Money, StrictSchema, money
from marketplace.models import VehicleModel
from marketplace.services import access, catalog
from marketplace.services import values as V
from marketplace.services.reference_data import CHARGING_STANDARDS


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


ModelPage = page_schema(ModelSchema, "ModelPage")


@bp.route("/models")
@bp.arguments(PageArgs, location="query")
@bp.response(200, ModelPage)
def list_models(args: dict[str, Any]):
    """My organization's catalog models"""
    found = page(catalog.own_models_query(g.api_actor), VehicleModel.id, args)
    return found.body([model_json(m) for m in found.items])


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
