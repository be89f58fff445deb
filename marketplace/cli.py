"""Command-line tools: flask seed-demo, seed-large, load-reference-data, create-coordinator, advance-deadlines."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app

from marketplace.services.errors import ValidationFailed


def register(app: Flask) -> None:
    @app.cli.command("load-reference-data")
    @click.option(
        "--from",
        "source",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        default=None,
        help="folder with segments.csv, regions.csv and models.csv (default: the copy in marketplace/data)",
    )
    def load_reference_data_command(source: Path | None) -> None:
        """Upsert segments, regions and vehicle models from the data files."""
        from marketplace.services.reference_data import load_reference_data

        counts = load_reference_data(source or current_app.config["DATA_DIR"])
        click.echo(", ".join(f"{n} {what}" for what, n in counts.items()) + " loaded.")

    @app.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Load the reference data and a demo coalition (idempotent)."""
        from marketplace.services.demo import DEMO_PASSWORD, seed_demo

        counts = seed_demo(current_app.config["DATA_DIR"])
        click.echo("Demo coalition ready: " + ", ".join(f"{n} {what}" for what, n in counts.items()) + ".")
        click.echo(f"Every demo login uses the password {DEMO_PASSWORD!r}; see README.md for the logins.")

    @app.cli.command("create-coordinator")
    @click.option("--email", required=True)
    @click.option("--name", required=True)
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    @click.option("--organization", default="Fleet Electrification Coalition", show_default=True)
    def create_coordinator_command(email: str, name: str, password: str, organization: str) -> None:
        """Create a coordinator account (coordinators never self-register)."""
        from marketplace.services.accounts import create_coordinator

        try:
            user = create_coordinator(actor=None, email=email, name=name, password=password, org_name=organization)
        except ValidationFailed as exc:
            for field, message in exc.field_errors.items():
                click.echo(f"{field}: {message}", err=True)
            raise SystemExit(2) from None
        click.echo(f"Coordinator {user.email} created in {user.organization.name}.")

    @app.cli.command("advance-deadlines")
    def advance_deadlines_command() -> None:
        """Move on every round whose deadline has passed (the worker does this every minute)."""
        from marketplace.services.rounds import advance_due_rounds

        moved = advance_due_rounds()
        click.echo(f"{len(moved)} round(s) moved on." if moved else "No deadline has passed.")

    @app.cli.command("seed-large")
    @click.option("--lines", type=click.IntRange(1, 200_000), default=10_000, show_default=True)
    @click.option("--bids", type=click.IntRange(1, 100_000), default=2_000, show_default=True)
    @click.option("--time-limit", type=click.FloatRange(1, 600), default=10.0, show_default=True,
                  help="seconds for the pooling run and each award scenario")  # fmt: skip
    def seed_large_command(lines: int, bids: int, time_limit: float) -> None:
        """Build a large round through the services, next to the demo data; prints its id on the last line."""
        import time

        from marketplace.services.large_seed import seed_large

        started = time.monotonic()
        result = seed_large(lines, bids, data_dir=current_app.config["DATA_DIR"], time_limit=time_limit, say=click.echo)
        click.echo(
            f"Round {result.round_id}: {result.lines:,} lines from {result.fleets} fleets, {result.lots} lots, "
            f"{result.bids:,} bids from {result.oems} OEMs, {result.allocations:,} allocations "
            f"({time.monotonic() - started:.0f} s). Every login uses the demo password."
        )
        click.echo(str(result.round_id))
