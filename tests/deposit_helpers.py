"""Helpers for the deposit tests: a round that asks a deposit, draft lines, and a published award."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from marketplace.extensions import db
from marketplace.models import (
    Allocation,
    AwardScenario,
    ConfirmationStatus,
    DemandLine,
    DemandStatus,
    Deposit,
    LineService,
    Lot,
    PoolingRun,
    Round,
    RoundPhase,
    RunStatus,
    VehicleModel,
)
from marketplace.services import deposits
from tests.factories import World, make_line, make_round

_seq = itertools.count(1)


def deposit_round(world: World, **overrides: Any) -> Round:
    overrides.setdefault("deposit_per_vehicle", Decimal("1234.56"))
    overrides.setdefault("decline_forfeit_percent", Decimal("25"))
    overrides.setdefault("withdrawal_forfeit_percent", Decimal("10"))
    return make_round(world.coordinator, RoundPhase.DEMAND_OPEN, **overrides)


def draft_line(rnd: Round, world: World, quantity: int = 3, fleet: str = "fleet") -> DemandLine:
    user = getattr(world, fleet)
    return make_line(rnd, user.organization, quantity=quantity, status=DemandStatus.DRAFT)


def held_deposit(rnd: Round, world: World, payment_method: str, quantity: int = 3, fleet: str = "fleet") -> Deposit:
    """A draft line whose deposit is opened and confirmed with `payment_method` (so held, and the line committed)."""
    user = getattr(world, fleet)
    line = draft_line(rnd, world, quantity, fleet)
    (dep,) = deposits.open_deposits([line], user)
    return deposits.confirm_deposit(dep.id, payment_method, user)


def publish_award(
    rnd: Round, world: World, decisions: dict[int, ConfirmationStatus], phase: RoundPhase = RoundPhase.CLOSED
) -> AwardScenario:
    """Allocations for the given lines in a published scenario, and the round moved to `phase` (set directly:
    the pooling and award steps belong to other tests)."""
    n = next(_seq)
    run = PoolingRun(
        round_id=rnd.id, min_lot_quantity=1, max_lot_quantity=400, max_levels_up=2, status=RunStatus.SUCCEEDED
    )
    db.session.add(run)
    db.session.flush()
    lot = Lot(
        round_id=rnd.id, pooling_run_id=run.id, code=f"lot-{n}", segment_id="md_box_truck",
        region_id="us-ca-los-angeles", earliest_quarter="2027Q1", latest_quarter="2027Q3", charging="CCS1",
        quantity=10, fleet_count=1,
    )  # fmt: skip
    model = VehicleModel(
        code=f"model-{n}", organization_id=world.oem.organization_id, manufacturer="Maker", name="Van",
        segment_id="md_box_truck", powertrain="BEV",
    )  # fmt: skip
    scenario = AwardScenario(
        round_id=rnd.id, name=f"Scenario {n}", max_winners_per_lot=2, max_share_per_supplier=Decimal("1"),
        line_service=LineService.WHOLE, status=RunStatus.SUCCEEDED,
    )  # fmt: skip
    db.session.add_all([lot, model, scenario])
    db.session.flush()
    for line_id, decision in decisions.items():
        allocation = Allocation(
            scenario_id=scenario.id, lot_id=lot.id, demand_line_id=line_id,
            organization_id=world.oem.organization_id, vehicle_model_id=model.id, quantity=1,
            unit_price=Decimal("200000"), confirmation=decision,
        )  # fmt: skip
        db.session.add(allocation)
    rnd = db.session.get(Round, rnd.id)
    rnd.published_scenario_id = scenario.id
    rnd.phase = phase
    db.session.commit()
    return scenario


def ledger(dep_id: int) -> dict[str, str]:
    db.session.expire_all()
    dep = db.session.get(Deposit, dep_id)
    return dep.amounts() | {"line": dep.demand_line.status.value}
