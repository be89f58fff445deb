"""Random public ids: what members see of bids, packages, deposits and allocations instead of row ids.

Row ids are global and sequential, so an OEM whose bid ids jump from 35 to 38 would learn that two
other bids arrived. Every URL, page, form and export a member sees names these objects by a random
URL-safe token; the integer primary key stays internal (foreign keys, jobs, the solver).
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

PUBLIC_ID_LENGTH = 16  # 12 random bytes, URL-safe base64


def new_public_id() -> str:
    return secrets.token_urlsafe(12)


class PublicId:
    """Mixin: a unique, indexed `public_id` filled when the row is inserted."""

    public_id: Mapped[str] = mapped_column(sa.String(PUBLIC_ID_LENGTH), unique=True, index=True, default=new_public_id)
