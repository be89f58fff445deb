"""The JSON API /api/v1 for fleets', OEMs' and coordinators' own systems.

Built on flask-smorest: marshmallow schemas parse each request and describe it in the OpenAPI
3.1 document (/api/v1/openapi.json) from the same code, so the description cannot drift from
what the views accept. Views are thin: they parse, call one service function as the token's
actor, and shape the answer; every rule stays in marketplace/services.

Conventions: `Authorization: Bearer <token>` (organization API tokens, read or write scope);
errors as RFC 9457 problem details naming the field (problems.py); an Idempotency-Key on every
POST (idempotency.py); cursor pagination (pagination.py); a rate limit per token; money as a
decimal string with its currency; instants in RFC 3339 with their offset.
"""

from __future__ import annotations

import hashlib
import time
from http import HTTPStatus

from flask import Flask, current_app, g, request
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint
from flask_smorest.utils import prepare_response
from limits import parse as parse_limit

from marketplace.api.problems import CONTENT_TYPE, problem
from marketplace.api.schemas import ProblemSchema
from marketplace.extensions import csrf, limiter

PREFIX = "/api/v1"

DESCRIPTION = """\
The marketplace's JSON API for members' own systems: fleets post and commit demand, OEMs bid,
coordinators run rounds, pooling and award scenarios. The same rules and access as the web
pages apply: another organization's object answers 404.

**Authentication**: an organization API token (made on the account page, or with
`flask create-api-token --email USER --scope read|write`), sent as `Authorization: Bearer <token>`.
A read token cannot change anything (403).

**Errors** are RFC 9457 problem details (`application/problem+json`): `errors[].pointer` is the JSON
pointer of the field in your request body (`/lines/3/max_unit_price`), `errors[].parameter` a query,
path or header parameter.

**Retries**: send an `Idempotency-Key` header with every POST; the same key with the same request
returns the first answer (header `Idempotent-Replayed: true`) and changes nothing again.

**Lists** are pages: pass `next_cursor` as `?cursor=` for the next page (`limit` 1-500).

**Values**: money is a decimal string with a point (`"185000.50"`) and its currency; quantities are
integers; quarters are written `2027Q2`; instants are RFC 3339 with their offset.
"""


class Api(SmorestApi):
    """flask-smorest's Api with problem details as the documented error body, and the app's own error handlers."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        for status in HTTPStatus:
            response: dict = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "A problem (RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, CONTENT_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)

    def _register_error_handlers(self) -> None:
        # marketplace/errors.py answers every error, with problem details under /api/ (problems.py).
        pass


api = Api()


def _token_key() -> str:
    """The rate-limit counter of a request: its token (hashed; never the token itself), else its address."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return "api-token:" + hashlib.sha256(header[7:].strip().encode("utf-8", "replace")).hexdigest()[:32]
    return "api-address:" + (request.remote_addr or "")


def _rate_limit_breached(limit) -> object:
    wait = max(1, int(limit.reset_at - time.time()))
    return problem(429, f"Too many requests with this token (at most {limit.limit}): retry in {wait} s.",
                   headers={"Retry-After": str(wait)})  # fmt: skip


def _count_failure():
    """Unknown tokens are counted per address (the per-token limit cannot: each guess is a new token); past
    API_AUTH_FAILURE_LIMIT the address gets 429 until the window ends. A valid token is never held back by it."""
    limit = parse_limit(current_app.config["API_AUTH_FAILURE_LIMIT"])
    if limiter.limiter.hit(limit, "api-unknown-token", request.remote_addr or ""):
        return None
    reset_at, _ = limiter.limiter.get_window_stats(limit, "api-unknown-token", request.remote_addr or "")
    wait = max(1, int(reset_at - time.time()))
    return problem(429, f"Too many requests with unknown API tokens from your address: retry in {wait} s.",
                   headers={"Retry-After": str(wait)})  # fmt: skip


def _authenticate():
    """Every API request carries a live token; writes need a write token. Sets g.api_token and g.api_actor."""
    from marketplace.services import api_tokens

    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return problem(401, "Send an organization API token as 'Authorization: Bearer <token>'.",
                       headers={"WWW-Authenticate": 'Bearer realm="api"'})  # fmt: skip
    token = api_tokens.authenticate(secret.strip())
    if token is None:
        if refused := _count_failure():
            return refused
        return problem(401, "This API token is unknown or was revoked.",
                       headers={"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'})  # fmt: skip
    if request.method not in ("GET", "HEAD", "OPTIONS") and not token.can_write:
        return problem(403, "This token may only read: make a write token on the account page to change anything.")
    g.api_token = token
    g.api_actor = token.created_by
    return None


def blueprint(name: str, description: str) -> Blueprint:
    """An API blueprint: token required, CSRF exempt (a bearer token cannot be sent by another site's
    form; the API never reads the session cookie), and one rate limit per token shared by all of them."""
    bp = Blueprint("api_v1_" + name, __name__, url_prefix=PREFIX, description=description)
    bp.before_request(_authenticate)
    csrf.exempt(bp)
    limiter.shared_limit(
        lambda: current_app.config["API_RATE_LIMIT"], scope="api", key_func=_token_key, on_breach=_rate_limit_breached
    )(bp)
    return bp


def init_app(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "ZEV Marketplace API")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "info": {"description": DESCRIPTION},
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "description": "organization API token"}
                }
            },
            "security": [{"bearer": []}],
        },
    )
    api.init_app(app)
    # Schemas by their name alone (no "Schema" suffix trimming surprises) are registered as they are used.
    from marketplace.api import coordinator, docs, fleet, oem, oem_catalog, oem_quarters, rounds  # noqa: F401

    # oem_catalog and oem_quarters add their routes to the OEM blueprint before it is registered

    for module in (rounds, fleet, oem, coordinator):
        api.register_blueprint(module.bp)
    app.register_blueprint(docs.bp)
