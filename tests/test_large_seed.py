"""`flask seed-large`: a large round built through the services, next to the demo data (issue 16)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import (
    Allocation,
    Bid,
    ConfirmationStatus,
    DemandLine,
    DemandStatus,
    Lot,
    Organization,
    PackageBid,
    QuarterCapacity,
    Round,
    RoundPhase,
    User,
)
from marketplace.services import demand

pytestmark = pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)


def test_seed_large_builds_an_awarded_round_and_prints_its_id_last(app, client):
    result = app.test_cli_runner().invoke(args=["seed-large", "--lines", "120", "--bids", "40", "--time-limit", "2"])
    assert result.exit_code == 0, result.output
    round_id = int(result.output.strip().splitlines()[-1])
    rnd = db.session.get(Round, round_id)
    assert rnd.phase is RoundPhase.CONTRACTING
    assert rnd.published_scenario_id is not None
    lines = db.session.execute(
        sa.select(sa.func.count()).where(DemandLine.round_id == round_id, DemandLine.status == DemandStatus.COMMITTED)
    ).scalar_one()
    assert lines == 120
    assert db.session.execute(sa.select(sa.func.count()).where(Bid.round_id == round_id)).scalar_one() == 40
    # Package bids and capacities by quarter too, so their pages can be looked at at scale.
    packages = db.session.execute(sa.select(PackageBid).where(PackageBid.round_id == round_id)).scalars().all()
    assert packages and all(len(p.current.items) >= 2 for p in packages)
    assert f"{len(packages)} package bids" in result.output
    ramps = db.session.execute(
        sa.select(QuarterCapacity.organization_id, sa.func.count())
        .where(QuarterCapacity.round_id == round_id, QuarterCapacity.segment_id.is_(None))
        .group_by(QuarterCapacity.organization_id)
    ).all()
    oems = db.session.execute(
        sa.select(sa.func.count(sa.distinct(Bid.organization_id))).where(Bid.round_id == round_id)
    ).scalar_one()
    first, last = db.session.execute(
        sa.select(sa.func.min(Lot.earliest_quarter), sa.func.max(Lot.latest_quarter)).where(
            Lot.pooling_run_id == rnd.published_pooling_run_id
        )
    ).one()
    quarters = demand.quarter_index(last) - demand.quarter_index(first) + 1  # the quarters the lots deliver in
    assert len(ramps) == oems and {n for _, n in ramps} == {quarters}
    states = set(
        db.session.execute(
            sa.select(Allocation.confirmation).where(Allocation.scenario_id == rnd.published_scenario_id)
        ).scalars()
    )
    assert ConfirmationStatus.PENDING in states and len(states) > 1  # some fleets answered, others not yet
    # The demo data is there too, and the seeded members log in with the demo password.
    assert db.session.execute(sa.select(sa.func.count(Round.id))).scalar_one() > 1
    fleet, oem = (
        db.session.execute(
            sa.select(User.email).join(User.organization).where(Organization.name.like(f"{name} (%"))
        ).scalar_one()
        for name in ("Large Fleet 001", "Large OEM 01")
    )
    for email in (fleet, oem):
        client.post("/logout")
        response = client.post("/login", data={"email": email, "password": "zero-emission"})
        assert response.status_code == 302, email
    assert response.status_code == 302
