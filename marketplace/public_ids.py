"""URL converters for the objects members address by random public id (models/public_id.py).

`<bid:bid_id>` matches a public id and hands the view the row's integer id, so views and services keep
working on ids and keep their organization filters: an unknown public id becomes 0, which no row has,
and the service answers exactly as it does for another organization's object (404). url_for takes
the object, its public id, or (for code not yet moved) its integer id.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from werkzeug.routing import BaseConverter

from marketplace.extensions import db
from marketplace.models import Allocation, Backup, Bid, Deposit, PackageBid


class _PublicIdConverter(BaseConverter):
    model: Any
    regex = r"[A-Za-z0-9_-]{8,32}"

    def to_python(self, value: str) -> int:
        return db.session.execute(sa.select(self.model.id).where(self.model.public_id == value)).scalar() or 0

    def to_url(self, value: Any) -> str:
        if isinstance(value, int):
            value = db.session.execute(sa.select(self.model.public_id).where(self.model.id == value)).scalar_one()
        elif not isinstance(value, str):
            value = value.public_id
        return super().to_url(value)


def _converter(model: Any) -> type[BaseConverter]:
    return type(f"{model.__name__}Converter", (_PublicIdConverter,), {"model": model})


CONVERTERS = {
    "bid": _converter(Bid),
    "package": _converter(PackageBid),
    "deposit": _converter(Deposit),
    "allocation": _converter(Allocation),
    "backup": _converter(Backup),
}


def init_app(app: Any) -> None:
    """Register before the blueprints: a rule is compiled with its converters when it is added."""
    app.url_map.converters.update(CONVERTERS)
