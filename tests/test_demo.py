"""The demo coalition: believable, idempotent, and every demo login reaches its dashboard."""

from __future__ import annotations

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
from marketplace.services.demo import DEMO_PASSWORD, demo_logins
from tests.test_backups import with_backups  # noqa: F401 (the award carries backups)

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


def test_seed_demo_builds_a_believable_coalition_and_is_idempotent(app, client, with_backups):  # noqa: F811
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
    # A winner dropped out and its backup stepped in: the backup OEM accepted, the fleets have yet to re-confirm.
    from marketplace.models import Backup

    promoted = db.session.execute(
        sa.select(Backup).where(
            Backup.scenario_id == contracting.published_scenario_id, Backup.promoted_at.is_not(None)
        )
    ).scalar_one()
    stepped_in = db.session.execute(sa.select(Allocation).where(Allocation.backup_id == promoted.id)).scalars().all()
    assert stepped_in and {a.confirmation.value for a in stepped_in} == {"pending"}
    assert "withdrawn" in {c.value for c in confirmations}
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
