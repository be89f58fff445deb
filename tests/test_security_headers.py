"""Security headers on every response: CSP without inline script, no framing, nosniff, referrer policy,
HSTS in production, and private (logged-in) pages never stored by a browser or proxy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from marketplace import create_app, gateways
from marketplace.services import deposits
from tests.conftest import _config
from tests.deposit_helpers import deposit_round, draft_line
from tests.fake_gateway import FakeGateway

ROOT = Path(__file__).resolve().parent.parent


def _directives(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in (p.strip() for p in header.split(";")) if part}


def _assert_protected(response) -> None:
    csp = _directives(response)
    assert csp["frame-ancestors"] == "'none'"
    assert csp["script-src"].split()[0] == "'self'"
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert csp["default-src"] == "'self'" and csp["object-src"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_every_kind_of_response_carries_the_security_headers(client):
    for path, status in (
        ("/", 200),
        ("/login", 200),
        ("/register", 200),
        ("/healthz", 200),
        ("/static/css/app.css", 200),
        ("/no-such-page", 404),
        ("/fleet/", 302),
    ):
        response = client.get(path)
        assert response.status_code == status, path
        _assert_protected(response)


def test_private_pages_are_never_stored_and_public_ones_may_be(world, login):
    client = login(world.fleet)
    for path in ("/fleet/", "/account", f"/organizations/{world.fleet.organization_id}", "/payments/deposits"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
        _assert_protected(response)
    client.post("/logout")
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
    assert "no-store" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")


def test_hsts_in_production_on_https_only(app, database_url):
    https = {"base_url": "https://market.example"}
    assert "Strict-Transport-Security" not in app.test_client().get("/", **https).headers  # development
    production = create_app(_config(database_url) | {"SECURITY_HSTS": True})
    client = production.test_client()
    hsts = client.get("/", **https).headers["Strict-Transport-Security"]
    assert int(re.match(r"max-age=(\d+)", hsts).group(1)) >= 365 * 24 * 3600
    # Behind the TLS proxy the request reaches gunicorn as http with X-Forwarded-Proto.
    forwarded = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "max-age=" in forwarded.headers["Strict-Transport-Security"]


def test_production_config_asks_for_hsts():
    from marketplace.config import Config, ProductionConfig

    assert ProductionConfig.SECURITY_HSTS and not Config.SECURITY_HSTS


@pytest.mark.parametrize(
    ("js_url", "script_origin"),
    [("https://js.stripe.com/v3/", "https://js.stripe.com"), ("http://127.0.0.1:8420/js.stripe.com/v3/", None)],
)
def test_only_the_pay_page_allows_stripe_js(world, login, js_url, script_origin):
    gw = FakeGateway()
    gw.js_url = js_url
    gateways.use(gw)
    try:
        rnd = deposit_round(world)
        (dep,) = deposits.open_deposits([draft_line(rnd, world)], world.fleet)
        client = login(world.fleet)
        response = client.get(f"/payments/deposits/{dep.public_id}/pay")
        assert response.status_code == 200
        _assert_protected(response)
        csp = _directives(response)
        origin = script_origin or "http://127.0.0.1:8420"
        assert origin in csp["script-src"].split()
        assert origin in csp["frame-src"].split()
        assert "stripe" not in client.get("/payments/deposits").headers["Content-Security-Policy"]
    finally:
        gateways.use(None)


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script> block"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an inline event handler (onclick=, onsubmit=...)"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def test_no_template_or_static_page_needs_inline_script():
    """The CSP forbids inline script: a page that carries one breaks in the browser."""
    files = [*ROOT.joinpath("templates").rglob("*.html"), *ROOT.joinpath("static").glob("*.html")]
    assert files
    problems = [
        f"{path.relative_to(ROOT)}: {what}"
        for path in files
        for pattern, what in INLINE
        if pattern.search(path.read_text())
    ]
    assert problems == []


# ---------------------------------------------------------------- in the browser: the policy breaks nothing

from tests.test_deposits_localstripe import localstripe, stripe_on  # noqa: E402, F401  (fixtures)


@pytest.mark.browser
def test_pages_run_their_scripts_under_the_policy_with_no_violation(world, page, stripe_on, localstripe):  # noqa: F811
    from playwright.sync_api import expect

    from tests.browser_steps import log_in
    from tests.conftest import screenshot

    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    rnd = deposit_round(world)
    (dep,) = deposits.open_deposits([draft_line(rnd, world)], world.fleet)

    log_in(page, world.fleet.email)
    expect(page).to_have_url("/fleet/")
    page.goto(f"/payments/deposits/{dep.public_id}/pay")
    # Stripe.js (here localstripe's) loaded from its origin and pay.js enabled the card form.
    expect(page.locator("#pay-button")).to_be_enabled()
    expect(page.locator("#stripe-missing")).to_be_hidden()
    screenshot(page, "pay-page-under-csp")
    # The error page's "Go back" (static JS, no javascript: URL) returns to the pay page.
    page.goto("/no-such-page")
    page.get_by_role("link", name="Go back").click()
    expect(page).to_have_url(f"/payments/deposits/{dep.public_id}/pay")
    assert violations == []
