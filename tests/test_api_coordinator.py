"""The coordinator side of the API: a pooling run started, polled, its documents read and its lots published;
transitions through the phase table; report and OCDS."""

from __future__ import annotations

import json

import pytest

from marketplace.models import RoundPhase
from marketplace.services import rounds
from tests.api_helpers import auth, token_for
from tests.factories import make_line, make_round

pytestmark = pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)


def test_coordinator_pools_reads_documents_publishes_and_reports(client, world):
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN, min_lot_quantity=20, max_lot_quantity=100)
    for _ in range(6):
        make_line(rnd, world.fleet.organization, quantity=5, region_id="us-ca-los-angeles")
    headers = auth(token_for(world.coordinator))
    moved = client.post(f"/api/v1/rounds/{rnd.id}/transitions", json={"target": "demand_closed"}, headers=headers)
    assert moved.status_code == 200 and moved.get_json()["phase"] == "demand_closed"
    wrong = client.post(f"/api/v1/rounds/{rnd.id}/transitions", json={"target": "awarded"}, headers=headers)
    assert wrong.status_code == 409  # the phase table decides, not the API
    started = client.post(f"/api/v1/rounds/{rnd.id}/pooling-runs", json={"time_limit": 10}, headers=headers)
    assert started.status_code == 202, started.get_json()
    run_id = started.get_json()["id"]
    run = client.get(f"/api/v1/pooling-runs/{run_id}", headers=headers).get_json()  # jobs run at once in tests
    assert run["status"] == "succeeded" and run["pooled_quantity"] == 30 and run["lot_count"] >= 1
    document = client.get(f"/api/v1/pooling-runs/{run_id}/input", headers=headers)
    assert len(json.loads(document.data)["demand"]) == 6
    assert "lots" in json.loads(client.get(f"/api/v1/pooling-runs/{run_id}/output", headers=headers).data)
    published = client.post(f"/api/v1/pooling-runs/{run_id}/publish", headers=headers)
    assert published.status_code == 200 and published.get_json()["phase"] == "tendering"
    assert rounds.load_round(rnd.id).phase is RoundPhase.TENDERING
    report = client.get(f"/api/v1/rounds/{rnd.id}/report", headers=headers).get_json()["report"]
    assert {s["key"] for s in report["funnel"]} >= {"committed", "pooled"}
    ocds = client.get(f"/api/v1/rounds/{rnd.id}/ocds", headers=headers)
    assert ocds.status_code == 200 and "releases" in ocds.get_json()
    fleet = auth(token_for(world.fleet))
    assert client.get(f"/api/v1/pooling-runs/{run_id}", headers=fleet).status_code == 403


def _round_body(**overrides):
    body = {"name": "2028 Refuse Trucks", "segments": ["md_box_truck"], "regions": ["US"],
            "demand_deadline": "2030-01-31T17:00:00-05:00", "max_share_percent": "60.5",
            "deposit_per_vehicle": "1500.00", "line_service": "split"}  # fmt: skip
    return body | overrides


def test_coordinator_creates_and_edits_a_draft_round_as_the_form_does(client, world):
    headers = auth(token_for(world.coordinator))
    made = client.post("/api/v1/rounds", json=_round_body(), headers=headers)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert (body["phase"], body["max_share_percent"], body["line_service"]) == ("draft", "60.5", "split")
    assert body["deposit_per_vehicle"] == {"amount": "1500.00", "currency": "USD"}
    assert body["demand_deadline"] == "2030-01-31T22:00:00+00:00"  # stored in UTC, the offset honoured
    saved = rounds.load_round(body["id"])
    assert str(saved.max_share_per_supplier) == "0.605" and saved.min_lot_quantity == 20  # the form's default
    edited = client.put(f"/api/v1/rounds/{body['id']}", json=_round_body(min_lot_quantity=30), headers=headers)
    assert edited.status_code == 200 and edited.get_json()["min_lot_quantity"] == 30
    # The service's rules and the form's field definitions answer, naming the field in the JSON sent.
    clash = client.post("/api/v1/rounds", json=_round_body(segments=["no-such-segment"]), headers=headers)
    assert clash.status_code == 400
    assert {e["pointer"] for e in clash.get_json()["errors"]} == {"/name", "/segments"}  # name taken too
    wide = client.put(f"/api/v1/rounds/{body['id']}", json=_round_body(max_share_percent="100.25"), headers=headers)
    assert wide.status_code == 422 and wide.get_json()["errors"][0]["pointer"] == "/max_share_percent"
    assert "At most 1 decimal" in wide.get_json()["errors"][0]["detail"]
    late = client.put(f"/api/v1/rounds/{body['id']}", json=_round_body(bid_deadline="9999-12-31T23:00:00-05:00"),
                      headers=headers)  # fmt: skip
    assert late.status_code == 422 and late.get_json()["errors"][0]["pointer"] == "/bid_deadline"  # year 10000 in UTC
    small = client.put(f"/api/v1/rounds/{body['id']}", json=_round_body(max_lot_quantity=10), headers=headers)
    assert small.status_code == 400 and small.get_json()["errors"][0]["pointer"] == "/max_lot_quantity"
    assert rounds.load_round(body["id"]).min_lot_quantity == 30  # refused edits saved nothing
    # Rules are frozen once demand opens; fleets and OEMs cannot create or edit rounds.
    rounds.transition(body["id"], RoundPhase.DEMAND_OPEN, world.coordinator)
    frozen = client.put(f"/api/v1/rounds/{body['id']}", json=_round_body(), headers=headers)
    assert frozen.status_code == 409
    for user in (world.fleet, world.oem):
        theirs = auth(token_for(user))
        assert client.post("/api/v1/rounds", json=_round_body(name="Mine"), headers=theirs).status_code == 403
        assert client.put(f"/api/v1/rounds/{body['id']}", json=_round_body(), headers=theirs).status_code == 403
    read_only = auth(token_for(world.coordinator, "read"))
    assert client.post("/api/v1/rounds", json=_round_body(name="Read"), headers=read_only).status_code == 403


def test_a_nul_character_is_refused_by_name_before_any_service_reads_it(client, world):
    # PostgreSQL cannot compare text holding a NUL: looking a segment up with one was a 500 there.
    headers = auth(token_for(world.coordinator))
    body = _round_body(name="Round\x00", segments=["md_box_truck", "md\x00"])
    response = client.post("/api/v1/rounds", json=body, headers=headers)
    assert response.status_code == 422
    assert {e["pointer"] for e in response.get_json()["errors"]} == {"/name", "/segments/1"}
    assert client.get("/api/v1/rounds", headers=headers).get_json()["items"] == []
