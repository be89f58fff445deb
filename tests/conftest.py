"""Fixtures: a migrated database per session, a clean one per test, an app, a client, log-in helpers.

SQLite (a file, so a live server thread sees the same data) by default; PostgreSQL when
TEST_DATABASE_URL is set. The schema comes from the Alembic migrations, so the tests run
against what production runs. Between tests every table but the reference data
(segments, regions) is emptied, which keeps real commits (and real concurrency) testable.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

os.environ.setdefault("MARKETPLACE_ENV", "test")

from marketplace import create_app
from marketplace.config import TestConfig
from marketplace.extensions import db
from marketplace.services import clock

REFERENCE_TABLES = {"segment", "region", "alembic_version"}


@sa.event.listens_for(sa.engine.Engine, "connect")
def _fast_sqlite(dbapi_connection, connection_record) -> None:
    """Tests need no durability: skip SQLite's fsync on every commit (several times faster)."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA journal_mode=MEMORY")
        cursor.close()


DATA_DIR = Path(__file__).resolve().parent.parent / "marketplace" / "data"


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return TestConfig.SQLALCHEMY_DATABASE_URI  # normalised to the psycopg 3 driver
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = _database_url(tmp_path_factory)
    app = create_app({**_config(url)})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        from flask_migrate import upgrade

        upgrade()
        from marketplace.services.reference_data import load_regions, load_segments

        load_segments(DATA_DIR / "segments.csv")
        load_regions(DATA_DIR / "regions.csv")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return url


def _config(url: str) -> dict[str, object]:
    return {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()} | {
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": {},
    }


def _empty_tables() -> None:
    # Only tables the migrations made: a model without its migration yet fails its own tests, not all.
    existing = set(sa.inspect(db.engine).get_table_names())
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name in existing - REFERENCE_TABLES]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = create_app(_config(database_url))
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            clock.freeze(None)
            _empty_tables()
            db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def frozen_clock() -> Iterator[type]:
    """Control the server clock: frozen_clock.freeze(datetime) / frozen_clock.now()."""
    yield clock
    clock.freeze(None)


@pytest.fixture
def world(app: Flask):
    """Two organizations of each kind with a user each, for access tests."""
    from tests.factories import World

    return World.build()


@pytest.fixture
def login(client: FlaskClient):
    """login(user) logs the test client in as that user (password of the factories)."""
    from tests.factories import PASSWORD

    def do_login(user) -> FlaskClient:
        client.post("/logout")
        response = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.data[:500]
        return client

    return do_login


# ---------------------------------------------------------------- browser tests

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test's app served on 127.0.0.1 in a thread, on the test's database. Yields the base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium driven by Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it with apt-get")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/ (kept by CI, looked at by people)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
