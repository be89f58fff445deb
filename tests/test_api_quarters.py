"""Delivery quarters in the OEM's API: capacity by quarter (read and replace), the quarters a bid or package
delivers in; the same rules and messages as the web forms, each problem named by its JSON pointer."""

from __future__ import annotations

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import QuarterCapacity
from marketplace.services import bidding, quarter_capacity
from tests.api_helpers import auth, token_for
from tests.factories import make_model, make_tender


def _tender(world):
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    return rnd, lots, make_model(world.oem.organization)


def _saved(rnd, org_id):
    rows = db.session.execute(
        sa.select(QuarterCapacity).where(QuarterCapacity.round_id == rnd.id, QuarterCapacity.organization_id == org_id)
    ).scalars()
    return sorted(((r.quarter, r.segment_id, r.capacity) for r in rows), key=lambda r: (r[0], r[1] or ""))


def test_an_oem_states_reads_and_clears_its_capacity_by_quarter(client, world):
    rnd, _, _ = _tender(world)
    headers = auth(token_for(world.oem))
    url = f"/api/v1/rounds/{rnd.id}/capacity/quarters"
    ramp = {"quarters": [{"quarter": "2027Q2", "capacity": 20}, {"quarter": "2027 q3", "capacity": 40},
                         {"quarter": "2027Q3", "segment": "md_box_truck", "capacity": 15}]}  # fmt: skip
    before_total = client.put(url, json=ramp, headers=headers)
    assert before_total.status_code == 409 and "total" in before_total.get_json()["detail"]
    client.put(f"/api/v1/rounds/{rnd.id}/capacity", json={"capacity": 60}, headers=headers)

    stated = client.put(url, json=ramp, headers=headers)
    assert stated.status_code == 200, stated.get_json()
    assert stated.get_json() == {"round_id": rnd.id, "capacity": 60, "quarters": [
        {"quarter": "2027Q2", "segment": None, "capacity": 20},
        {"quarter": "2027Q3", "segment": None, "capacity": 40},
        {"quarter": "2027Q3", "segment": "md_box_truck", "capacity": 15}]}  # fmt: skip
    assert client.get(url, headers=headers).get_json() == stated.get_json()
    assert _saved(rnd, world.oem.organization_id) == [
        ("2027Q2", None, 20), ("2027Q3", None, 40), ("2027Q3", "md_box_truck", 15)
    ]  # fmt: skip
    # Sealed like bids: another OEM reads only its own (none).
    theirs = client.get(url, headers=auth(token_for(world.other_oem))).get_json()
    assert theirs["quarters"] == [] and theirs["capacity"] is None

    cleared = client.put(url, json={"quarters": []}, headers=headers)
    assert cleared.status_code == 200 and cleared.get_json()["quarters"] == []
    assert _saved(rnd, world.oem.organization_id) == []


def test_rows_that_break_a_rule_are_named_by_pointer_and_nothing_changes(client, world):
    rnd, _, _ = _tender(world)
    headers = auth(token_for(world.oem))
    bidding.set_capacity(rnd.id, 60, world.oem)
    url = f"/api/v1/rounds/{rnd.id}/capacity/quarters"
    quarter_capacity.set_rows(rnd.id, {"row1_quarter": "2027Q2", "row1_capacity": "70"}, world.oem)
    wrong = {"quarters": [{"quarter": "2027Q5", "capacity": 20}, {"quarter": "2027Q3", "capacity": 10},
                          {"quarter": "2027Q3", "segment": "md_box_truck", "capacity": 12},
                          {"quarter": "2027Q4", "segment": "hovercraft", "capacity": 1}]}  # fmt: skip
    response = client.put(url, json=wrong, headers=headers)
    assert response.status_code == 400
    pointers = {e["pointer"]: e["detail"] for e in response.get_json()["errors"]}
    assert set(pointers) == {"/quarters/0/quarter", "/quarters/3/segment"}
    assert "hovercraft" in pointers["/quarters/3/segment"]
    # A segment above its quarter's all-segments figure, then quarters adding up below the total.
    over = {"quarters": [{"quarter": "2027Q3", "capacity": 10}, {"quarter": "2027Q3", "segment": "md_box_truck",
                                                                 "capacity": 12}]}  # fmt: skip
    response = client.put(url, json=over, headers=headers)
    assert [e["pointer"] for e in response.get_json()["errors"]] == ["/quarters/1/capacity"]
    short = client.put(url, json={"quarters": [{"quarter": "2027Q3", "capacity": 10}]}, headers=headers)
    assert short.status_code == 400
    (problem,) = short.get_json()["errors"]
    assert problem["pointer"] == "/quarters" and "below your total of 60" in problem["detail"]
    assert _saved(rnd, world.oem.organization_id) == [("2027Q2", None, 70)]  # as before


def test_bids_and_packages_carry_their_delivery_quarters(client, world):
    rnd, lots, model = _tender(world)
    headers = auth(token_for(world.oem))
    bidding.set_capacity(rnd.id, 100, world.oem)
    url = f"/api/v1/rounds/{rnd.id}/lots/{lots[0].id}/bid"
    bid = {"model_code": model.code, "min_quantity": 10, "max_quantity": 40,
           "tiers": [{"min_quantity": 10, "unit_price": "230000"}]}  # fmt: skip
    made = client.post(url, json=bid | {"quarters": ["2027Q2-2027Q4", "2028Q2"]}, headers=headers)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["quarters"] == ["2027Q2", "2027Q3", "2027Q4", "2028Q2"]
    # A revision that leaves the quarters out keeps them; null says any quarter.
    kept = client.post(url, json=bid | {"max_quantity": 30}, headers=headers).get_json()
    assert (kept["revision"], kept["quarters"]) == (2, ["2027Q2", "2027Q3", "2027Q4", "2028Q2"])
    listed = client.get(f"/api/v1/rounds/{rnd.id}/bids", headers=headers).get_json()["items"]
    assert listed[0]["quarters"] == kept["quarters"]
    anyq = client.post(url, json=bid | {"quarters": None}, headers=headers).get_json()
    assert (anyq["revision"], anyq["quarters"]) == (3, None)
    wrong = client.post(url, json=bid | {"quarters": ["2027Q4-2027Q2"]}, headers=headers)
    assert wrong.status_code == 400
    (problem,) = wrong.get_json()["errors"]
    assert problem["pointer"] == "/quarters" and "ends before it starts" in problem["detail"]
    assert bidding.current_bids_of(rnd, world.oem)[lots[0].id].number == 3  # nothing saved

    package = {"name": "Both", "quarters": ["2027Q3"], "items": [
        {"lot_id": lots[0].id, "model_code": model.code, "quantity": 10, "unit_price": "228000"},
        {"lot_id": lots[1].id, "model_code": model.code, "quantity": 25, "unit_price": "219000"}]}  # fmt: skip
    made = client.post(f"/api/v1/rounds/{rnd.id}/packages", json=package, headers=headers).get_json()
    assert made["quarters"] == ["2027Q3"]
    del package["quarters"]
    revised = client.put(f"/api/v1/packages/{made['id']}", json=package | {"name": "Both, revised"}, headers=headers)
    assert revised.get_json()["revision"] == 2 and revised.get_json()["quarters"] == ["2027Q3"]  # kept
    cleared = client.put(f"/api/v1/packages/{made['id']}", json=package | {"quarters": []}, headers=headers)
    assert cleared.get_json()["quarters"] is None
