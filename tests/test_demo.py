"""The demo coalition: believable, idempotent, and every demo login reaches its dashboard."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import (
    Allocation,
    Bid,
    DemandLine,
    Organization,
    OrganizationKind,
    Round,
    RoundPhase,
    User,
    VehicleModel,
)
from marketplace.services import solver_bridge
from marketplace.services.demo import DEMO_PASSWORD, RAMP, RAMP_OEM, demo_logins

pytestmark = pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)


def counts() -> dict[str, int]:
    def n(query) -> int:
        return db.session.execute(query).scalar_one()

    return {
        "fleets": n(sa.select(sa.func.count()).where(Organization.kind == OrganizationKind.FLEET)),
        "oems": n(sa.select(sa.func.count()).where(Organization.kind == OrganizationKind.OEM)),
        "users": n(sa.select(sa.func.count(User.id))),
        "models": n(sa.select(sa.func.count(VehicleModel.id))),
        "rounds": n(sa.select(sa.func.count(Round.id))),
        "lines": n(sa.select(sa.func.count(DemandLine.id))),
    }


def test_seed_demo_builds_a_believable_coalition_and_is_idempotent(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    first = counts()
    assert first["fleets"] >= 12
    assert first["oems"] >= 8
    assert first["models"] == 46
    # Every catalog model belongs to an OEM organization.
    owners = db.session.execute(
        sa.select(Organization.kind).join(VehicleModel, VehicleModel.organization_id == Organization.id)
    )
    assert set(owners.scalars()) == {OrganizationKind.OEM}
    phases = {r.phase for r in db.session.execute(sa.select(Round)).scalars()}
    assert {
        RoundPhase.DRAFT, RoundPhase.DEMAND_OPEN, RoundPhase.TENDERING, RoundPhase.CONTRACTING, RoundPhase.CANCELLED,
    } <= phases  # fmt: skip
    # The tender has published lots with bids; the contracting round a published award, partly confirmed.
    tender = db.session.execute(sa.select(Round).where(Round.phase == RoundPhase.TENDERING)).scalar_one()
    assert tender.published_pooling_run_id is not None
    assert db.session.execute(sa.select(sa.func.count(Bid.id)).where(Bid.round_id == tender.id)).scalar_one() > 0
    contracting = db.session.execute(sa.select(Round).where(Round.phase == RoundPhase.CONTRACTING)).scalar_one()
    confirmations = (
        db.session.execute(
            sa.select(Allocation.confirmation).where(Allocation.scenario_id == contracting.published_scenario_id)
        )
        .scalars()
        .all()
    )
    assert confirmations and {"pending", "confirmed"} <= {c.value for c in confirmations}
    assert_the_ramping_oem_dropped_out_and_its_backup_stepped_in(contracting)
    open_round = db.session.execute(sa.select(Round).where(Round.phase == RoundPhase.DEMAND_OPEN)).scalar_one()
    lines = db.session.execute(sa.select(DemandLine).where(DemandLine.round_id == open_round.id)).scalars().all()
    assert 200 <= len(lines) <= 600
    assert len({line.segment_id for line in lines}) >= 5
    assert len({line.region_id for line in lines}) >= 8
    assert len({line.organization_id for line in lines}) >= 8
    scope = {s.id for s in open_round.segments}
    assert {line.segment_id for line in lines} <= scope

    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert counts() == first

    # Every demo login reaches its own dashboard.
    for kind, _org, email in demo_logins():
        client.post("/logout")
        response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD}, follow_redirects=True)
        assert response.status_code == 200, email
        assert response.request.path == {"fleet": "/fleet/", "oem": "/oem/", "coordinator": "/coordinator/"}[kind]


def assert_the_ramping_oem_dropped_out_and_its_backup_stepped_in(rnd: Round) -> None:
    """The real solver's award and backups (nothing hand-written): the OEM ramping up its plant stated its
    capacity by quarter and the award kept within it; it dropped out of a lot, and the solver's backup there,
    another OEM's spare capacity, stepped in with its delivery quarters; the fleets have yet to re-confirm."""
    from marketplace.models import AwardScenario, Backup, QuarterCapacity

    ramp_oem = db.session.execute(sa.select(Organization).where(Organization.name == RAMP_OEM)).scalar_one()
    stated = db.session.execute(
        sa.select(QuarterCapacity.quarter, QuarterCapacity.capacity)
        .where(QuarterCapacity.round_id == rnd.id, QuarterCapacity.organization_id == ramp_oem.id)
        .order_by(QuarterCapacity.quarter)
    ).all()
    assert [tuple(r) for r in stated] == list(RAMP)
    awarded = (
        db.session.execute(
            sa.select(Allocation).where(
                Allocation.scenario_id == rnd.published_scenario_id, Allocation.backup_id.is_(None)
            )
        )
        .scalars()
        .all()
    )
    per_quarter: dict[str, int] = {}
    for a in awarded:
        assert sum(d.quantity for d in a.deliveries) == a.quantity  # every awarded vehicle has its quarter
        if a.organization_id == ramp_oem.id:
            for d in a.deliveries:
                per_quarter[d.quarter] = per_quarter.get(d.quarter, 0) + d.quantity
    assert per_quarter and all(per_quarter[q] <= dict(RAMP)[q] for q in per_quarter)

    promoted = db.session.execute(
        sa.select(Backup).where(Backup.scenario_id == rnd.published_scenario_id, Backup.promoted_at.is_not(None))
    ).scalar_one()
    assert promoted.withdrawn_id == ramp_oem.id and promoted.covered_quantity > 0
    taken_back = [a for a in awarded if a.lot_id == promoted.lot_id and a.organization_id == ramp_oem.id]
    assert {a.confirmation.value for a in taken_back} <= {"withdrawn", "declined"}
    assert "withdrawn" in {a.confirmation.value for a in taken_back}
    # The backup is the one in the solver's own output, as the award job stored it.
    scenario = db.session.get(AwardScenario, rnd.published_scenario_id)
    output = json.loads(scenario.output_json)
    [entry] = [
        e
        for e in output["backups"]
        if e["lot"] == solver_bridge.lot_key(promoted.lot_id) and e["withdrawn"] == solver_bridge.org_key(ramp_oem.id)
    ]
    planned = sorted(
        (p["quantity"], tuple((d["quarter"], d["quantity"]) for d in p.get("deliveries", [])))
        for source in entry["replacement"]
        for p in source["allocations"]
    )
    assert planned == sorted(
        (r.quantity, tuple((d["quarter"], d["quantity"]) for d in r.deliveries)) for r in promoted.rows
    )
    stepped_in = db.session.execute(sa.select(Allocation).where(Allocation.backup_id == promoted.id)).scalars().all()
    assert stepped_in and {a.confirmation.value for a in stepped_in} == {"pending"}  # the backup OEM accepted
    assert ramp_oem.id not in {a.organization_id for a in stepped_in}
    live_lines = {a.demand_line_id for a in taken_back if a.confirmation.value == "withdrawn"}
    assert {a.demand_line_id for a in stepped_in} <= live_lines
    assert sorted((a.quantity, tuple((d.quarter, d.quantity) for d in a.deliveries)) for a in stepped_in) == sorted(
        (r.quantity, tuple((d["quarter"], d["quantity"]) for d in r.deliveries))
        for r in promoted.rows
        if r.demand_line_id in live_lines
    )


def test_reference_data_reloads_without_losing_anything(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["load-reference-data"]).exit_code == 0
    model = db.session.execute(sa.select(VehicleModel).where(VehicleModel.code == "freightliner_em2")).scalar_one()
    model.yearly_capacity = 777
    db.session.commit()
    result = runner.invoke(args=["load-reference-data"])
    assert result.exit_code == 0
    assert "46 models" in result.output
    db.session.expire_all()
    model = db.session.execute(sa.select(VehicleModel).where(VehicleModel.code == "freightliner_em2")).scalar_one()
    assert model.yearly_capacity == 777  # an OEM's own figure survives a reload
    assert model.charging == ["CCS1"]
    assert model.list_price == 260000
