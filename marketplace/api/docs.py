"""Interactive documentation of the API, served by the app itself (no CDN: the machines are offline).

Swagger UI 5 (it reads OpenAPI 3.1) comes from the flask-swagger-ui package's dist folder; our own
page and a small script start it, so the Content-Security-Policy needs no inline script.
"""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, render_template, send_from_directory

DIST = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
ASSETS = {"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "favicon-16x16.png"}

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1")


@bp.get("/docs")
def page():
    return render_template("api/docs.html")


@bp.get("/docs/assets/<name>")
def asset(name: str):
    if name not in ASSETS:
        return "", 404
    return send_from_directory(DIST, name, max_age=86400)
