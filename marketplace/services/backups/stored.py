"""The solver's backups kept as rows of the award scenario, in the award job's transaction."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import (
    AwardScenario,
    Backup,
    BackupAllocation,
    LotMember,
)
from marketplace.services import solver_bridge
from marketplace.services.backups.rules import _money

# ---------------------------------------------------------------- kept with the scenario (the award job)


def save(scenario: AwardScenario, entries: list[dict[str, Any]], offers: Any) -> list[Backup]:
    """The solver's `backups` as rows of the scenario, in the award job's transaction (no commit).

    `offers` is the bidding.bids_for_award the input was built from: a replacement source is a bid
    of that input (packages are not reused), priced as the solver says.
    """
    if not entries:
        return []
    members = {
        solver_bridge.member_key(m.id): m
        for m in db.session.execute(
            sa.select(LotMember).where(
                LotMember.lot_id.in_({solver_bridge.parse_key(e["lot"], "lot") for e in entries})
            )
        ).scalars()
    }
    bid_model = {solver_bridge.bid_key(b.bid_id): (b.bid_id, b.vehicle_model_id) for b in offers.bids}
    made = []
    for entry in entries:
        backup = Backup(
            scenario_id=scenario.id,
            lot_id=solver_bridge.parse_key(entry["lot"], "lot"),
            withdrawn_id=solver_bridge.parse_key(entry["withdrawn"], "org"),
            quantity=entry["quantity"],
            covered_quantity=entry["covered_quantity"],
            total_price=_money(entry["total_price"]),
        )
        for source in entry["replacement"]:
            bid_id, model_id = bid_model[source["source"]]
            for part in source["allocations"]:
                backup.rows.append(
                    BackupAllocation(
                        demand_line_id=members[part["demand"]].demand_line_id,
                        organization_id=solver_bridge.parse_key(source["supplier"], "org"),
                        bid_id=bid_id,
                        vehicle_model_id=model_id,
                        quantity=part["quantity"],
                        unit_price=_money(source["unit_price"]),
                        deliveries=part.get("deliveries"),
                    )
                )
        db.session.add(backup)
        made.append(backup)
    return made
