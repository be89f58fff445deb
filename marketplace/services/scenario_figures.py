"""Comparing award scenarios: the figures a coalition board weighs (vehicles, money, savings,
suppliers, proof) and the comparison page's charts. Stored as a read model once computed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.filters import money
from marketplace.models import (
    Allocation,
    AwardScenario,
    ConfirmationStatus,
    DemandLine,
    LotMember,
    Round,
    VehicleModel,
)
from marketplace.services import read_models
from marketplace.services.deliveries import by_scenario, chart


@dataclass
class ScenarioFigures:
    """What a coalition board compares: vehicles, money, savings, suppliers, proof."""

    scenario: AwardScenario
    demanded: int
    awarded: int
    total_price: Decimal
    savings_vs_max: Decimal  # what fleets said they would pay at most, minus the award's price
    savings_vs_list: Decimal  # catalog list price minus the award's price, where a list price exists
    list_priced_vehicles: int
    unit_price_by_segment: dict[str, Decimal]
    suppliers: int
    suppliers_per_lot: float
    vehicle_gap: int
    price_gap_percent: float | None

    @property
    def awarded_percent(self) -> float:
        return 100.0 * self.awarded / self.demanded if self.demanded else 0.0


def figures(rnd: Round, scenario: AwardScenario) -> ScenarioFigures:
    """The comparison figures of one succeeded scenario: stored once computed, recomputed when its data changes."""

    def dump(f: ScenarioFigures) -> str:
        data = {k: getattr(f, k) for k in ScenarioFigures.__dataclass_fields__ if k != "scenario"}
        return json.dumps(data, default=str)

    def load(text: str) -> ScenarioFigures:
        data = json.loads(text)
        for key in ("total_price", "savings_vs_max", "savings_vs_list"):
            data[key] = Decimal(data[key])
        data["unit_price_by_segment"] = {k: Decimal(v) for k, v in data["unit_price_by_segment"].items()}
        return ScenarioFigures(scenario=scenario, **data)

    return read_models.cached(rnd, f"figures {scenario.id}", lambda: compute_figures(rnd, scenario), dump, load)


def compute_figures(rnd: Round, scenario: AwardScenario) -> ScenarioFigures:
    """The comparison figures of one succeeded scenario, recomputed from its allocations."""
    demanded = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(LotMember.quantity), 0))
        .join(LotMember.lot)
        .where(LotMember.lot.has(pooling_run_id=rnd.published_pooling_run_id))
    ).scalar_one()
    # After a promotion, the backup's allocations count instead of those taken back (a refused offer counts not).
    in_award = sa.and_(
        Allocation.scenario_id == scenario.id,
        Allocation.confirmation.not_in((ConfirmationStatus.WITHDRAWN, ConfirmationStatus.REFUSED)),
    )
    # Sums in SQL (a scenario has one allocation per served line: 10,000 rows at coalition scale).
    value = Allocation.unit_price * Allocation.quantity
    listed = sa.and_(VehicleModel.list_price.is_not(None), VehicleModel.currency == rnd.currency)
    awarded, total, vs_max, vs_list, list_vehicles, suppliers, lots, winners = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(Allocation.quantity), 0),
            sa.func.coalesce(sa.func.sum(value), 0),
            sa.func.coalesce(sa.func.sum((DemandLine.max_unit_price - Allocation.unit_price) * Allocation.quantity), 0),
            sa.func.coalesce(
                sa.func.sum(sa.case((listed, (VehicleModel.list_price - Allocation.unit_price) * Allocation.quantity))),
                0,
            ),
            sa.func.coalesce(sa.func.sum(sa.case((listed, Allocation.quantity))), 0),
            sa.func.count(sa.distinct(Allocation.organization_id)),
            sa.func.count(sa.distinct(Allocation.lot_id)),
            # distinct (lot, supplier) pairs, portable to SQLite: one winner row per pair below
            sa.select(sa.func.count())
            .select_from(sa.select(Allocation.lot_id, Allocation.organization_id).where(in_award).distinct().subquery())
            .scalar_subquery(),
        )
        .select_from(Allocation)
        .join(DemandLine, DemandLine.id == Allocation.demand_line_id)
        .join(VehicleModel, VehicleModel.id == Allocation.vehicle_model_id)
        .where(in_award)
    ).one()
    by_segment = db.session.execute(
        sa.select(DemandLine.segment_id, sa.func.sum(Allocation.quantity), sa.func.sum(value))
        .join(DemandLine, DemandLine.id == Allocation.demand_line_id)
        .where(in_award)
        .group_by(DemandLine.segment_id)
        .order_by(DemandLine.segment_id)
    ).all()
    gap = None
    if scenario.total_price and scenario.bound_price is not None:
        gap = float((scenario.total_price - scenario.bound_price) / scenario.total_price * 100)
    return ScenarioFigures(
        scenario=scenario,
        demanded=int(demanded),
        awarded=int(awarded),
        total_price=Decimal(total),
        savings_vs_max=Decimal(vs_max),
        savings_vs_list=Decimal(vs_list),
        list_priced_vehicles=int(list_vehicles),
        unit_price_by_segment={
            seg: (Decimal(money) / n).quantize(Decimal("0.01")) for seg, n, money in by_segment if n
        },
        suppliers=int(suppliers),
        suppliers_per_lot=int(winners) / int(lots) if lots else 0,
        vehicle_gap=max(0, scenario.bound_quantity - scenario.awarded_quantity),
        price_gap_percent=gap,
    )


def comparison_charts(compared: list[ScenarioFigures]) -> dict[str, Any]:
    """The comparison page's charts: vehicles, total price, and vehicles delivered per quarter (None without quarters)."""
    per_quarter = by_scenario([f.scenario.id for f in compared])
    return {
        "vehicles": [(f.scenario.name, f.awarded, f"{f.awarded:,} ({f.awarded_percent:.0f} %)") for f in compared],
        "price": [(f.scenario.name, float(f.total_price), money(f.total_price)) for f in compared],
        "quarters": chart(per_quarter, {f.scenario.id: f.scenario.name for f in compared}),
    }
