"""Cursor pagination: a page is the next `limit` rows after the last id seen, in id order.

The cursor is opaque: the last id and the list it belongs to (the request path), encrypted and
authenticated with a key derived from the app's SECRET_KEY (Fernet), so a client reads no
internal id from it (a bid list's cursor would otherwise tell how many bids the market holds) and
cannot forge one or carry it to another list. It is stable under inserts (new rows come after it,
none is skipped or repeated) and costs one indexed range scan, however deep the page.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app, request
from marshmallow import Schema, ValidationError, fields, validate, validates

from marketplace.extensions import db
from marketplace.services.values import ID_MAX

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
NOT_OURS = "is not a cursor this API gave out for this list: use next_cursor of its previous page"


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    # A key of its own, derived from SECRET_KEY: a cursor can never be read as a session or CSRF token.
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"api page cursor\0" + secret_key.encode()).digest()))


def encode(last_id: int) -> str:
    token = _fernet(current_app.secret_key).encrypt(f"{request.path}\0{last_id}".encode())
    return token.decode("ascii").rstrip("=")


def decode(cursor: str) -> int:
    """The id a cursor of this list continues after; ValueError if it is not one this API gave out for it."""
    try:
        text = _fernet(current_app.secret_key).decrypt(cursor + "=" * (-len(cursor) % 4)).decode()
    except (InvalidToken, ValueError, TypeError):
        raise ValueError(NOT_OURS) from None
    path, _, number = text.rpartition("\0")
    if path != request.path or not number.isdigit() or int(number) > ID_MAX:
        raise ValueError(NOT_OURS)
    return int(number)


class PageArgs(Schema):
    cursor = fields.String(
        load_default=None,
        validate=validate.Length(max=400),
        metadata={"description": "next_cursor of the previous page; omit it for the first page"},
    )
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"rows per page, 1 to {MAX_LIMIT}"},
    )

    @validates("cursor")
    def _cursor(self, value: str | None, **_: Any) -> None:
        if value is not None:
            try:
                decode(value)
            except ValueError as exc:
                raise ValidationError(str(exc)) from None


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None

    def body(self, items: list[Any]) -> dict[str, Any]:
        """The response of this page (page_schema): `items`, this page's rows as the API shows them."""
        return {"items": items, "next_cursor": self.next_cursor}


def page(query: sa.Select[Any], id_column: Any, args: dict[str, Any], *, scalars: bool = True) -> Page:
    """Run `query` for one page after the cursor, ordered by `id_column` (the query must not order itself)."""
    limit = args.get("limit") or DEFAULT_LIMIT
    cursor = args.get("cursor")
    if cursor:
        query = query.where(id_column > decode(cursor))
    result = db.session.execute(query.order_by(None).order_by(id_column).limit(limit + 1))
    rows = list(result.scalars() if scalars else result.all())
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    if last is not None and more:
        last_id = last.id if scalars else last[0].id
        return Page(items=rows, next_cursor=encode(last_id))
    return Page(items=rows, next_cursor=None)


def page_schema(item: type[Schema] | Schema, name: str) -> type[Schema]:
    """The schema of one page of `item`s: {items: [...], next_cursor: str | null}."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(
                required=True,
                allow_none=True,
                metadata={"description": "pass as ?cursor= for the next page; null at the end"},
            ),
        },
        name=name,
    )
