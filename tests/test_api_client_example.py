"""The example client in docs/ works against a running server: 1,000 lines posted, committed, progress printed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import DemandLine, DemandStatus, RoundPhase
from tests.api_helpers import token_for
from tests.factories import make_round

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "api_client_example.py"


def test_example_client_posts_commits_and_prints_pool_progress(live_server, world, capsys):
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN)
    token = token_for(world.fleet)
    spec = importlib.util.spec_from_file_location("api_client_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--base-url", live_server, "--round", str(rnd.id), "--token", token]) == 0
    out = capsys.readouterr().out
    assert "posted 1,000 lines" in out and "committed 1,000 lines" in out and "pool progress:" in out
    db.session.expire_all()
    statuses = db.session.execute(
        sa.select(DemandLine.status, sa.func.count()).where(DemandLine.round_id == rnd.id).group_by(DemandLine.status)
    ).all()
    assert dict(statuses) == {DemandStatus.COMMITTED: 1000}
