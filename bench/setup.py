"""What the database benchmarks share: an app on a fresh schema with the reference data, two members,
and a round open for demand. Imports are inside the functions, as in the benchmarks themselves, so
`MARKETPLACE_ENV` can be set before the app is loaded."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def bench_app(url: str, **config: Any) -> Any:
    """The app on the test configuration, pointed at `url`, with the given settings on top."""
    from marketplace import create_app
    from marketplace.config import TestConfig

    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    return create_app(settings | {"SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": {}} | config)


def fresh_database() -> tuple[Any, Any]:
    """In the app context: the schema from the migrations (PostgreSQL's is wiped first), the segments and
    regions, and a coordinator and a fleet user (returned)."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from marketplace.extensions import db
    from marketplace.services.reference_data import load_regions, load_segments
    from tests.factories import make_org, make_user

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    upgrade()
    data_dir = ROOT / "marketplace" / "data"
    load_segments(data_dir / "segments.csv")
    load_regions(data_dir / "regions.csv")
    db.session.commit()
    return make_user(make_org("coordinator")), make_user(make_org("fleet"))


def open_round(name: str, coordinator: Any) -> Any:
    """A round of four segments in the US and Canada, open for demand, with deadlines days ahead."""
    from marketplace.models import RoundPhase
    from marketplace.services import clock, rounds

    now = clock.now()
    settings = rounds.RoundSettings(
        name=name,
        segment_ids=["md_box_truck", "transit_bus", "step_van", "school_bus"],
        region_ids=["US", "CA"],
        demand_deadline=now + timedelta(days=10),
        bid_deadline=now + timedelta(days=20),
        confirmation_deadline=now + timedelta(days=40),
    )
    rnd = rounds.create_round(settings, coordinator)
    rounds.transition(rnd.id, RoundPhase.DEMAND_OPEN, coordinator)
    return rnd


def machine_now(shared: bool = False) -> str:
    """How busy the machine was when the figures were taken, for the results file."""
    import os
    import timeit

    load = os.getloadavg()
    calibration = min(timeit.repeat("sum(range(10**6))", number=1, repeat=5))
    return (
        f"Machine at the time: load average {load[0]:.1f} on {os.cpu_count()} CPUs{' (shared)' if shared else ''}; "
        f"`sum(range(10**6))` took {calibration * 1000:.0f} ms (an idle recent x86 core takes about 15-20 ms), "
        "so figures scale with that."
    )


def write_results(name: str | Path, lines: list[str]) -> None:
    """bench/results/NAME (or the path given, e.g. a benchmark's --out), printed too."""
    path = name if isinstance(name, Path) else ROOT / "bench" / "results" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
