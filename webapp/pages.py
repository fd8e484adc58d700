"""The two pages people use (draw & recognise, contribute a labelled drawing) and the served model files.

The pages are static shells: the browser fetches the served model's metadata from
``/api/model`` (categories, preprocessing spec, ``files_url``) and runs the model itself, so
no category name is ever rendered here. URLs reach the JavaScript through ``data-*``
attributes, because the Content-Security-Policy allows no inline script.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template, send_from_directory, url_for
from werkzeug.exceptions import NotFound

from preprocessing.categories import all_categories
from webapp.contract import Answer, operation, refused
from webapp.predictor import UnknownModel, get_registry
from webapp.validation import MAX_NAME_LENGTH

bp = Blueprint("pages", __name__)


def _page_urls() -> dict[str, Any]:
    """URLs and switches every page hands to its JavaScript."""
    return {
        "metadata_url": url_for("api.model_metadata", set=get_registry().default_set),
        "models_url": url_for("api.models"),
        # The WASM backend fetches its .wasm binaries from this folder, never from a CDN.
        "vendor_url": url_for("static", filename="vendor/"),
        # window.__doodles (predict any strokes from the console) only where tests ask for it.
        "test_hooks": bool(current_app.config["TEST_HOOKS"]),
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
        drawings_url=url_for("api.create_drawing"),
        stats_url=url_for("api.drawing_stats"),
        # Suggestions for "Something else…": Quick Draw's own names, from the one list the project keeps.
        quickdraw_names=all_categories(),
        max_name_length=MAX_NAME_LENGTH,
        **_page_urls(),
    )


@bp.get("/play")
def play() -> str:
    """The game: draw the prompted accessory before the countdown ends while the model guesses."""
    return render_template(
        "play.html",
        drawings_url=url_for("api.create_drawing"),
        examples_url=url_for("static", filename="examples/quickdraw.json"),
        **_page_urls(),
    )


@bp.get("/models/<set_name>/<version>/<filename>")
@operation({200: Answer("the file (model.json and metadata.json are JSON, the rest bytes)", None,
                        ("application/json", "application/octet-stream")),
            404: refused("no such set, version or file")})
def model_file(set_name: str, version: str, filename: str) -> Response:
    """A file of one served version (model.json, shards, metadata.json, model.keras), cached for good.

    A version folder never changes once written (``security`` sends Cache-Control immutable).
    An unknown set or version is a 404 JSON answer (``UnknownModel``), and
    ``send_from_directory`` refuses any name outside the version folder.
    """
    model = get_registry().version(set_name, version)
    try:
        return send_from_directory(model.directory, filename)
    except NotFound:
        raise UnknownModel(f"no file {filename!r} in version {version!r} of model set {set_name!r}") from None
