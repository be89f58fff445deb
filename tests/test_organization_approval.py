"""New fleets and OEMs wait for a coordinator's approval: a queue on the members page, approve or reject
(audited); until approved the applicant sees "awaiting approval" and the services refuse its actions."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import Approval, AuditEntry, Organization, RoundPhase
from marketplace.services import bidding, catalog, demand
from marketplace.services.errors import Conflict, Forbidden
from tests.demand_helpers import open_round, valid_values
from tests.factories import make_round
from tests.test_auth import REGISTRATION

PASSWORD = REGISTRATION["password"]


def _register(client, kind: str, name: str, email: str) -> Organization:
    response = client.post("/register", data=REGISTRATION | {"kind": kind, "org_name": name, "email": email})
    assert response.status_code == 302
    return db.session.execute(sa.select(Organization).where(Organization.name == name)).scalar_one()


def _as(client, email: str, password: str):
    client.post("/logout")
    assert client.post("/login", data={"email": email, "password": password}).status_code == 302
    return client


def test_an_applicant_sees_awaiting_approval_and_cannot_act(world, client):
    rnd = open_round(world, region_ids=["US-CA"])
    org = _register(client, "fleet", "Valley Grocers", "ana@valley.example")
    assert org.approval is Approval.PENDING
    _as(client, "ana@valley.example", PASSWORD)
    for path in ("/dashboard", "/fleet/", f"/fleet/rounds/{rnd.id}", "/payments/deposits"):
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 403, path
        assert "Valley Grocers: awaiting approval" in response.get_data(as_text=True), path
    # Not by the pages only: the services refuse it as well.
    with pytest.raises(Forbidden, match="awaiting approval"):
        demand.create_line(rnd.id, valid_values(), org.users[0])
    assert client.post(f"/fleet/rounds/{rnd.id}/lines/new", data={}).status_code == 403


def test_an_oem_applicant_cannot_keep_a_catalog_state_capacity_or_bid(world, client):
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN)
    org = _register(client, "oem", "Volta Trucks", "sales@volta.example")
    user = org.users[0]
    with pytest.raises(Forbidden, match="awaiting approval"):
        catalog.create_model({}, user)
    with pytest.raises(Forbidden, match="awaiting approval"):
        bidding.set_capacity(rnd.id, 10, user)
    _as(client, "sales@volta.example", PASSWORD)
    response = client.get("/oem/")
    assert response.status_code == 403 and "awaiting approval" in response.get_data(as_text=True)


def test_a_coordinator_approves_from_the_queue_and_the_applicant_can_act(world, client, login):
    rnd = open_round(world, region_ids=["US-CA"])
    org = _register(client, "fleet", "Valley Grocers", "ana@valley.example")
    coordinator = login(world.coordinator)
    page = coordinator.get("/coordinator/organizations").get_data(as_text=True)
    assert "Awaiting approval (1)" in page and f'data-pending-org="{org.id}"' in page and "ana@valley.example" in page
    response = coordinator.post(f"/coordinator/organizations/{org.id}/approve")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Organization, org.id).approval is Approval.APPROVED
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "organization.approve")).scalar_one()
    assert entry.actor_id == world.coordinator.id and entry.after == {"approval": "approved"}
    assert "Awaiting approval" not in coordinator.get("/coordinator/organizations").get_data(as_text=True)
    # Deciding twice is refused, and the decision stands.
    assert coordinator.post(f"/coordinator/organizations/{org.id}/reject").status_code == 409
    applicant = _as(client, "ana@valley.example", PASSWORD)
    assert applicant.get("/fleet/").status_code == 200
    line = demand.create_line(rnd.id, valid_values(), db.session.get(Organization, org.id).users[0])
    assert line.organization_id == org.id


def test_a_rejected_applicant_is_told_and_stays_unable_to_act(world, client, login):
    org = _register(client, "oem", "Volta Trucks", "sales@volta.example")
    assert login(world.coordinator).post(f"/coordinator/organizations/{org.id}/reject").status_code == 302
    assert db.session.execute(sa.select(AuditEntry.action).where(AuditEntry.action == "organization.reject")).first()
    applicant = _as(client, "sales@volta.example", PASSWORD)
    response = applicant.get("/oem/")
    assert response.status_code == 403 and "was not approved" in response.get_data(as_text=True)


def test_only_a_coordinator_decides(world, client, login):
    org = _register(client, "fleet", "Valley Grocers", "ana@valley.example")
    for user in (world.fleet, world.oem):
        assert login(user).post(f"/coordinator/organizations/{org.id}/approve").status_code == 403
    from marketplace.services import accounts

    with pytest.raises(Forbidden):
        accounts.decide_organization(world.fleet, org.id, approve=True)
    db.session.expire_all()
    assert db.session.get(Organization, org.id).approval is Approval.PENDING
    with pytest.raises(Conflict):
        accounts.decide_organization(world.coordinator, world.fleet.organization_id, approve=False)


def test_organizations_made_by_the_demo_and_factories_are_approved(world):
    assert {o.approval for o in db.session.execute(sa.select(Organization)).scalars()} == {Approval.APPROVED}
