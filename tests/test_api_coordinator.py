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
