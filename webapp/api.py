"""The JSON API: predict, contribute a drawing, counts, the model's metadata and health.

Each view reads its input through ``validation`` (which raises ``RequestError`` with the
status to answer), then does one thing. Every error under /api/ is answered as JSON
``{"error": "..."}`` by the handlers registered in ``init_app``; docs/api.md lists them.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

from webapp import security
from webapp.predictor import PredictorError, get_predictor
from webapp.store import (
    Contribution,
    IdempotencyConflict,
    StoreUnavailable,
    add_drawings,
    count_drawings,
    counts_by_label,
)
from webapp.validation import (
    DrawingLimits,
    ImageLimits,
    RequestError,
    UnsupportedMediaType,
    check_label,
    decode_base64_image,
    drawing_bitmap,
    image_bitmap,
    json_object,
    parse_drawing,
    sniff_image_type,
    strokes_bitmap,
)

logger = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api")

JSON_TYPE = "application/json"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
DATABASE_BUSY_RETRY_SECONDS = 1
# An Idempotency-Key is the client's own token for one donation (a UUID, say): printable, short.
IDEMPOTENCY_KEY_PATTERN = re.compile(r"[!-~]{1,128}")


def _metadata() -> dict[str, Any]:
    """The exported model's metadata.json, loaded and checked when the app started."""
    return current_app.extensions["doodles.metadata"]


def _json_payload() -> dict[str, Any]:
    """The request's JSON object; other content types are refused with 415."""
    if request.mimetype != JSON_TYPE:
        raise UnsupportedMediaType(f"send the body as {JSON_TYPE}")
    # get_data refuses a body over MAX_CONTENT_LENGTH with 413 before reading it.
    return json_object(request.get_data(cache=False))


def _predict_bitmap() -> np.ndarray:
    """The bitmap to classify, from JSON strokes, a JSON image, or the form field ``image``."""
    image_limits = ImageLimits.from_config(current_app.config)
    if request.mimetype in FORM_TYPES:
        upload = request.files.get("image")
        if upload is not None:
            return image_bitmap(upload.read(), image_limits)
        if "image" not in request.form:
            raise RequestError('send the image in the form field "image"')
        return image_bitmap(decode_base64_image(request.form["image"]), image_limits)
    if request.mimetype != JSON_TYPE:
        raise UnsupportedMediaType(f"send {JSON_TYPE} (strokes or image) or a form with an image field")
    payload = _json_payload()
    if ("strokes" in payload) == ("image" in payload):
        raise RequestError('send either "strokes" or "image"')
    if "strokes" in payload:
        return drawing_bitmap(payload["strokes"], DrawingLimits.from_config(current_app.config))
    return image_bitmap(decode_base64_image(payload["image"]), image_limits)


def _ranked(probabilities: dict[str, float]) -> list[dict[str, Any]]:
    """Categories with their probabilities, most likely first."""
    ordered = sorted(probabilities.items(), key=lambda item: item[1], reverse=True)
    return [{"label": label, "probability": probability} for label, probability in ordered]


@bp.post("/predict")
def predict() -> dict[str, Any]:
    """Classify one drawing: the top label, every category's probability, and the model version."""
    bitmap = _predict_bitmap()
    predictor = get_predictor()
    probabilities = predictor.probabilities(bitmap)
    ranked = _ranked(probabilities)
    return {
        "label": ranked[0]["label"],
        "probabilities": probabilities,
        "model": {"version": predictor.version},
    }


def _guess(bitmap: np.ndarray) -> tuple[str | None, float | None, str | None]:
    """The model's guess for a contribution, or Nones: a contribution never fails for the model's sake."""
    try:
        predictor = get_predictor()
        top = _ranked(predictor.probabilities(bitmap))[0]
    except Exception:
        logger.exception("No guess stored with a contribution: the model could not run")
        return None, None, None
    return top["label"], top["probability"], predictor.version


def _rate_limited() -> Response | None:
    """A 429 answer if this client used up its contributions, else None (the attempt is counted either way)."""
    limiter = current_app.extensions["doodles.rate_limiter"]
    if limiter is None:
        return None
    key = security.client_hash(security.client_address(), current_app.config["SECRET_KEY"])
    wait = limiter.hit(key)
    if wait <= 0:
        return None
    return _json_error("too many contributions from this address; try again later", 429,
                       {"Retry-After": str(security.retry_after_seconds(wait))})


def _idempotency_key() -> str | None:
    """The request's Idempotency-Key header, checked, or None."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY_PATTERN.fullmatch(key):
        raise RequestError("Idempotency-Key must be 1 to 128 printable ASCII characters")
    return key


def _contribution(item: Any) -> Contribution:
    """One drawing of a contribution request, checked, rendered and guessed at."""
    config = current_app.config
    if not isinstance(item, dict):
        raise RequestError('a drawing must be an object with "label" and "strokes"')
    metadata = _metadata()
    label = check_label(item.get("label"), metadata["categories"])
    strokes = parse_drawing(item.get("strokes"), DrawingLimits.from_config(config))
    bitmap = strokes_bitmap(strokes)
    upload = upload_type = None
    if item.get("image") is not None:
        upload = decode_base64_image(item["image"])
        image_bitmap(upload, ImageLimits.from_config(config))  # Stored only if it decodes and shows a drawing.
        upload_type = sniff_image_type(upload)
    guess, guess_probability, model_version = _guess(bitmap)
    return Contribution(
        label=label,
        strokes=strokes,
        bitmap=bitmap,
        model_version=model_version,
        model_set=metadata.get("set"),
        guess=guess,
        guess_probability=guess_probability,
        upload=upload,
        upload_type=upload_type,
        client_hash=security.client_hash(security.client_address(), config["SECRET_KEY"]),
    )


def _batch(payload: dict[str, Any]) -> list[Contribution]:
    """The drawings of a ``{"drawings": [...]}`` batch, every one checked before any is stored."""
    items = payload["drawings"]
    most = int(current_app.config["MAX_BATCH_DRAWINGS"])
    if not isinstance(items, list) or not 1 <= len(items) <= most:
        raise RequestError(f'"drawings" must be a list of 1 to {most} drawings')
    contributions = []
    for index, item in enumerate(items):
        try:
            contributions.append(_contribution(item))
        except RequestError as error:
            # Keep the status (400, 415...) and say which drawing it was.
            located = RequestError(f"drawings[{index}]: {error}")
            located.status = error.status
            raise located from error
    return contributions


@bp.post("/drawings")
def create_drawing() -> tuple[dict[str, Any], int] | Response:
    """Store one labelled drawing (201 ``{"id"}``) or a batch of up to 12 in one transaction (201 ``{"ids"}``).

    A batch is one rate-limit hit. With an Idempotency-Key already used for the same
    drawings, nothing new is stored and the first answer's ids come back with 200.
    """
    limited = _rate_limited()
    if limited is not None:
        return limited
    payload = _json_payload()
    key = _idempotency_key()
    is_batch = "drawings" in payload
    contributions = _batch(payload) if is_batch else [_contribution(payload)]
    try:
        ids = add_drawings(contributions, idempotency_key=key)
    except IdempotencyConflict as error:
        return _json_error(str(error), 422)
    body = {"ids": list(ids)} if is_batch else {"id": ids[0]}
    return body, 201 if ids.created else 200


@bp.get("/drawings/stats")
def drawing_stats() -> dict[str, Any]:
    """How many drawings are stored, in total and per label (every category, zeros included)."""
    by_label = counts_by_label(_metadata()["categories"])
    return {"total": sum(by_label.values()), "by_label": by_label}


@bp.get("/model")
def model_metadata() -> dict[str, Any]:
    """The served model's metadata.json."""
    return _metadata()


@bp.get("/health")
def health() -> dict[str, Any]:
    """Liveness: the model version the app serves and the number of stored drawings."""
    return {"status": "ok", "model": _metadata()["version"], "drawings": count_drawings()}


def _json_error(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    """An API error response: ``{"error": message}`` with the status."""
    response = jsonify(error=message)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _is_api_request() -> bool:
    """Whether the request is for the JSON API (its errors are JSON, the pages' are HTML)."""
    return request.path == bp.url_prefix or request.path.startswith(f"{bp.url_prefix}/")


def handle_request_error(error: RequestError) -> Response:
    """A refused request: its message and status."""
    return _json_error(str(error), error.status)


def handle_http_error(error: HTTPException) -> Response | HTTPException:
    """Werkzeug's HTTP errors (404, 405, 413, ...) as JSON under /api/, as usual elsewhere."""
    if not _is_api_request():
        return error
    if error.code == 413:
        message = f"the request body is too large (at most {current_app.config['MAX_CONTENT_LENGTH']} bytes)"
    else:
        message = (error.description or error.name).strip()
    # Keep headers such as Allow (405) from the original response.
    headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
    return _json_error(message, error.code or 500, headers)


def handle_database_busy(error: StoreUnavailable) -> Response:
    """The database is unreachable, or stayed locked past its timeout: 503, try again (nothing was stored)."""
    logger.error("Database unavailable: %s", error)
    return _json_error("the drawing store is unavailable; try again", 503, {"Retry-After": str(DATABASE_BUSY_RETRY_SECONDS)})


def handle_predictor_error(error: PredictorError) -> Response:
    """The Keras model could not be loaded: 503, with the reason only in the server log."""
    logger.error("The prediction model is unavailable: %s", error)
    return _json_error("the prediction model is unavailable on this server", 503)


def handle_unexpected_error(error: Exception) -> Response | HTTPException:
    """Any other exception: logged with its traceback; the client sees no details."""
    if isinstance(error, HTTPException):
        return handle_http_error(error)
    logger.exception("Unhandled error on %s %s", request.method, request.path)
    if not _is_api_request():
        return InternalServerError(original_exception=error)
    return _json_error("internal server error", 500)


def init_app(app: Flask) -> None:
    """Register the blueprint and the JSON error handlers."""
    app.register_blueprint(bp)
    app.register_error_handler(RequestError, handle_request_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(StoreUnavailable, handle_database_busy)
    app.register_error_handler(PredictorError, handle_predictor_error)
    app.register_error_handler(Exception, handle_unexpected_error)
