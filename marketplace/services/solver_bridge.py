"""Database rows <-> the solver's documents (shared/design/solver-io.md). The only module that knows both.

Ids in the documents are stable strings built from row ids ("line-12", "org-3", "lot-5"),
and every list is in id order, so the same round always gives the same input bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import DemandLine, DemandStatus, PoolingRun, Region, Round


def line_key(line_id: int) -> str:
    return f"line-{line_id}"


def org_key(org_id: int) -> str:
    return f"org-{org_id}"


def parse_key(key: str, prefix: str) -> int:
    """ "line-12" -> 12; a key the bridge did not make is a bug, not input to forgive."""
    kind, _, number = key.partition("-")
    if kind != prefix or not number.isdigit():
        raise ValueError(f"unexpected {prefix} key {key!r} in a solver result")
    return int(number)


def _region_rows(region_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The region nodes the lines use and all their ancestors, as the solver's tree."""
    parents = dict(db.session.execute(sa.select(Region.id, Region.parent_id)).all())
    needed: set[str] = set()
    for region_id in region_ids:
        node: str | None = region_id
        while node is not None and node not in needed:
            needed.add(node)
            node = parents.get(node)
    return [{"code": code, "parent": parents[code]} for code in sorted(needed)]


def committed_lines(round_id: int) -> list[DemandLine]:
    return list(
        db.session.execute(
            sa.select(DemandLine)
            .where(DemandLine.round_id == round_id, DemandLine.status == DemandStatus.COMMITTED)
            .order_by(DemandLine.id)
        ).scalars()
    )


def _price(value: Decimal) -> int | Decimal:
    return int(value) if value == value.to_integral_value() else value


def pooling_input(rnd: Round, run: PoolingRun) -> dict[str, Any]:
    """The pooling document of a round's committed demand under the run's rules."""
    lines = committed_lines(rnd.id)
    return {
        "rules": {
            "min_lot_quantity": run.min_lot_quantity,
            "max_lot_quantity": run.max_lot_quantity,
            "max_levels_up": run.max_levels_up,
        },
        "regions": _region_rows({line.region_id for line in lines}),
        "demand": [
            {
                "id": line_key(line.id),
                "fleet": org_key(line.organization_id),
                "segment": line.segment_id,
                "region": line.region_id,
                "quantity": line.quantity,
                "window": {"earliest": line.earliest_quarter, "latest": line.latest_quarter},
                "requirements": {
                    "min_range_km": line.min_range_km,
                    "min_payload_kg": line.min_payload_kg,
                    "charging": sorted(line.charging),
                },
                "max_unit_price": _price(line.max_unit_price),
                "splittable": line.splittable,
            }
            for line in lines
        ],
    }
