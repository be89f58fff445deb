"""Organization API tokens: made and revoked by the organization's people, shown once, kept as a hash.

A token is 256 random bits, so a plain SHA-256 of it is enough to keep it safe at rest (a slow
password hash protects guessable secrets; nobody guesses 256 bits) and lets every request find
its token with one indexed look-up.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import ApiToken, User
from marketplace.services import audit, clock
from marketplace.services import values as V
from marketplace.services.errors import NotFound, ValidationFailed

SCOPES = ("read", "write")
PREFIX = "zev_"
SHOWN_PREFIX = 12  # characters of the token kept in clear, so a person can tell tokens apart
# Last use is written at most once a minute per token: a busy client must not turn every read into a write.
LAST_USE_EVERY = timedelta(minutes=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


@dataclass
class NewToken:
    token: ApiToken
    secret: str  # shown to its maker once, never stored


def tokens_of(actor: User) -> list[ApiToken]:
    """The organization's tokens, newest first (revoked ones too, marked)."""
    return list(
        db.session.execute(
            sa.select(ApiToken)
            .where(ApiToken.organization_id == actor.organization_id)
            .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
        ).scalars()
    )


def create_token(actor: User, *, name: str, scope: str) -> NewToken:
    errors: dict[str, str] = {}
    name = V.text_field(name, errors, "name", max_length=V.NAME_MAX) or ""
    if not errors and not name:
        errors["name"] = "give the token a name, such as the system that will use it"
    if scope not in SCOPES:
        errors["scope"] = "choose read or write"
    if errors:
        raise ValidationFailed(
            "The token was not made: fix the fields marked below.",
            field_errors={k: v[0].upper() + v[1:] + "." for k, v in errors.items()},
        )
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        organization_id=actor.organization_id,
        created_by_id=actor.id,
        name=name,
        scope=scope,
        prefix=secret[:SHOWN_PREFIX],
        token_hash=digest(secret),
    )
    db.session.add(token)
    audit.record(actor, "api_token.create", token, summary=f"Made the {scope} API token “{name}”.",
                 after={"name": name, "scope": scope, "prefix": token.prefix})  # fmt: skip
    db.session.commit()
    return NewToken(token=token, secret=secret)


def revoke_token(token_id: int, actor: User) -> ApiToken:
    """Revoke one of the organization's tokens (another organization's does not exist for it)."""
    token = db.session.execute(
        sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.organization_id == actor.organization_id)
    ).scalar_one_or_none()
    if token is None:
        raise NotFound("No such API token.")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        audit.record(actor, "api_token.revoke", token, summary=f"Revoked the API token “{token.name}”.",
                     before={"revoked": False}, after={"revoked": True})  # fmt: skip
        db.session.commit()
    return token


def authenticate(secret: str) -> ApiToken | None:
    """The active token with this secret, whose maker is still active; None otherwise. Notes its last use."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    token = db.session.execute(sa.select(ApiToken).where(ApiToken.token_hash == digest(secret))).scalar_one_or_none()
    if token is None or token.revoked_at is not None or not token.created_by.active:
        return None
    at = clock.now()
    if token.last_used_at is None or at - token.last_used_at >= LAST_USE_EVERY:
        token.last_used_at = at
        db.session.commit()
    return token
