"""The OEM side of the API: catalog, capacity, the lots of a tender, bids and packages with the problems
named by JSON pointer, revisions and withdrawals; another OEM's bid or package is 404."""

from __future__ import annotations

from marketplace.services import bidding
from tests.api_helpers import auth, token_for
from tests.factories import make_model, make_tender


def _tender(world):
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    model = make_model(world.oem.organization)
    return rnd, lots, model


def test_oem_states_capacity_bids_revises_and_withdraws(client, world):
    rnd, lots, model = _tender(world)
    headers = auth(token_for(world.oem))
    models = client.get("/api/v1/models", headers=headers).get_json()["items"]
    assert [m["code"] for m in models] == [model.code]
    listed = client.get(f"/api/v1/rounds/{rnd.id}/lots", headers=headers).get_json()["items"]
    assert [x["id"] for x in listed] == [lot.id for lot in lots]
    bid = {"model_code": model.code, "min_quantity": 10, "max_quantity": 40,
           "tiers": [{"min_quantity": 10, "unit_price": "230000"}, {"min_quantity": 30, "unit_price": "221000.50"}]}  # fmt: skip
    refused = client.post(f"/api/v1/rounds/{rnd.id}/lots/{lots[0].id}/bid", json=bid, headers=headers)
    assert refused.status_code == 409 and "capacity" in refused.get_json()["detail"]
    assert client.put(f"/api/v1/rounds/{rnd.id}/capacity", json={"capacity": 120}, headers=headers).status_code == 200
    made = client.post(f"/api/v1/rounds/{rnd.id}/lots/{lots[0].id}/bid", json=bid, headers=headers)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["revision"] == 1 and body["tiers"][1]["unit_price"] == {"amount": "221000.50", "currency": "USD"}
    bid["tiers"][1]["unit_price"] = "219000"
    revised = client.post(f"/api/v1/rounds/{rnd.id}/lots/{lots[0].id}/bid", json=bid, headers=headers).get_json()
    assert revised["revision"] == 2 and revised["id"] == body["id"]
    current = client.get(f"/api/v1/rounds/{rnd.id}/bids", headers=headers).get_json()["items"]
    assert [(b["id"], b["revision"]) for b in current] == [(body["id"], 2)]
    withdrawn = client.post(f"/api/v1/bids/{body['id']}/withdraw", headers=headers).get_json()
    assert withdrawn["withdrawn"] is True and withdrawn["revision"] == 3
    theirs = auth(token_for(world.other_oem))
    assert client.post(f"/api/v1/bids/{body['id']}/withdraw", headers=theirs).status_code == 404


def test_a_wrong_tier_is_named_by_its_pointer(client, world):
    rnd, lots, model = _tender(world)
    headers = auth(token_for(world.oem))
    bidding.set_capacity(rnd.id, 100, world.oem)
    bid = {"model_code": model.code, "min_quantity": 10, "max_quantity": 40,
           "tiers": [{"min_quantity": 10, "unit_price": "230000"}, {"min_quantity": 5, "unit_price": "221000"}]}  # fmt: skip
    response = client.post(f"/api/v1/rounds/{rnd.id}/lots/{lots[0].id}/bid", json=bid, headers=headers)
    assert response.status_code == 400
    assert [e["pointer"] for e in response.get_json()["errors"]] == ["/tiers/1/min_quantity"]
    assert bidding.current_bids_of(rnd, world.oem) == {}


def test_package_create_revise_withdraw_and_item_pointers(client, world):
    rnd, lots, model = _tender(world)
    headers = auth(token_for(world.oem))
    bidding.set_capacity(rnd.id, 100, world.oem)
    package = {"name": "West + Texas", "items": [
        {"lot_id": lots[0].id, "model_code": model.code, "quantity": 10, "unit_price": "228000"},
        {"lot_id": lots[1].id, "model_code": model.code, "quantity": 99, "unit_price": "219999.99"}]}  # fmt: skip
    wrong = client.post(f"/api/v1/rounds/{rnd.id}/packages", json=package, headers=headers)
    assert wrong.status_code == 400
    assert [e["pointer"] for e in wrong.get_json()["errors"]] == ["/items/1/quantity"]  # lot 2 has 25 vehicles
    package["items"][1]["quantity"] = 25
    made = client.post(f"/api/v1/rounds/{rnd.id}/packages", json=package, headers=headers)
    assert made.status_code == 201, made.get_json()
    public_id = made.get_json()["id"]
    package["name"] = "West + Texas, revised"
    revised = client.put(f"/api/v1/packages/{public_id}", json=package, headers=headers).get_json()
    assert revised["revision"] == 2 and revised["name"] == "West + Texas, revised"
    theirs = auth(token_for(world.other_oem))
    assert client.put(f"/api/v1/packages/{public_id}", json=package, headers=theirs).status_code == 404
    assert client.post(f"/api/v1/packages/{public_id}/withdraw", headers=theirs).status_code == 404
    assert client.post(f"/api/v1/packages/{public_id}/withdraw", headers=headers).get_json()["withdrawn"] is True


def _model_body(**overrides):
    body = {"name": "eCargo 9", "segment": "md_box_truck", "powertrain": "BEV", "markets": ["US", "CA"],
            "range_km": 320, "payload_kg": 4200, "charging": ["CCS1", "MCS"], "list_price": "245000.50"}  # fmt: skip
    return body | overrides


def test_oem_adds_edits_retires_and_reinstates_a_catalog_model(client, world):
    from marketplace.extensions import db
    from marketplace.models import VehicleModel

    headers = auth(token_for(world.oem))
    made = client.post("/api/v1/models", json=_model_body(), headers=headers)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["list_price"] == {"amount": "245000.50", "currency": "USD"} and body["retired"] is False
    model = db.session.get(VehicleModel, body["id"])
    assert model.organization_id == world.oem.organization_id and model.charging == ["CCS1", "MCS"]
    assert client.get(f"/api/v1/models/{body['id']}", headers=headers).get_json()["code"] == model.code
    edited = client.put(f"/api/v1/models/{body['id']}", json=_model_body(range_km=350, list_price=None),
                        headers=headers)  # fmt: skip
    assert edited.status_code == 200 and (edited.get_json()["range_km"], edited.get_json()["list_price"]) == (350, None)
    # The catalog's own rules answer, naming the API's field.
    wrong = client.post("/api/v1/models", json=_model_body(segment="hovercraft", markets=["USA"]), headers=headers)
    assert wrong.status_code == 400
    assert {e["pointer"] for e in wrong.get_json()["errors"]} == {"/segment", "/markets", "/name"}  # name taken
    retired = client.post(f"/api/v1/models/{body['id']}/retire", headers=headers)
    assert retired.status_code == 200 and retired.get_json()["retired"] is True
    db.session.expire_all()
    assert db.session.get(VehicleModel, body["id"]).retired is True
    back = client.post(f"/api/v1/models/{body['id']}/reinstate", headers=headers)
    assert back.get_json()["retired"] is False
    # Another OEM's model does not exist for it; a read token changes nothing.
    theirs = auth(token_for(world.other_oem))
    assert client.get(f"/api/v1/models/{body['id']}", headers=theirs).status_code == 404
    assert client.put(f"/api/v1/models/{body['id']}", json=_model_body(), headers=theirs).status_code == 404
    assert client.post(f"/api/v1/models/{body['id']}/retire", headers=theirs).status_code == 404
    read_only = auth(token_for(world.oem, "read"))
    assert client.post(f"/api/v1/models/{body['id']}/retire", headers=read_only).status_code == 403
    assert client.post("/api/v1/models", json=_model_body(name="Other"), headers=read_only).status_code == 403
    db.session.expire_all()
    assert db.session.get(VehicleModel, body["id"]).retired is False
    assert db.session.query(VehicleModel).filter_by(organization_id=world.oem.organization_id).count() == 1
