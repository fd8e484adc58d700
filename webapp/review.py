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

from webapp import api, auth, contract, store
from webapp.contract import BAD_REQUEST, REVIEW_OFF, TOO_MANY_FAILURES, UNAUTHORIZED, Answer, operation, validated
from webapp.schemas import LARGEST_ID, REVIEW_STATUSES, GalleryPage, ReviewDecided, ReviewQueue
from webapp.validation import RequestError, contribution_labels, whole_number_sentence

bp = Blueprint("review", __name__)

PNG_TYPE = "image/png"
# Who may call what: review needs a moderator's token; the PNG takes one to show unapproved drawings.
REVIEW_REFUSALS = {401: UNAUTHORIZED, 404: REVIEW_OFF, 429: TOO_MANY_FAILURES}


def _labels() -> list[str]:
    """The labels a contribution (so a gallery) can have: the served model's categories, and "other" if it has "none of these"."""
    # Through the API's own accessor, so this follows however the API resolves the served model.
    return contribution_labels(api._metadata())


def _paging_explainers(**minimums: int) -> dict[str, contract.Explainer]:
    """Today's sentences for refused paging arguments (``limit`` and those named, with their minimum)."""
    largest_page = int(current_app.config["REVIEW_MAX_PAGE_SIZE"])
    explain = {"limit": lambda raw: whole_number_sentence("limit", raw, 1, largest_page)}
    for name, minimum in minimums.items():
        explain[name] = lambda raw, name=name, minimum=minimum: whole_number_sentence(name, raw, minimum, LARGEST_ID)
    return explain


def _page_size(limit: int | None) -> int:
    """How many drawings one page holds: ``?limit=`` or the configured default."""
    return int(current_app.config["REVIEW_PAGE_SIZE"]) if limit is None else limit


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
@operation({200: Answer("a page of the queue", ReviewQueue), 400: BAD_REQUEST, **REVIEW_REFUSALS},
           query="review_query", security="required")
def review_queue() -> dict[str, Any]:
    """A page of pending drawings, doubtful ones first; ``next`` is the following page's offset, ``pending`` the queue's length."""
    auth.require_reviewer()
    query = validated(contract.current_models().review_query, request.args.to_dict(), _paging_explainers(offset=0))
    limit = _page_size(query.limit)
    offset = query.offset or 0
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
    decision = validated(contract.current_models().review_decision, payload,
                         {"status": lambda _raw: f'"status" must be one of {", ".join(REVIEW_STATUSES)}',
                          "ids": _explain_ids})
    unique = list(dict.fromkeys(decision.ids))
    missing = [drawing_id for drawing_id in unique if store.get_drawing(drawing_id) is None]
    if missing:
        shown = ", ".join(str(drawing_id) for drawing_id in missing[:10])
        raise RequestError(f"no drawing with id {shown}; nothing was changed")
    return unique, decision.status


def _explain_ids(ids: Any) -> str:
    """Why a list of ids was refused."""
    if not isinstance(ids, list) or not ids:
        return '"ids" must be a non-empty list of drawing ids'
    maximum = int(current_app.config["REVIEW_MAX_PAGE_SIZE"])
    if len(ids) > maximum:
        return f"at most {maximum} ids per request"
    return '"ids" must hold positive whole numbers'


@bp.post("/api/review")
@operation({200: Answer("what changed", ReviewDecided), 400: BAD_REQUEST, **REVIEW_REFUSALS},
           body="review_decision", security="required")
def review_decide() -> dict[str, Any]:
    """Approve or reject many drawings at once, recorded with the reviewer's name."""
    reviewer = auth.require_reviewer()
    ids, status = _review_request(request.get_json(silent=True))
    updated = store.set_status(ids, status, reviewer)
    return {"updated": updated, "ids": ids, "status": status, "reviewer": reviewer}


@bp.get("/api/gallery")
@operation({200: Answer("a page of approved drawings", GalleryPage), 400: BAD_REQUEST}, query="gallery_query")
def gallery() -> dict[str, Any]:
    """Approved drawings of one category, newest first; ``next`` is the ``before`` of the following page."""
    labels = _labels()
    query = validated(contract.current_models().gallery_query, request.args.to_dict(),
                      {"label": lambda _raw: f"label must be one of: {', '.join(labels)}",
                       **_paging_explainers(before=1)})
    label, limit, before = query.label, _page_size(query.limit), query.before
    rows = store.gallery(label, before, limit + 1)
    page = rows[:limit]
    return {
        "label": label,
        "drawings": [_gallery_item(row) for row in page],
        "next": page[-1]["id"] if len(rows) > limit else None,
    }


# The converter's bounds make an id no drawing can have (0, or past the database's 64-bit
# integers) an unmatched URL, so a 404, before the store is asked.
@bp.get(f"/api/drawings/<int(min=1, max={LARGEST_ID}):drawing_id>.png")
@operation({200: Answer("the 28x28 PNG, white ink on black", None, (PNG_TYPE,)),
            401: UNAUTHORIZED, 404: contract.refused("no such drawing, or not approved and no admin token"),
            429: TOO_MANY_FAILURES}, security="optional")
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
