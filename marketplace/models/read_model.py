"""Figures computed once and read many times (services/read_models.py): stored documents and the
data versions that say whether a stored document is still true."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db
from marketplace.models.types import UTCDateTime


class DataVersion(db.Model):
    """How many committed transactions changed a round's data (scope = the round's id), or data every
    round reads, such as organizations and the catalog (scope 0). Raised in the writing transaction."""

    __tablename__ = "data_version"

    scope_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class ReadModel(db.Model):
    """One computed document of a round (the report, a scenario's figures, the OCDS package...),
    with the data versions and the round's phase it was computed from."""

    __tablename__ = "read_model"

    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(300), primary_key=True)
    round_version: Mapped[int] = mapped_column(sa.BigInteger)
    shared_version: Mapped[int] = mapped_column(sa.BigInteger)
    phase: Mapped[str] = mapped_column(sa.String(40))
    body: Mapped[str] = mapped_column(sa.Text)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
