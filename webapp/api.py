"""The JSON API: predict, contribute a drawing, counts, the served models' metadata and health.

Each view validates its input against the request models of ``webapp/schemas.py`` through
``contract.validated``, applies the rules no schema can express (``validation``), then does
one thing; ``contract.operation`` documents it in /api/openapi.json. Every refusal raises
``RequestError`` with the status to answer, and every error under /api/ is answered as JSON
``{"error": "..."}`` by the handlers registered in ``init_app``; docs/api.md lists them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from flask import Blueprint, Flask, Response, current_app, jsonify, request, url_for
from werkzeug.exceptions import HTTPException, InternalServerError

from preprocessing import decision
from preprocessing.categories import OTHER_LABEL
from preprocessing.model_metadata import MetadataError, is_reference
from webapp import contract, reference, security
from webapp.contract import (
    BAD_REQUEST,
    NOT_JSON,
    STORE_UNAVAILABLE,
    TOO_LARGE,
    UNKNOWN_SET,
    Answer,
    Explainer,
    operation,
    raised_by,
    refused,
    validated,
)
from webapp.schemas import (
    BatchCreated,
    Created,
    DrawingStats,
    Health,
    ModelMetadata,
    ModelSets,
    PredictAnswer,
)
from webapp.predictor import PredictorError, ServedModel, UnknownModel, current_model, get_registry
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
    check_name,
    decode_base64_image,
    drawing_bitmap,
    image_bitmap,
    json_object,
    other_label,
    parse_drawing,
    sniff_image_type,
    strokes_bitmap,
)

logger = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api")

JSON_TYPE = "application/json"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
DATABASE_BUSY_RETRY_SECONDS = 1
Checked = TypeVar("Checked")


def _explain_set(_raw: Any) -> str:
    """Why a requested set was refused (it is not a string)."""
    return '"set" must be the name of a model set'


def _requested_set(named: str | None = None) -> str | None:
    """The model set a request names: ``"set"`` in its JSON (``named``), else ``?set=``; None for the default."""
    if named is None:
        named = validated(contract.current_models().set_query, request.args.to_dict()).set
    if named and is_reference(current_model(named).metadata):
        # A reference model serves review, not people: as far as they can tell, there is no such set.
        raise UnknownModel(f"unknown model set {named!r}")
    return named or None


def _metadata(set_name: str | None = None) -> dict[str, Any]:
    """The metadata.json of a set's current version (the default set's when None), resolved once per request."""
    return current_model(set_name).metadata


def _json_payload() -> dict[str, Any]:
    """The request's JSON object; other content types are refused with 415."""
    if request.mimetype != JSON_TYPE:
        raise UnsupportedMediaType(f"send the body as {JSON_TYPE}")
    # get_data refuses a body over MAX_CONTENT_LENGTH with 413 before reading it.
    return json_object(request.get_data(cache=False))


def _predict_input() -> tuple[np.ndarray, tuple[float, int] | None, str | None]:
    """The bitmap to classify, the drawing's (extent, points) when strokes were sent, and the requested set.

    Strokes come as JSON; an image as JSON or in the form field ``image``. The extent is
    measured on the strokes as sent, before normalisation scales every drawing to one size.
    """
    image_limits = ImageLimits.from_config(current_app.config)
    models = contract.current_models()
    if request.mimetype in FORM_TYPES:
        upload = request.files.get("image")
        if upload is not None:
            return image_bitmap(upload.read(), image_limits), None, _requested_set(request.form.get("set"))
        form = validated(models.predict_form, request.form.to_dict(),
                         {"image": lambda _raw: 'send the image in the form field "image"'})
        return image_bitmap(decode_base64_image(form.image), image_limits), None, _requested_set(form.set)
    if request.mimetype != JSON_TYPE:
        raise UnsupportedMediaType(f"send {JSON_TYPE} (strokes or image) or a form with an image field")
    payload = _json_payload()
    body = validated(models.predict, payload, {**_drawing_explainers(), "set": _explain_set})
    set_name = _requested_set(body.set)
    if "strokes" in body.model_fields_set:
        # The raw strokes: the model checked their shape, parse_drawing checks what no schema can.
        strokes = parse_drawing(payload["strokes"], DrawingLimits.from_config(current_app.config))
        return strokes_bitmap(strokes), stroke_extent(strokes), set_name
    return image_bitmap(decode_base64_image(body.image), image_limits), None, set_name


def _drawing_explainers() -> dict[str, Explainer]:
    """Today's sentences for a drawing's refused fields, from the rules that hold them (``validation``)."""
    limits = DrawingLimits.from_config(current_app.config)
    metadata = _metadata()
    other = other_label(metadata)
    return {
        "label": raised_by(lambda raw: check_label(raw, metadata["categories"], other)),
        "name": raised_by(lambda raw: check_name(raw, other or OTHER_LABEL, other)),
        "strokes": raised_by(lambda raw: parse_drawing(raw, limits)),
        "image": raised_by(decode_base64_image),
    }


def stroke_extent(strokes: list[np.ndarray]) -> tuple[float, int]:
    """The longest side of the strokes' bounding box, in the client's coordinates, and their number of points."""
    points = np.concatenate(strokes)
    return float(np.ptp(points, axis=0).max()), len(points)


def refuse_too_small(strokes: list[np.ndarray], metadata: dict[str, Any]) -> None:
    """Raise RequestError (400) for a drawing the decision rule calls too small to judge: never stored."""
    if decision.is_too_small(metadata["decision"], *stroke_extent(strokes)):
        raise RequestError("the drawing is too small to judge: keep drawing")


def _model_answer(model: ServedModel) -> dict[str, str]:
    """Which model answered: its version and set."""
    return {"version": model.version, "set": model.set_name}


@bp.post("/predict")
@operation({200: Answer("the decision and every output's probability", PredictAnswer), 400: BAD_REQUEST,
            404: UNKNOWN_SET, 413: TOO_LARGE, 415: NOT_JSON,
            503: refused("the Python model cannot be loaded on this server")},
           body="predict", form="predict_form", query="set_query")
def predict() -> dict[str, Any]:
    """Classify one drawing: the label (null for "none of these" or too small), the state, every output's probability."""
    bitmap, size, set_name = _predict_input()
    model = current_model(set_name)
    probabilities = get_registry().predictor(model).probabilities(bitmap)
    extent, points = size if size is not None else (None, None)
    answer = decision.decide(probabilities, model.metadata["decision"], extent, points)
    return {
        "label": answer.label,
        "state": answer.state,
        "probabilities": probabilities,
        "model": _model_answer(model),
    }


def _guess(bitmap: np.ndarray, set_name: str | None = None) -> tuple[str | None, float | None, str | None]:
    """The model's top output for a contribution ("other" included), or Nones: a contribution never fails for the model's sake."""
    try:
        model = current_model(set_name)
        probabilities = get_registry().predictor(model).probabilities(bitmap)
    except Exception:
        logger.exception("No guess stored with a contribution: the model could not run")
        return None, None, None
    top = max(probabilities, key=lambda name: probabilities[name])
    return top, probabilities[top], model.version


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
    sent = {name: value for name, value in request.headers.items() if name.lower() == "idempotency-key"}
    headers = validated(contract.current_models().idempotency, sent,
                        {"Idempotency-Key": lambda _raw: "Idempotency-Key must be 1 to 128 printable ASCII characters"})
    return headers.idempotency_key


def _contribution(item: Any) -> Contribution:
    """One drawing of a contribution request, checked, rendered and guessed at."""
    config = current_app.config
    drawing = _checked_drawing(item)
    metadata = _metadata()
    other = other_label(metadata)
    label = drawing.label
    name = check_name(item.get("name"), label, other)
    # The raw strokes: the model checked their shape, parse_drawing checks what no schema can.
    strokes = parse_drawing(item["strokes"], DrawingLimits.from_config(config))
    refuse_too_small(strokes, metadata)
    bitmap = strokes_bitmap(strokes)
    upload = upload_type = None
    if drawing.image is not None:
        upload = decode_base64_image(drawing.image)
        image_bitmap(upload, ImageLimits.from_config(config))  # Stored only if it decodes and shows a drawing.
        upload_type = sniff_image_type(upload)
    guess, guess_probability, model_version = _guess(bitmap)
    opinion, doubted = reference.opinion(bitmap, label, metadata["categories"], other)
    return Contribution(
        label=label,
        name=name,
        reference=opinion,
        reference_doubts=doubted,
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


def _checked_drawing(item: Any) -> Any:
    """One drawing validated by the Drawing model (``schemas``), with today's sentences.

    The model class is built at run time for the app's limits, hence ``Any``: it has ``label``,
    ``strokes`` and ``image``.
    """
    if not isinstance(item, dict):
        raise RequestError('a drawing must be an object with "label" and "strokes"')
    return validated(contract.current_models().drawing, item, _drawing_explainers())


def _each_drawing(items: list[Any], check: Callable[[Any], Checked]) -> list[Checked]:
    """``check`` applied to every drawing of a batch in order; a refusal says which drawing it was."""
    checked = []
    for index, item in enumerate(items):
        try:
            checked.append(check(item))
        except RequestError as error:
            # Keep the status (400, 415...) and say which drawing it was.
            located = RequestError(f"drawings[{index}]: {error}")
            located.status = error.status
            raise located from error
    return checked


def _explain_batch(items: Any) -> None:
    """Why a batch was refused: the list itself, or its first refused drawing."""
    most = int(current_app.config["MAX_BATCH_DRAWINGS"])
    if not isinstance(items, list) or not 1 <= len(items) <= most:
        raise RequestError(f'"drawings" must be a list of 1 to {most} drawings')
    _each_drawing(items, _checked_drawing)


def _batch(payload: dict[str, Any]) -> list[Contribution]:
    """The drawings of a ``{"drawings": [...]}`` batch, every one checked before any is stored."""
    validated(contract.current_models().batch, payload, {"drawings": _explain_batch})
    return _each_drawing(payload["drawings"], _contribution)


@bp.post("/drawings")
@operation({200: Answer("an Idempotency-Key already used for the same drawing(s): the first answer's ids, nothing "
                        "stored", (Created, BatchCreated)),
            201: Answer("stored: {\"id\"} for one drawing, {\"ids\"} in the order sent for a batch",
                        (Created, BatchCreated)),
            400: BAD_REQUEST, 413: TOO_LARGE, 415: NOT_JSON,
            422: refused("the Idempotency-Key was already used for other drawings"),
            429: refused("too many contributions from this address", "Retry-After"), 503: STORE_UNAVAILABLE},
           body=("drawing", "batch"), headers="idempotency")
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
@operation({200: Answer("the counts", DrawingStats), 503: STORE_UNAVAILABLE})
def drawing_stats() -> dict[str, Any]:
    """How many drawings are stored, in total and per label (every category, zeros included)."""
    by_label = counts_by_label(_metadata()["categories"])
    return {"total": sum(by_label.values()), "by_label": by_label}


def _files_url(model: ServedModel) -> str:
    """Where the version's immutable files are served, ending in a slash: prefix of ``model_url``."""
    return url_for("pages.model_file", set_name=model.set_name, version=model.version, filename="x")[:-1]


@bp.get("/model")
@operation({200: Answer("the metadata", ModelMetadata, headers=("ETag",)),
            304: Answer("If-None-Match named the current version", None, ()), 404: UNKNOWN_SET},
           query="set_query")
def model_metadata() -> Response:
    """The current metadata.json of ``?set=`` (the default set when absent) plus ``files_url``; ETag = version.

    The version changes whenever anything in the answer does, so a page polling with
    If-None-Match gets a bodiless 304 until a new version is promoted.
    """
    model = current_model(_requested_set())
    response = jsonify({**model.metadata, "files_url": _files_url(model)})
    response.set_etag(model.version)
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


@bp.get("/models")
@operation({200: Answer("the served sets", ModelSets)})
def models() -> dict[str, Any]:
    """Every served model set with its title, current version and categories; the default set's name."""
    registry = get_registry()
    sets = []
    for name in registry.sets():
        model = current_model(name)
        sets.append({"name": name, "title": model.metadata["title"], "version": model.version,
                     "categories": model.metadata["categories"]})
    return {"sets": sets, "default": registry.default_set}


@bp.get("/health")
@operation({200: Answer("the server is up", Health), 503: STORE_UNAVAILABLE})
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


def handle_predictor_error(error: PredictorError | MetadataError) -> Response:
    """The Keras model (or a newly promoted version's metadata) is unusable: 503, the reason only in the log."""
    logger.error("The prediction model is unavailable: %s", error)
    return _json_error("the prediction model is unavailable on this server", 503)


def handle_unknown_model(error: UnknownModel) -> Response:
    """A model set or version MODEL_DIR does not hold: 404 JSON, wherever it was asked for."""
    return _json_error(str(error) if _is_api_request() else "no such model file", 404)


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
    app.register_error_handler(MetadataError, handle_predictor_error)
    app.register_error_handler(UnknownModel, handle_unknown_model)
    app.register_error_handler(Exception, handle_unexpected_error)
