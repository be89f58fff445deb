"""Production settings, checked the way gunicorn and the job worker meet them: in a fresh Python
process whose environment is set before anything is imported.

(Setting the variables inside this test process after import proves nothing: the config classes
read the environment when they are imported.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STRONG_KEY = "k3Y-" + "x" * 44

# What gunicorn does (import wsgi:app) and what the Huey consumer does (import marketplace.jobs.huey).
START = """
import json, wsgi, marketplace.jobs as jobs
app = wsgi.app
print(json.dumps({
    "secret_key": app.config["SECRET_KEY"],
    "database": app.config["SQLALCHEMY_DATABASE_URI"],
    "secure_cookies": [app.config["SESSION_COOKIE_SECURE"], app.config["REMEMBER_COOKIE_SECURE"]],
    "queue": type(jobs.huey).__name__,
    "ratelimit_storage": app.config["RATELIMIT_STORAGE_URI"],
}))
"""


def _run(code: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL")}
    clean.update({"MARKETPLACE_ENV": "production", "MARKETPLACE_INSTANCE_DIR": str(tmp_path)}, **env)
    clean.pop("RATELIMIT_STORAGE_URI", None)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def _production_env(tmp_path: Path, **changes: str | None) -> dict[str, str]:
    env = {
        "SECRET_KEY": STRONG_KEY,
        "DATABASE_URL": "postgresql://marketplace@db.internal/marketplace",
        "REDIS_URL": "redis://127.0.0.1:6379/3",
    }
    env.update({k: v for k, v in changes.items() if v is not None})
    for k, v in changes.items():
        if v is None:
            env.pop(k)
    return env


def test_production_starts_with_a_strong_key_set_before_import(tmp_path):
    result = _run(START, _production_env(tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    started = json.loads(result.stdout.strip().splitlines()[-1])
    assert started["secret_key"] == STRONG_KEY
    assert started["database"] == "postgresql+psycopg://marketplace@db.internal/marketplace"
    assert started["secure_cookies"] == [True, True]
    assert started["queue"] == "RedisHuey"
    assert started["ratelimit_storage"] == "redis://127.0.0.1:6379/3"  # every web host counts in one place


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": "x" * 31}, "SECRET_KEY is 31 characters long"),
        ({"SECRET_KEY": "dev-only-not-secret"}, "SECRET_KEY is the development default"),
        ({"DATABASE_URL": None}, "DATABASE_URL is not set"),
        ({"REDIS_URL": None}, "REDIS_URL is not set"),
    ],
)
@pytest.mark.parametrize("process", ["web", "worker"])
def test_production_refuses_to_start_on_unsafe_settings(tmp_path, changes, message, process):
    code = "import wsgi" if process == "web" else "from marketplace.jobs import huey"
    result = _run(code, _production_env(tmp_path, **changes), tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
