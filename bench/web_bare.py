"""The bare baseline of bench/web.py: Flask, one indexed PostgreSQL query, one small template.

Served by gunicorn with the same settings as the product (`gunicorn bench.web_bare:app`); reads
BENCH_BARE_DATABASE_URL. It uses the product's driver and pool (SQLAlchemy + psycopg 3), so the
ratio product / bare measures what the product does per request beyond the floor of the stack.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, render_template

ROWS = 10_000
TABLE = "bench_bare.item"

app = Flask(__name__, template_folder=str(Path(__file__).resolve().parent / "templates"))
engine = sa.create_engine(os.environ.get("BENCH_BARE_DATABASE_URL", "postgresql+psycopg://localhost/bench"))


def create_table(connection: sa.Connection) -> None:
    """Make the baseline's table: ROWS items addressed by their primary key (an index)."""
    connection.execute(sa.text("DROP SCHEMA IF EXISTS bench_bare CASCADE"))
    connection.execute(sa.text("CREATE SCHEMA bench_bare"))
    connection.execute(sa.text(f"CREATE TABLE {TABLE} (id integer PRIMARY KEY, name text NOT NULL, quantity integer)"))
    connection.execute(
        sa.text(f"INSERT INTO {TABLE} SELECT n, 'item ' || n, n % 400 FROM generate_series(1, {ROWS}) AS n")
    )


@app.get("/")
def item():
    with engine.connect() as connection:
        row = connection.execute(
            sa.text(f"SELECT id, name, quantity FROM {TABLE} WHERE id = :id"), {"id": random.randint(1, ROWS)}
        ).one()
    return render_template("bare.html", item=row)
