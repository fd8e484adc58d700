"""Review (moderators approve or reject contributions) and the public gallery of approved drawings.

Every contribution starts ``pending``. Moderators, authenticated by ``webapp.auth``, list
the pending ones (doubtful ones first: the model disagrees, or the reference model doubts
the label) and approve or reject many at once; each change is recorded with the reviewer's name. Only approved drawings are ever shown
to the public or trained on; rejected ones stay stored. A drawing's PNG is public once
approved and otherwise answers 404 without a valid token, so nobody learns that a
pending drawing exists. docs/api.md documents the endpoints.
"""

from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request, url_for

from webapp import api, auth, store
from webapp.validation import RequestError

bp = Blueprint("review", __name__)

REVIEW_STATUSES = ("approved", "rejected")  # What a moderator may set; "pending" is only where drawings start.
PNG_TYPE = "image/png"
LARGEST_ID = 2**63 - 1  # Database integers are 64-bit; a larger id cannot exist and would not even bind.


def _labels() -> list[str]:
    """The labels a contribution (so a gallery) can have: the served model's categories, and "other" if it has "none of these"."""
    # Through the API's own accessor, so this follows however the API resolves the served model.
    return api.contribution_labels(api._metadata())


def _count_argument(name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    """A non-negative whole-number query argument within bounds; RequestError otherwise."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    # Any more digits than the largest id has could only be an attack on int().
    if not raw.isascii() or not raw.isdigit() or len(raw) > len(str(LARGEST_ID)):
        raise RequestError(f"{name} must be a whole number")
    value = int(raw)
    maximum = LARGEST_ID if maximum is None else maximum
    if not minimum <= value <= maximum:
        raise RequestError(f"{name} must be between {minimum} and {maximum}")
    return value


def _page_size() -> int:
    """The ``limit`` query argument: how many drawings one page holds."""
    config = current_app.config
    return _count_argument("limit", int(config["REVIEW_PAGE_SIZE"]), 1, int(config["REVIEW_MAX_PAGE_SIZE"]))


def _image_url(drawing_id: int) -> str:
    """Where the drawing's 28x28 PNG is served."""
    return url_for("review.drawing_image", drawing_id=drawing_id)


def _data_url(png: bytes | None) -> str | None:
    """The PNG inline as a data: URL, so the review page needs no request (and no token) per image."""
    return None if png is None else f"data:{PNG_TYPE};base64,{base64.b64encode(png).decode('ascii')}"


def _review_item(row: dict[str, Any]) -> dict[str, Any]:
    """A pending drawing as /api/review lists it."""
    return {
        "id": row["id"],
        "label": row["label"],
        "name": row["name"],
        "guess": row["guess"],
        "guess_probability": row["guess_probability"],
        "reference": row["reference"],
        "reference_doubts": row["reference_doubts"],
        "status": row["status"],
        "created": row["created"],
        "model_version": row.get("model_version"),
        "image_url": _image_url(row["id"]),
        "image": _data_url(store.drawing_png(row["id"])),
    }


def _gallery_item(row: dict[str, Any]) -> dict[str, Any]:
    """An approved drawing as /api/gallery lists it: nothing about who drew it or what the model guessed."""
    return {"id": row["id"], "label": row["label"], "name": row["name"], "created": row["created"],
            "image_url": _image_url(row["id"])}


@bp.get("/api/review")
def review_queue() -> dict[str, Any]:
    """A page of pending drawings, doubtful ones first; ``next`` is the following page's offset, ``pending`` the queue's length."""
    auth.require_reviewer()
    limit = _page_size()
    offset = _count_argument("offset", 0, 0)
    # One extra row says whether another page exists without counting the whole queue.
    rows = store.review_queue(limit + 1, offset)
    return {
        "drawings": [_review_item(row) for row in rows[:limit]],
        "next": offset + limit if len(rows) > limit else None,
        "pending": store.count_drawings("pending"),
    }


def _review_request(payload: Any) -> tuple[list[int], str]:
    """The ids and status of a POST /api/review body; RequestError for anything else."""
    if not isinstance(payload, dict):
        raise RequestError('send a JSON object {"ids": [...], "status": "approved" | "rejected"}')
    status = payload.get("status")
    if status not in REVIEW_STATUSES:
        raise RequestError(f'"status" must be one of {", ".join(REVIEW_STATUSES)}')
    ids = payload.get("ids")
    if not isinstance(ids, list) or not ids:
        raise RequestError('"ids" must be a non-empty list of drawing ids')
    maximum = int(current_app.config["REVIEW_MAX_PAGE_SIZE"])
    if len(ids) > maximum:
        raise RequestError(f"at most {maximum} ids per request")
    # bool is an int in Python, and JSON true is no drawing id.
    if not all(
        isinstance(drawing_id, int) and not isinstance(drawing_id, bool) and 0 < drawing_id <= LARGEST_ID
        for drawing_id in ids
    ):
        raise RequestError('"ids" must hold positive whole numbers')
    unique = list(dict.fromkeys(ids))
    missing = [drawing_id for drawing_id in unique if store.get_drawing(drawing_id) is None]
    if missing:
        shown = ", ".join(str(drawing_id) for drawing_id in missing[:10])
        raise RequestError(f"no drawing with id {shown}; nothing was changed")
    return unique, status


@bp.post("/api/review")
def review_decide() -> dict[str, Any]:
    """Approve or reject many drawings at once, recorded with the reviewer's name."""
    reviewer = auth.require_reviewer()
    ids, status = _review_request(request.get_json(silent=True))
    updated = store.set_status(ids, status, reviewer)
    return {"updated": updated, "ids": ids, "status": status, "reviewer": reviewer}


@bp.get("/api/gallery")
def gallery() -> dict[str, Any]:
    """Approved drawings of one category, newest first; ``next`` is the ``before`` of the following page."""
    label = request.args.get("label")
    labels = _labels()
    if label not in labels:
        raise RequestError(f"label must be one of: {', '.join(labels)}")
    limit = _page_size()
    before = _count_argument("before", 0, 1) or None
    rows = store.gallery(label, before, limit + 1)
    page = rows[:limit]
    return {
        "label": label,
        "drawings": [_gallery_item(row) for row in page],
        "next": page[-1]["id"] if len(rows) > limit else None,
    }


@bp.get("/api/drawings/<int:drawing_id>.png")
def drawing_image(drawing_id: int) -> Response:
    """A drawing's 28x28 PNG: public once approved; pending or rejected only with a valid admin token, else 404."""
    reviewer = auth.optional_reviewer()
    png = store.drawing_png(drawing_id, status=None if reviewer is not None else "approved")
    if png is None:
        return _json_error("no such drawing", 404)
    return Response(png, mimetype=PNG_TYPE)


@bp.get("/review")
def review_page() -> str:
    """The moderators' page: a keyboard-first grid of pending drawings (the token is asked for in the page)."""
    return render_template(
        "review.html",
        review_url=url_for("review.review_queue"),
        metadata_url=url_for("api.model_metadata"),
        vendor_url=url_for("static", filename="vendor/"),
    )


@bp.get("/gallery")
def gallery_page() -> str:
    """Approved drawings, one category at a time; the categories come from the model's metadata."""
    return render_template(
        "gallery.html",
        gallery_url=url_for("review.gallery"),
        metadata_url=url_for("api.model_metadata"),
        vendor_url=url_for("static", filename="vendor/"),
    )


def _json_error(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    """An error response: ``{"error": message}`` with the status and headers."""
    response = jsonify(error=message)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def handle_auth_error(error: auth.AuthError) -> Response:
    """A refused review request: 401 with WWW-Authenticate, 404 when review is off, 429 with Retry-After."""
    response = _json_error(str(error), error.status, error.headers)
    # A moderator's answers must not be kept by a shared cache or the browser.
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Read the admin tokens, register the review and gallery routes and the refusal handler."""
    try:
        auth.init_app(app)
    except ValueError:
        # The app will not start: close the store create_app opened, or its connections leak.
        store.get_store(app).close()
        raise
    app.register_blueprint(bp)
    app.register_error_handler(auth.AuthError, handle_auth_error)
