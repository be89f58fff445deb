"""Command-line tools: flask seed-demo, load-reference-data, create-coordinator, advance-deadlines."""

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
