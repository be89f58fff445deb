"""Guessing passwords: failed logins are limited per account and per address (429 with a clear page),
and an unknown email costs the same password check as a known one."""

from __future__ import annotations

import os
import uuid

import pytest

from marketplace import create_app
from marketplace.services import accounts
from tests.conftest import _config
from tests.factories import PASSWORD, make_org, make_user


@pytest.fixture
def limits(app):
    app.config.update(LOGIN_LIMIT_PER_ACCOUNT="3 per 15 minutes", LOGIN_LIMIT_PER_ADDRESS="5 per 15 minutes")
    return app


def _fail(client, email: str, address: str = "10.0.0.1"):
    return client.post(
        "/login", data={"email": email, "password": "not the password"}, environ_base={"REMOTE_ADDR": address}
    )


def _login(client, email: str, address: str = "10.0.0.1"):
    return client.post("/login", data={"email": email, "password": PASSWORD}, environ_base={"REMOTE_ADDR": address})


def test_an_account_is_paused_after_failed_logins_even_with_the_right_password(world, limits, client):
    for _ in range(3):
        assert _fail(client, world.fleet.email).status_code == 401
    # Another address, same account: still paused (guessing from many addresses does not help).
    response = _login(client, world.fleet.email.upper(), address="10.9.9.9")
    assert response.status_code == 429
    text = response.get_data(as_text=True)
    assert "Too many failed logins for this account" in text and "wait 15 minutes" in text
    assert int(response.headers["Retry-After"]) > 0
    assert client.get("/fleet/").status_code == 302  # not logged in
    # Other accounts are not affected.
    assert _login(client, world.oem.email).status_code == 302


def test_an_address_is_paused_after_failed_logins_on_many_accounts(world, limits, client):
    for n in range(5):
        assert _fail(client, f"guess{n}@example.com", address="10.0.0.7").status_code == 401
    response = _login(client, world.fleet.email, address="10.0.0.7")
    assert response.status_code == 429
    assert "Too many failed logins from your network address" in response.get_data(as_text=True)
    # Someone else, elsewhere, logs in as usual.
    assert _login(client, world.fleet.email, address="10.0.0.8").status_code == 302


def test_successful_logins_are_not_counted(world, limits, client):
    for _ in range(6):
        assert _login(client, world.fleet.email).status_code == 302
        client.post("/logout")


def test_the_default_limits_stop_the_reported_attack(world, client):
    """50 wrong passwords then the right one (issue 13): the right one no longer gets in."""
    statuses = {_fail(client, world.fleet.email).status_code for _ in range(50)}
    assert statuses == {401, 429}
    assert _login(client, world.fleet.email).status_code == 429


def test_registrations_are_limited_per_address(app, client):
    app.config["REGISTER_LIMIT_PER_ADDRESS"] = "2 per hour"
    data = {"kind": "fleet", "org_name": "", "country": "", "user_name": "", "email": "", "password": ""}
    for _ in range(2):
        assert client.post("/register", data=data).status_code == 400
    response = client.post("/register", data=data)
    assert response.status_code == 429
    assert "Too many registrations" in response.get_data(as_text=True)


@pytest.mark.skipif(not os.environ.get("REDIS_TEST_URL"), reason="needs REDIS_TEST_URL (CI sets it)")
@pytest.mark.commits  # a second app: its own connection must see the test's users
def test_the_counters_live_in_redis_when_configured(world, database_url):
    """Production: every web host counts in the one Redis, so guessing on several hosts does not help."""
    import redis

    url = os.environ["REDIS_TEST_URL"]
    app = create_app(
        _config(database_url) | {"RATELIMIT_STORAGE_URI": url, "LOGIN_LIMIT_PER_ACCOUNT": "3 per 15 minutes"}
    )
    client = app.test_client()
    email, address = f"{uuid.uuid4().hex}@example.com", f"10.{uuid.uuid4().int % 250}.0.1"
    make_user(make_org("fleet"), email=email)
    for _ in range(3):
        assert _fail(client, email, address).status_code == 401
    assert _login(client, email, address).status_code == 429
    keys = redis.Redis.from_url(url).keys(f"*account:{email}*")
    assert keys, "the per-account counter is not in Redis"


def test_an_unknown_email_costs_the_same_password_check_as_a_known_one(app, world, monkeypatch):
    checked: list[str] = []
    real = accounts.check_password_hash

    def counting(stored: str, password: str) -> bool:
        checked.append(stored.split("$", 1)[0])  # the hash method and its cost
        return real(stored, password)

    monkeypatch.setattr(accounts, "check_password_hash", counting)
    assert accounts.authenticate(world.fleet.email, "wrong password") is None
    assert accounts.authenticate("nobody@nowhere.example", "wrong password") is None
    inactive = make_user(make_org("fleet"))
    inactive.active = False
    assert accounts.authenticate(inactive.email, PASSWORD) is None
    assert len(checked) == 3 and len(set(checked)) == 1, checked


@pytest.mark.commits  # a second app: its own connection must see the test's users
def test_the_unknown_email_check_uses_the_production_hash(database_url):
    """Without PASSWORD_HASH_METHOD (production) both sides use werkzeug's default, scrypt."""
    production = create_app(_config(database_url) | {"PASSWORD_HASH_METHOD": None})
    with production.app_context():
        from werkzeug.security import generate_password_hash

        dummy = accounts._unknown_user_hash(None)
        assert dummy.split("$", 1)[0] == generate_password_hash("x").split("$", 1)[0]


@pytest.mark.commits  # a second app: its own connection must see the test's users
def test_behind_the_proxy_the_client_address_is_counted(world, database_url):
    app = create_app(_config(database_url) | {"TRUSTED_PROXIES": 1, "LOGIN_LIMIT_PER_ADDRESS": "2 per 15 minutes"})
    client = app.test_client()

    def fail(client_address: str):
        return client.post(
            "/login",
            data={"email": f"{uuid.uuid4().hex}@example.com", "password": "x"},
            headers={"X-Forwarded-For": client_address},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},  # the proxy
        )

    assert [fail("203.0.113.5").status_code for _ in range(3)] == [401, 401, 429]
    assert fail("203.0.113.6").status_code == 401  # another client behind the same proxy
