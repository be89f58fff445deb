"""Accounts: logging in and out, registration of fleets and OEMs, coordinators, CSRF, cookies."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace import create_app
from marketplace.extensions import db
from marketplace.models import Approval, AuditEntry, Organization, OrganizationKind, User
from tests.factories import PASSWORD, make_org, make_user

REGISTRATION = {
    "kind": "fleet",
    "org_name": "Valley Grocers",
    "country": "US",
    "user_name": "Ana Ruiz",
    "email": "ana@valley.example",
    "password": "long enough password",
    "confirm": "long enough password",
}


def count(model) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_login_reaches_the_dashboard_of_the_role(world, client):
    for user, path in ((world.coordinator, "/coordinator/"), (world.fleet, "/fleet/"), (world.oem, "/oem/")):
        client.post("/logout")
        response = client.post(
            "/login", data={"email": user.email.upper(), "password": PASSWORD}, follow_redirects=True
        )
        assert response.status_code == 200
        assert response.request.path == path


def test_wrong_password_says_so_and_keeps_the_email(world, client):
    response = client.post("/login", data={"email": world.fleet.email, "password": "nope"})
    assert response.status_code == 401
    text = response.get_data(as_text=True)
    assert "Wrong email or password." in text
    assert f'value="{world.fleet.email}"' in text
    assert client.get("/fleet/").status_code == 302  # still logged out


def test_an_inactive_user_cannot_log_in(world, client):
    world.fleet.active = False
    db.session.commit()
    assert client.post("/login", data={"email": world.fleet.email, "password": PASSWORD}).status_code == 401


def test_logout_ends_the_session(world, login):
    client = login(world.fleet)
    assert client.post("/logout").status_code == 302
    assert client.get("/fleet/").status_code == 302


def test_login_never_redirects_to_another_site(world, client):
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        client.post("/logout")
        response = client.post(f"/login?next={target}", data={"email": world.fleet.email, "password": PASSWORD})
        assert response.location == "/dashboard"
    client.post("/logout")
    response = client.post("/login?next=/fleet/", data={"email": world.fleet.email, "password": PASSWORD})
    assert response.location == "/fleet/"


def test_a_fleet_registers_its_organization_then_logs_in(client):
    response = client.post("/register", data=REGISTRATION)
    assert response.status_code == 302 and response.location == "/login"
    user = db.session.execute(sa.select(User).where(User.email == "ana@valley.example")).scalar_one()
    assert user.organization.name == "Valley Grocers"
    assert user.organization.kind is OrganizationKind.FLEET
    assert user.check_password("long enough password")
    assert user.password_hash != "long enough password"
    assert db.session.execute(sa.select(AuditEntry.action)).scalars().all() == ["organization.register"]
    assert user.organization.approval is Approval.PENDING
    response = client.post("/login", data={"email": "ana@valley.example", "password": "long enough password"})
    assert response.status_code == 302
    response = client.get("/fleet/")  # a new organization waits for a coordinator (test_organization_approval.py)
    assert response.status_code == 403 and "awaiting approval" in response.get_data(as_text=True)


def test_an_oem_registers(client):
    response = client.post("/register", data=REGISTRATION | {"kind": "oem", "email": "sales@volta.example"})
    assert response.status_code == 302
    client.post("/login", data={"email": "sales@volta.example", "password": "long enough password"})
    response = client.get("/oem/")
    assert response.status_code == 403 and "awaiting approval" in response.get_data(as_text=True)


def test_a_taken_organization_name_is_refused_with_messages_and_nothing_saved(world, client):
    make_org("fleet", name="Valley Grocers")
    orgs, users = count(Organization), count(User)
    response = client.post("/register", data=REGISTRATION)
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "An organization with this name is already registered." in text
    assert 'value="Ana Ruiz"' in text  # the form keeps what was typed
    assert (count(Organization), count(User)) == (orgs, users)


def test_registration_does_not_reveal_whether_an_email_has_an_account(world, client):
    """A taken email gets exactly the answer a new one gets; nothing is saved and the owner's password stays."""
    new = client.post("/register", data=REGISTRATION | {"org_name": "Fresh Org", "email": "new@fresh.example"})
    new_message = client.get("/login").get_data(as_text=True)
    orgs, users = count(Organization), count(User)
    taken = client.post("/register", data=REGISTRATION | {"email": world.oem.email.upper()})
    taken_message = client.get("/login").get_data(as_text=True)
    assert (taken.status_code, taken.location) == (new.status_code, new.location) == (302, "/login")
    assert taken.get_data() == new.get_data()
    assert "If it already had one, nothing changed" in taken_message
    assert taken_message == new_message
    assert (count(Organization), count(User)) == (orgs, users)
    assert db.session.execute(sa.select(Organization).where(Organization.name == "Valley Grocers")).first() is None
    db.session.expire_all()
    assert db.session.get(User, world.oem.id).check_password(PASSWORD)


def test_registration_names_every_missing_or_malformed_field(client):
    response = client.post(
        "/register", data={"kind": "", "org_name": "", "country": "", "email": "not-an-email", "password": "short"}
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    for message in (
        "Choose fleet or OEM.",
        "Choose a country",
        "Invalid email address.",
        "Use at least 10 characters.",
    ):
        assert message in text
    assert count(Organization) == 0


def test_nobody_registers_as_a_coordinator(client):
    response = client.post("/register", data=REGISTRATION | {"kind": "coordinator"})
    assert response.status_code == 400
    assert count(Organization) == 0


def test_a_coordinator_adds_a_coordinator_and_others_cannot(world, login):
    client = login(world.fleet)
    data = {"name": "Sam", "email": "sam@fec.example", "password": "another long one"}
    assert client.post("/coordinator/users/new", data=data).status_code == 403
    client = login(world.coordinator)
    assert client.post("/coordinator/users/new", data=data).status_code == 302
    sam = db.session.execute(sa.select(User).where(User.email == "sam@fec.example")).scalar_one()
    assert sam.organization_id == world.coordinator.organization_id
    response = client.post("/coordinator/users/new", data=data)
    assert "already exists" in response.get_data(as_text=True)


def test_the_cli_creates_a_coordinator(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-coordinator", "--email", "Lee@FEC.example", "--name", "Lee", "--password", "p" * 12]
    )
    assert result.exit_code == 0, result.output
    lee = db.session.execute(sa.select(User).where(User.email == "lee@fec.example")).scalar_one()
    assert lee.is_coordinator
    result = runner.invoke(
        args=["create-coordinator", "--email", "x@fec.example", "--name", "X", "--password", "short"]
    )
    assert result.exit_code == 2
    assert "password: Use at least 10 characters." in result.output


@pytest.mark.commits  # a second app: its own connection must see the test's users
def test_forms_need_a_csrf_token(app, world):
    csrf_app = create_app(dict(app.config) | {"WTF_CSRF_ENABLED": True})
    client = csrf_app.test_client()
    response = client.post("/login", data={"email": world.fleet.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "This form has expired or did not come from this site." in response.get_data(as_text=True)
    # With the token from the page it works.
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post("/login", data={"email": world.fleet.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_session_cookie_is_http_only_and_same_site(world, client):
    response = client.post("/login", data={"email": world.fleet.email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_a_users_password_is_never_stored_in_clear(app):
    user = make_user(make_org("fleet"), password="plain text pw")
    assert "plain text pw" not in user.password_hash


def test_a_user_chooses_the_time_zone_deadlines_are_shown_in(world, login):
    client = login(world.fleet)
    response = client.post("/account", data={"name": "Ana", "time_zone": "Mars/Olympus"})
    assert response.status_code == 400
    assert "Choose a time zone from the list." in response.get_data(as_text=True) or "Not a valid choice" in (
        response.get_data(as_text=True)
    )
    response = client.post("/account", data={"name": "Ana", "time_zone": "America/Los_Angeles"}, follow_redirects=True)
    assert "Deadlines are now shown in America/Los_Angeles" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, world.fleet.id).time_zone == "America/Los_Angeles"
    from datetime import UTC, datetime

    from marketplace.filters import localtime

    with client.application.test_request_context():
        from flask_login import login_user

        login_user(db.session.get(User, world.fleet.id))
        assert localtime(datetime(2027, 1, 10, 20, 0, tzinfo=UTC)) == "2027-01-10 12:00:00 PST"
