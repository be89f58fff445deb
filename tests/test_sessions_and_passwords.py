"""Logout and a password change end sessions on the server; the password policy refuses common passwords
and passwords made of the user's email or organization name."""

from __future__ import annotations

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import AuditEntry, Organization, User
from marketplace.services import accounts
from marketplace.services.demo import DEMO_PASSWORD
from tests.factories import PASSWORD
from tests.test_auth import REGISTRATION


def _copy_session(client, app):
    """Another browser holding a copy of this browser's session cookie (stolen, or saved before logout)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def _visit(client, path: str):
    """A request in an app context of its own, as on a server (the test's shared context would keep the
    user flask-login loaded for another client in `g`)."""
    with client.application.app_context():
        return client.get(path)


def test_a_session_cookie_copied_before_logout_is_refused_after_it(app, world, login):
    client = login(world.fleet)
    thief = _copy_session(client, app)
    assert _visit(thief, "/fleet/").status_code == 200  # the copy works while the session is on
    assert client.post("/logout").status_code == 302
    response = _visit(thief, "/fleet/")
    assert response.status_code == 302 and response.location.startswith("/login")
    # Logging in again opens a new session; the old copy stays refused.
    login(world.fleet)
    assert _visit(thief, "/fleet/").status_code == 302


def test_changing_the_password_ends_every_other_session(app, world, login):
    client = login(world.fleet)
    other_device = _copy_session(client, app)
    response = client.post(
        "/account/password", data={"current": PASSWORD, "new": "a brand new phrase", "confirm": "a brand new phrase"}
    )
    assert response.status_code == 302
    assert _visit(client, "/fleet/").status_code == 200  # this browser stays in
    assert _visit(other_device, "/fleet/").status_code == 302
    client.post("/logout")
    assert client.post("/login", data={"email": world.fleet.email, "password": PASSWORD}).status_code == 401
    assert client.post("/login", data={"email": world.fleet.email, "password": "a brand new phrase"}).status_code == 302
    actions = db.session.execute(sa.select(AuditEntry.action)).scalars().all()
    assert "user.password" in actions


def test_a_password_change_needs_the_current_password_and_a_good_new_one(world, login):
    client = login(world.fleet)
    for data, message in (
        ({"current": "not it", "new": "a brand new phrase"}, "This is not your current password."),
        ({"current": PASSWORD, "new": "password123"}, "one of the most common"),
        ({"current": PASSWORD, "new": PASSWORD}, "different from the current one"),
    ):
        response = client.post("/account/password", data=data | {"confirm": data["new"]})
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, world.fleet.id).check_password(PASSWORD)
    assert client.get("/fleet/").status_code == 200  # a refused change ends nothing


def _register(client, **changes):
    data = REGISTRATION | changes
    data["confirm"] = data["password"]
    return client.post("/register", data=data)


def test_registration_refuses_common_passwords_with_a_message_on_the_field(client):
    for password in ("password123", "Password1234", "qwertyuiop", "1234567890"):
        response = _register(client, password=password)
        assert response.status_code == 400, password
        assert "one of the most common ones" in response.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(Organization.id))).scalar_one() == 0


def test_registration_refuses_a_password_containing_the_email_or_organization_name(client):
    response = _register(client, email="ana.ruiz@valley.example", password="Ana.Ruiz2027!")
    assert response.status_code == 400
    assert "must not contain your email address" in response.get_data(as_text=True)
    response = _register(client, org_name="Valley Grocers", password="valley-grocers-2027")
    assert response.status_code == 400
    assert "must not contain your organization" in response.get_data(as_text=True)
    assert _register(client).status_code == 302  # "long enough password" is fine


def test_coordinator_accounts_follow_the_same_policy(app):
    result = app.test_cli_runner().invoke(
        args=["create-coordinator", "--email", "lee@fec.example", "--name", "Lee", "--password", "iloveyou12"]
    )
    assert result.exit_code == 2
    assert "most common" in result.output


def test_the_demo_password_passes_the_policy():
    for email, org in (
        ("coordinator@fec.example", "Fleet Electrification Coalition"),
        ("ops@parcelo.example", "Parcelo Express"),
        ("sales@blue-bird.example", "Blue Bird"),
    ):
        assert accounts.password_problem(DEMO_PASSWORD, email=email, org_name=org) is None
