"""The two pages people use: draw & recognise, and contribute a labelled drawing.

The pages are static shells: the browser fetches the exported model's ``metadata.json``
(categories, preprocessing spec) and runs the model itself, so no category name is ever
rendered here. URLs reach the JavaScript through ``data-*`` attributes, because the
Content-Security-Policy allows no inline script.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template, send_from_directory, url_for

bp = Blueprint("pages", __name__)


def _page_urls() -> dict[str, Any]:
    """URLs and constants every page hands to its JavaScript."""
    return {
        "metadata_url": url_for("static", filename="model/metadata.json"),
        # The WASM backend fetches its .wasm binaries from this folder, never from a CDN.
        "vendor_url": url_for("static", filename="vendor/"),
    }


@bp.get("/")
def index() -> str:
    """Draw and see the model's guesses while drawing."""
    return render_template("index.html", **_page_urls())


@bp.get("/contribute")
def contribute() -> str:
    """Draw a chosen category and store it on the server as a labelled drawing."""
    return render_template(
        "contribute.html",
        drawings_url="/api/drawings",
        stats_url="/api/drawings/stats",
        **_page_urls(),
    )


@bp.get("/play")
def play() -> str:
    """The game: draw the prompted accessory before the countdown ends while the model guesses."""
    return render_template(
        "play.html",
        drawings_url="/api/drawings",
        examples_url=url_for("static", filename="examples/quickdraw.json"),
        **_page_urls(),
    )


@bp.get("/static/model/<path:filename>")
def model_file(filename: str) -> Response:
    """The exported web model, from WEB_MODEL_DIR: the folder whose metadata the app checked at start-up.

    This rule is more specific than Flask's ``/static/<path:filename>``, so it wins for the
    model's URLs; browsers therefore load the very model the server validated and mirrors.
    """
    return send_from_directory(current_app.config["WEB_MODEL_DIR"], filename)

