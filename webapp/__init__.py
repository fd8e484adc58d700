"""The fashion-doodles web app: pages, the drawing store and the Python prediction endpoint."""

from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the app: defaults, then instance/config.py, then FLASK_* env vars."""
    app = Flask(__name__, instance_relative_config=True)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env()
    else:
        app.config.from_mapping(test_config)

    from webapp import pages

    app.register_blueprint(pages.bp)
    return app
