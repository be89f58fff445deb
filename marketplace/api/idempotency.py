"""Idempotency keys on every POST: a retried request (same key, same request) gets the first answer again
and changes nothing a second time.

The key is stored per organization before the work starts (a unique row), so two copies of one
request arriving together cannot both run: the second answers 409 until the first is done. The
answer (status and body) is stored once the work is done; a server error stores nothing, so a
retry runs again. The same key with a different request is refused (422).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

import sqlalchemy as sa
from flask import Response, g, make_response, request
from sqlalchemy.exc import IntegrityError

from marketplace.api.problems import from_domain_error, problem
from marketplace.extensions import db
from marketplace.models import IdempotentRequest
from marketplace.services.errors import DomainError

HEADER = "Idempotency-Key"
KEY_PATTERN = r"^[A-Za-z0-9_.:\-]{1,200}$"
_KEY = re.compile(KEY_PATTERN)

PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "description": "A key of your choice (e.g. a UUID), unique per request: retrying with the same key and the "
    "same request returns the first answer and changes nothing again. Kept 24 hours at least.",
    "schema": {"type": "string", "pattern": KEY_PATTERN},
}


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode("latin-1")):
        digest.update(part.encode() + b"\0")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(row: IdempotentRequest) -> Response:
    response = Response(row.body or "", status=row.status or 200, content_type=row.content_type or "application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a POST view (outside flask-smorest's argument and response decorators)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not _KEY.match(key):
            return problem(400, f"{HEADER} must be 1 to 200 letters, digits or . _ : -",
                           errors=[{"parameter": HEADER, "in": "header", "detail": "is not a valid key"}])  # fmt: skip
        org_id = g.api_actor.organization_id
        fingerprint = _fingerprint()
        row = IdempotentRequest(organization_id=org_id, key=key, fingerprint=fingerprint)
        db.session.add(row)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            found = db.session.execute(
                sa.select(IdempotentRequest).where(
                    IdempotentRequest.organization_id == org_id, IdempotentRequest.key == key
                )
            ).scalar_one()
            if found.fingerprint != fingerprint:
                return problem(422, f"This {HEADER} was already used for another request: use a new key.",
                               errors=[{"parameter": HEADER, "in": "header", "detail": "was used for another request"}])  # fmt: skip
            if found.status is None:
                return problem(409, "The first request with this key is still being answered: retry in a moment.")
            return _replay(found)
        row_id = row.id
        try:
            try:
                response = make_response(view(*args, **kwargs))
            except DomainError as exc:
                db.session.rollback()  # nothing half-written survives a refused request
                response = from_domain_error(exc)
        except Exception:
            db.session.rollback()
            db.session.execute(sa.delete(IdempotentRequest).where(IdempotentRequest.id == row_id))
            db.session.commit()
            raise
        if response.status_code >= 500:
            db.session.execute(sa.delete(IdempotentRequest).where(IdempotentRequest.id == row_id))
        else:
            db.session.execute(
                sa.update(IdempotentRequest)
                .where(IdempotentRequest.id == row_id)
                .values(
                    status=response.status_code,
                    body=response.get_data(as_text=True),
                    content_type=response.content_type,
                )
            )
        db.session.commit()
        return response

    return wrapped
