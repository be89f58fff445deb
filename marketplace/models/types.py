"""Column types shared by the models."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import sqlalchemy as sa
from sqlalchemy.orm import mapped_column


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Instants stored in UTC and always returned time-zone aware (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store aware UTC instants only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_column(enum_cls: type[enum.Enum], **kw: Any) -> Any:
    """A string column holding an enum's values (portable, readable in SQL and exports)."""
    return mapped_column(
        sa.Enum(
            enum_cls,
            native_enum=False,
            create_constraint=False,
            length=max(len(m.value) for m in enum_cls),
            values_callable=lambda e: [m.value for m in e],
        ),
        **kw,
    )


Money = Annotated[Decimal, mapped_column(sa.Numeric(14, 2))]
