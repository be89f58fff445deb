"""HTTP security headers on every response (Flask-Talisman) and no-store on private pages.

The Content-Security-Policy allows scripts from this site only (and Stripe.js on the pay page):
no template carries an inline script or event handler (tests/test_security_headers.py checks).
Inline *style* attributes stay allowed: progress bars set their width that way, and a style cannot
run code.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, g, request
from flask_login import current_user
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

# Stripe.js and its card element need these origins, on the pay page only
# (https://docs.stripe.com/security/guide#content-security-policy).
STRIPE_SCRIPT = ("https://js.stripe.com",)
STRIPE_FRAMES = ("https://js.stripe.com", "https://hooks.stripe.com")
STRIPE_CONNECT = ("https://api.stripe.com",)

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",  # Bootstrap draws its icons as data: SVGs
    "connect-src": "'self'",
    "frame-src": "'none'",
    "frame-ancestors": "'none'",  # no page of ours inside another site's frame (clickjacking)
    "form-action": "'self'",
    "base-uri": "'self'",
    "object-src": "'none'",
}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _header(policy: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in policy.items())


def allow_stripe_js(js_url: str | None) -> None:
    """The pay page: let this response load Stripe.js from `js_url` (Stripe's, or a local fake's)."""
    if not js_url:
        return
    if js_url.startswith("https://js.stripe.com/"):
        scripts, frames, connect = STRIPE_SCRIPT, STRIPE_FRAMES, STRIPE_CONNECT
    else:  # a local fake Stripe (tests, the offline demo) serves Stripe.js and the API itself
        scripts = frames = connect = (_origin(js_url),)
    g.csp_extra = {"script-src": scripts, "frame-src": frames, "connect-src": connect}


def init_app(app: Flask) -> None:
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        # The client's address and scheme as the proxy saw them (login limits per address, HSTS).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    # Registered before Talisman's, so it runs after it (Flask runs after_request in reverse order).
    @app.after_request
    def widen_policy_for_stripe(response):
        extra = g.pop("csp_extra", None)  # g may outlive the request (tests share one app context)
        if extra:
            policy = dict(POLICY)
            for name, origins in extra.items():
                kept = [] if policy[name] == "'none'" else [policy[name]]
                policy[name] = " ".join([*kept, *origins])
            response.headers["Content-Security-Policy"] = _header(policy)
        return response

    Talisman(
        app,
        # TLS ends at the proxy in front of gunicorn; the proxy redirects http to https.
        force_https=False,
        frame_options="DENY",
        content_security_policy=POLICY,
        referrer_policy="strict-origin-when-cross-origin",
        # Sent on https requests only (Talisman's rule), and only when the config asks (production).
        strict_transport_security=bool(app.config.get("SECURITY_HSTS")),
        strict_transport_security_include_subdomains=False,
        # The cookie flags stay those of config.py (Secure in production only).
        session_cookie_secure=bool(app.config.get("SESSION_COOKIE_SECURE")),
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
        x_content_type_options=True,
    )

    @app.after_request
    def no_store_private_pages(response):
        # A logged-in page holds an organization's private data: no browser or proxy may keep it
        # (the back button after logout, a shared computer).
        if request.endpoint != "static" and current_user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
        return response
