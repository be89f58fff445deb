"""After the award, through the API: a fleet lists its allocations, confirms or declines them and follows its
deposits; an OEM reads what it won. Another organization's allocation answers 404; read tokens change nothing."""

from __future__ import annotations

import pytest

from marketplace import gateways
from marketplace.extensions import db
from marketplace.models import Allocation, ConfirmationStatus, RoundPhase
from marketplace.services import contracting, rounds
from tests.api_helpers import auth, token_for
from tests.deposit_helpers import deposit_round, held_deposit, publish_award
from tests.factories import make_contracting_round
from tests.fake_gateway import FakeGateway

pytestmark = pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)


@pytest.fixture
def awarded(world):
    return make_contracting_round(world)


def test_fleet_lists_confirms_and_declines_its_allocations(client, world, awarded):
    fleet = auth(token_for(world.fleet))
    listed = client.get(f"/api/v1/rounds/{awarded.id}/allocations", headers=fleet).get_json()["items"]
    assert sorted((a["quantity"], a["unit_price"]["amount"], a["confirmation"]) for a in listed) == [
        (25, "240000.00", "pending"), (40, "230000.00", "pending"),
    ]  # fmt: skip
    other_fleet = auth(token_for(world.other_fleet))
    assert client.get(f"/api/v1/rounds/{awarded.id}/allocations", headers=other_fleet).get_json()["items"] == []
    by_quantity = {a["quantity"]: a["id"] for a in listed}
    first, second = by_quantity[40], by_quantity[25]
    # Another fleet's allocation does not exist for it; a read token cannot decide.
    assert client.post(f"/api/v1/allocations/{first}/confirm", headers=other_fleet).status_code == 404
    assert client.post(f"/api/v1/allocations/{second}/decline", headers=other_fleet).status_code == 404
    read_only = auth(token_for(world.fleet, "read"))
    assert client.post(f"/api/v1/allocations/{first}/confirm", headers=read_only).status_code == 403
    assert {a.confirmation for a in contracting.fleet_results(awarded.id, world.fleet).allocations} == {
        ConfirmationStatus.PENDING
    }
    confirmed = client.post(f"/api/v1/allocations/{first}/confirm", headers=fleet)
    assert confirmed.status_code == 200 and confirmed.get_json()["confirmation"] == "confirmed"
    assert confirmed.get_json()["decided_at"].endswith("+00:00")
    declined = client.post(f"/api/v1/allocations/{second}/decline", headers=fleet)
    assert declined.status_code == 200 and declined.get_json()["confirmation"] == "declined"
    again = client.post(f"/api/v1/allocations/{first}/decline", headers=fleet)
    assert again.status_code == 409 and again.content_type == "application/problem+json"  # decided once
    db.session.expire_all()
    saved = {a.public_id: a.confirmation for a in db.session.query(Allocation)}
    assert saved == {first: ConfirmationStatus.CONFIRMED, second: ConfirmationStatus.DECLINED}


def test_oem_reads_only_what_it_won(client, world, awarded):
    mine = client.get(f"/api/v1/rounds/{awarded.id}/results", headers=auth(token_for(world.oem))).get_json()["items"]
    assert [(r["quantity"], r["unit_price"]["amount"], r["fleet"]) for r in mine] == [
        (40, "230000.00", world.fleet.organization.name)
    ]
    theirs = client.get(f"/api/v1/rounds/{awarded.id}/results", headers=auth(token_for(world.other_oem)))
    assert [(r["quantity"], r["unit_price"]["amount"]) for r in theirs.get_json()["items"]] == [(25, "240000.00")]
    # The OEM that won it decides nothing for the fleet: the allocation is not its own to decide.
    won = client.post(f"/api/v1/allocations/{mine[0]['id']}/confirm", headers=auth(token_for(world.oem)))
    assert won.status_code == 404
    assert {a.confirmation for a in db.session.query(Allocation)} == {ConfirmationStatus.PENDING}


@pytest.fixture
def fake(app):
    gw = FakeGateway()
    gateways.use(gw)
    app.config["STRIPE_SECRET_KEY"] = "sk_test_fake"
    yield gw
    gateways.use(None)


def test_fleet_follows_its_deposits_through_a_decline(client, world, fake):
    rnd = deposit_round(world)  # 1234.56 a vehicle, 25 % forfeited on a decline
    mine = held_deposit(rnd, world, "pm_card_visa", quantity=3)
    held_deposit(rnd, world, "pm_card_visa", quantity=1, fleet="other_fleet")
    publish_award(rnd, world, {mine.demand_line_id: ConfirmationStatus.PENDING}, phase=RoundPhase.CONTRACTING)
    fleet = auth(token_for(world.fleet))
    (listed,) = client.get("/api/v1/deposits", headers=fleet).get_json()["items"]
    assert (listed["id"], listed["state"]) == (mine.public_id, "held")
    assert listed["held"] == {"amount": "3703.68", "currency": "USD"}
    (allocation,) = client.get(f"/api/v1/rounds/{rnd.id}/allocations", headers=fleet).get_json()["items"]
    assert client.post(f"/api/v1/allocations/{allocation['id']}/decline", headers=fleet).status_code == 200
    rounds.transition(rnd.id, RoundPhase.CLOSED, world.coordinator)  # the outcome job settles the deposits
    (settled,) = client.get("/api/v1/deposits", headers=fleet).get_json()["items"]
    assert (settled["state"], settled["forfeited"]["amount"], settled["released"]["amount"]) == (
        "forfeited", "925.92", "2777.76",
    )  # fmt: skip
    assert client.get("/api/v1/deposits", headers=auth(token_for(world.oem))).status_code == 403
