"""Command-line tools: flask seed-demo, seed-large, load-reference-data, create-coordinator, advance-deadlines,
check-workers."""

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
    # Asked at the terminal; a script sets COORDINATOR_PASSWORD instead (never on the command line,
    # where other users of the host can read it).
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, envvar="COORDINATOR_PASSWORD")
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

    @app.cli.command("create-api-token")
    @click.option("--email", required=True, help="the user the token acts as (its organization owns the token)")
    @click.option("--scope", type=click.Choice(["read", "write"]), default="read", show_default=True)
    @click.option("--name", default="made with flask create-api-token", show_default=True)
    def create_api_token_command(email: str, scope: str, name: str) -> None:
        """Make an organization API token and print it once (only its hash is kept)."""
        import sqlalchemy as sa

        from marketplace.extensions import db
        from marketplace.models import User
        from marketplace.services import accounts, api_tokens

        user = db.session.execute(
            sa.select(User).where(User.email == accounts.normalise_email(email))
        ).scalar_one_or_none()
        if user is None or not user.active:
            click.echo(f"email: no active user has the email {email!r}.", err=True)
            raise SystemExit(2)
        made = api_tokens.create_token(user, name=name, scope=scope)
        click.echo(
            f"{scope} token for {user.organization.name} (acting as {user.email}); it is shown only now:", err=True
        )
        click.echo(made.secret)

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
            f"{result.bids:,} bids and {result.packages:,} package bids from {result.oems} OEMs, "
            f"{result.allocations:,} allocations "
            f"({time.monotonic() - started:.0f} s). Every login uses the demo password."
        )
        click.echo(str(result.round_id))

    @app.cli.command("check-workers")
    @click.option("--jobs", "count", default=40, show_default=True, help="how many small jobs to queue")
    @click.option("--timeout", default=60.0, show_default=True, help="seconds to wait for them")
    def check_workers_command(count: int, timeout: float) -> None:
        """Queue small jobs and check that the running workers run each one exactly once."""
        import secrets
        import time
        from collections import Counter

        from marketplace import jobs

        token = secrets.token_hex(6)
        keys = [f"marketplace:ping:{token}-{i}" for i in range(count)]
        results = [jobs.ping(f"{token}-{i}") for i in range(count)]
        deadline = time.monotonic() + timeout
        by_worker: Counter[str] = Counter()
        for result in results:
            try:
                worker = result.get(blocking=True, timeout=max(0.1, deadline - time.monotonic()))
            except jobs.HueyException:
                worker = "not run in time (is a worker running?)"
            by_worker[worker] += 1
        time.sleep(2)  # a second delivery of any job would run now
        runs = [jobs.huey.storage.incr(key, 0) for key in keys]
        for key in keys:
            jobs.huey.storage.delete_counter(key)
        shares = ", ".join(f"{worker}: {n}" for worker, n in sorted(by_worker.items()))
        wrong = {i: n for i, n in enumerate(runs) if n != 1}
        if wrong:
            click.echo(f"Jobs not run exactly once (job: times run): {wrong}. Ran by {shares}.", err=True)
            raise SystemExit(1)
        click.echo(f"{count} jobs, each run exactly once, by {len(by_worker)} worker process(es): {shares}.")
