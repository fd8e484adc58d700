"""The fashion-doodles web app: pages, the drawing store and the Python prediction endpoint."""

from __future__ import annotations

import mimetypes
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp import config

# Secrets that tutorials and examples use: a deployment with one of them has no secret at all.
_PUBLIC_SECRETS = {"dev", "secret", "changeme"}


def _check_secret_key(app: Flask) -> None:
    """Generate a random SECRET_KEY if none is set; refuse a well-known one outside tests and debug."""
    key = app.config.get("SECRET_KEY")
    if not key:
        # Nothing the app signs outlives the process (no sessions, no logins), so a fresh
        # key per start is enough; set FLASK_SECRET_KEY to keep client hashes stable.
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    elif key in _PUBLIC_SECRETS and not (app.testing or app.debug):
        raise ValueError(f"SECRET_KEY is the public example value {key!r}: set FLASK_SECRET_KEY to a random string")


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the app: defaults, then instance/config.py, then FLASK_* env vars (or test_config).

    Raises ``webapp.predictor.UnknownModel`` if MODEL_DIR serves no default model set, and
    ``preprocessing.model_metadata.MetadataError`` if its current version does not match this
    code (preprocessing version, outputs): the app refuses to start.
    """
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(config.defaults(app.instance_path))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env()
    else:
        app.config.from_mapping(test_config)
    # One knob for body size: Flask's form parser otherwise stops at its own 500 kB.
    app.config["MAX_FORM_MEMORY_SIZE"] = app.config["MAX_CONTENT_LENGTH"]
    _check_secret_key(app)
    # Keep the model's category order in JSON answers.
    app.json.sort_keys = False
    # Some systems' MIME tables lack .wasm, and browsers compile WebAssembly only when served as such.
    mimetypes.add_type("application/wasm", ".wasm")
    if app.config["TRUSTED_PROXIES"]:
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    from webapp import api, cli, compression, contract, pages, predictor, security, store

    # Fail fast: a server whose model does not match its code would guess wrongly for everyone.
    predictor.init_app(app)

    store.init_app(app)
    security.init_app(app)
    cli.init_app(app)
    api.init_app(app)
    contract.init_app(app)
    app.register_blueprint(pages.bp)
    from webapp import review  # Review and gallery (webapp/review.py); after db, which creates the table.

    review.init_app(app)
    compression.init_app(app)
    return app
