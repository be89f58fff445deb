"""The demand aggregation marketplace: an app factory with one blueprint per actor or concern."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

ROOT = Path(__file__).resolve().parent.parent


class DatabaseId(IntegerConverter):
    """`<int:...>` in every URL: at most the largest database id, so a 30-digit id answers 404, not 500."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        from marketplace.services.values import ID_MAX

        kwargs.setdefault("max", ID_MAX)
        super().__init__(map, *args, **kwargs)


def create_app(config: type | dict[str, Any] | None = None) -> Flask:
    """Build the app. `config` is a config class, a dict of overrides, or None (read the environment)."""
    from marketplace import cli, errors, filters, security
    from marketplace.config import Config, config_from_environment
    from marketplace.extensions import csrf, db, limiter, login_manager, migrate

    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(Path(Config.HUEY_SQLITE_PATH).parent),
    )
    if isinstance(config, dict):
        app.config.from_object(config_from_environment())
        app.config.update(config)
    else:
        app.config.from_object(config or config_from_environment())
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    # Must be set before blueprints add their rules: an id in a URL beyond 64 bits is "not found", not a crash.
    app.url_map.converters["int"] = DatabaseId

    db.init_app(app)
    from marketplace.services import read_models

    read_models.install()  # stored figures know when their data changes (every session's writes)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)  # a fresh counter store per app: memory:// counts per process, Redis is shared
    security.init_app(app)

    from marketplace import auth, clarifications, contracting, coordinator, fleet, main, oem, payments, public_ids

    public_ids.init_app(app)

    for module in (main, auth, coordinator, fleet, oem, contracting, payments, clarifications):
        app.register_blueprint(module.bp)

    from marketplace import notifications

    notifications.init_app(app)
    from marketplace import api

    api.init_app(app)

    errors.register(app)
    filters.register(app)
    cli.register(app)

    from marketplace import handlers, jobs  # noqa: F401  (importing handlers subscribes them to the domain events)

    jobs.init_app(app)
    return app
