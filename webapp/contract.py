"""The API's contract: request validation by pydantic, and the OpenAPI 3.1 document generated from the code.

Why pydantic plus apispec rather than spectree or flask-openapi3: both of those take over
Flask's request parsing and error answers (spectree reads bodies with
``request.get_json(silent=True)``, which lets NaN through and turns bad JSON into ``{}``, and
answers with its own list of errors; flask-openapi3 needs every Blueprint replaced and every
view's signature changed). Here the existing blueprints, the strict JSON parser and the
``{"error": sentence}`` handlers stay: views call ``validated()`` where they read their input
(after authentication, so a stranger learns nothing about a body), the ``operation``
decorator records what each route takes and answers, and apispec assembles the document
from those records, the url map and the models' JSON Schemas (``webapp/schemas.py``).
Every route under /api/ and /models/ must carry an ``operation``: the document refuses to
build otherwise, so it cannot silently fall behind the code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from apispec import APISpec
from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, url_for
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from werkzeug.routing import Rule
from werkzeug.routing.converters import NumberConverter

from webapp.predictor import current_model
from webapp.schemas import ANSWER_MODELS, ContractLimits, Error, RequestModels, request_models
from webapp.validation import RequestError, contribution_labels

bp = Blueprint("contract", __name__)

DOCUMENTED_PREFIXES = ("/api/", "/models/")
SCHEMA_REF = "#/components/schemas/{model}"
BEARER_SCHEME = "bearer"
JSON_TYPE = "application/json"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_PATH_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")

Model = TypeVar("Model", bound=BaseModel)
# Turns a refused field's raw value into today's sentence for a person, raising RequestError
# itself when the value deserves another status (415 for an image type); None: the generic one.
Explainer = Callable[[Any], "str | None"]


@dataclass(frozen=True)
class Answer:
    """One documented response: why it is sent, its body's model (or media type), and headers it may carry."""

    description: str
    model: type[BaseModel] | tuple[type[BaseModel], ...] | None = None  # Several: the body is any of them.
    media_types: tuple[str, ...] = (JSON_TYPE,)
    headers: tuple[str, ...] = ()


def refused(description: str, *headers: str) -> Answer:
    """A documented error response: the JSON error shape."""
    return Answer(description, Error, (JSON_TYPE,), headers)


BAD_REQUEST = refused("the request is malformed or breaks a rule; the sentence says which")
TOO_LARGE = refused("the body is larger than MAX_CONTENT_LENGTH")
NOT_JSON = refused("the body is not application/json (or, where accepted, a form), or the image's type is refused")
STORE_UNAVAILABLE = refused("the database is unreachable or stayed locked; nothing was stored", "Retry-After")
UNKNOWN_SET = refused("no such model set")
UNAUTHORIZED = refused("no admin token, a wrong one, or one in the URL or a cookie", "WWW-Authenticate")
REVIEW_OFF = refused("review is disabled on this server (no admin token configured)")
TOO_MANY_FAILURES = refused("too many failed logins from this client", "Retry-After")
HEADER_DESCRIPTIONS = {
    "Retry-After": "seconds to wait before trying again",
    "WWW-Authenticate": 'Bearer realm="review", with error="invalid_token" or "invalid_request" when relevant',
    "ETag": "the version, quoted",
}


@dataclass(frozen=True)
class Operation:
    """What one route takes and answers; RequestModels attribute names stand for the app's request models."""

    answers: Mapping[int, Answer]
    body: tuple[str, ...] = ()  # One model, or several the body may be (anyOf).
    form: str | None = None  # A form model, beside a JSON body.
    query: str | None = None
    headers: str | None = None
    security: str | None = None  # "required", "optional" or None.


def operation(answers: Mapping[int, Answer], **declared: Any) -> Callable[[Callable], Callable]:
    """Record a view's operation for the document; the view itself is unchanged."""
    if isinstance(declared.get("body"), str):
        declared["body"] = (declared["body"],)

    def record(view: Callable) -> Callable:
        view.operation = Operation(answers, **declared)  # type: ignore[attr-defined]
        return view

    return record


def raised_by(check: Callable[[Any], object]) -> Explainer:
    """An explainer that lets a hand-written rule raise its own RequestError (message and status) for the value."""

    def explain(raw: Any) -> None:
        check(raw)
        return None  # The rule passed what the model refused: the generic sentence it is.

    return explain


def current_limits() -> ContractLimits:
    """The running app's limits and the default set's contribution labels (they follow a promoted model)."""
    return ContractLimits.from_config(current_app.config, tuple(contribution_labels(current_model(None).metadata)))


def current_models() -> RequestModels:
    """The request models of the running app."""
    return request_models(current_limits())


def validated(model: type[Model], data: Any, explain: Mapping[str, Explainer] | None = None) -> Model:
    """``data`` validated by ``model``; RequestError with one sentence for a person otherwise.

    The sentence comes from the first refused field's explainer (the wording people already
    know, kept in ``webapp/validation.py``), else from pydantic's error in plain words.
    """
    try:
        return model.model_validate(data)
    except ValidationError as error:
        detail = error.errors(include_url=False)[0]
        raise RequestError(_sentence(detail, data, explain or {})) from None


def _sentence(detail: Mapping[str, Any], data: Any, explain: Mapping[str, Explainer]) -> str:
    """A person's sentence for one pydantic error."""
    location = detail["loc"]
    name = str(location[0]) if location else ""
    if name in explain:
        sentence = explain[name](data.get(name) if isinstance(data, dict) else None)
        if sentence:
            return sentence
    kind = detail["type"]
    if not location:
        return str(detail["msg"])
    if kind == "missing":
        return f"{name} is required"
    if kind.startswith("int_"):
        return f"{name} must be a whole number"
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location[1:])
    message = str(detail["msg"])
    return f"{name}{where}: {message[:1].lower()}{message[1:]}"


def _path(rule: Rule) -> str:
    """A werkzeug rule as an OpenAPI path: ``<int(min=1):drawing_id>`` becomes ``{drawing_id}``."""
    return _PATH_VARIABLE.sub(r"{\1}", rule.rule)


def _path_parameter(rule: Rule, name: str) -> dict[str, Any]:
    """A path variable's parameter, typed by its converter (bounds included)."""
    converter = rule._converters[name]  # The parsed converters; werkzeug has no public accessor.
    if isinstance(converter, NumberConverter):
        schema: dict[str, Any] = {"type": "integer"}
        schema.update({key: value for key, value in (("minimum", converter.min), ("maximum", converter.max))
                       if value is not None})
    else:
        schema = {"type": "string", "pattern": "^[^/]+$"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _parameters(model: type[BaseModel], location: str) -> list[dict[str, Any]]:
    """A query or header model's fields as OpenAPI parameters."""
    schema = model.model_json_schema(ref_template=SCHEMA_REF)
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        # An optional parameter is absent, never null: keep only its non-null form.
        options = [option for option in prop.pop("anyOf", []) if option.get("type") != "null"]
        if options:
            description = description or options[0].pop("description", None)
            prop = {**options[0], **{key: value for key, value in prop.items() if key != "default"}}
        prop.pop("default", None)
        parameter = {"name": name, "in": location, "required": name in required, "schema": prop}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _any_of(models: type[BaseModel] | tuple[type[BaseModel], ...] | None) -> dict[str, Any]:
    """A schema referring to one model, to any of several, or to anything (None)."""
    listed = models if isinstance(models, tuple) else (models,) if models is not None else ()
    refs = [{"$ref": SCHEMA_REF.format(model=model.__name__)} for model in listed]
    return {} if not refs else refs[0] if len(refs) == 1 else {"anyOf": refs}


def _responses(answers: Mapping[int, Answer]) -> dict[str, Any]:
    """The operation's documented responses."""
    responses = {}
    for status, answer in sorted(answers.items()):
        response: dict[str, Any] = {"description": answer.description}
        if answer.media_types:
            content = {}
            for media_type in answer.media_types:
                schema = _any_of(answer.model)
                if not media_type.endswith("json"):
                    schema = {"type": "string", "contentMediaType": media_type}
                content[media_type] = {"schema": schema}
            response["content"] = content
        if answer.headers:
            response["headers"] = {name: {"description": HEADER_DESCRIPTIONS[name], "schema": {"type": "string"}}
                                   for name in answer.headers}
        responses[str(status)] = response
    return responses


def _operation(rule: Rule, view: Callable, spec_operation: Operation, models: RequestModels) -> dict[str, Any]:
    """One OpenAPI operation object."""
    # Docstrings quote code reST-style (``x``); OpenAPI's descriptions are Markdown (`x`).
    summary, _, details = (view.__doc__ or "").strip().replace("``", "`").partition("\n")
    document: dict[str, Any] = {
        "operationId": rule.endpoint.replace(".", "_"),
        "summary": summary.strip(),
        "responses": _responses(spec_operation.answers),
    }
    if details.strip():
        document["description"] = " ".join(details.split())
    parameters = [_path_parameter(rule, name) for name in rule.arguments]
    if spec_operation.query:
        parameters += _parameters(getattr(models, spec_operation.query), "query")
    if spec_operation.headers:
        parameters += _parameters(getattr(models, spec_operation.headers), "header")
    if parameters:
        document["parameters"] = parameters
    content: dict[str, Any] = {}
    if spec_operation.body:
        content[JSON_TYPE] = {"schema": _any_of(tuple(getattr(models, name) for name in spec_operation.body))}
    if spec_operation.form:
        form = _any_of(getattr(models, spec_operation.form))
        content.update({media_type: {"schema": form} for media_type in FORM_TYPES})
    if content:
        document["requestBody"] = {"required": True, "content": content}
    if spec_operation.security == "required":
        document["security"] = [{BEARER_SCHEME: []}]
    elif spec_operation.security == "optional":
        document["security"] = [{}, {BEARER_SCHEME: []}]
    return document


def _documented_rules(app: Flask) -> list[Rule]:
    """Every rule under /api/ and /models/, in a stable order."""
    return sorted((rule for rule in app.url_map.iter_rules() if rule.rule.startswith(DOCUMENTED_PREFIXES)),
                  key=lambda rule: rule.rule)


def openapi_document(app: Flask, limits: ContractLimits) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route under /api/ and /models/, from the views and the models."""
    models = request_models(limits)
    spec = APISpec(
        title="fashion-doodles API", version="2", openapi_version="3.1.0",
        info={"description": "Draw a fashion accessory; a small CNN names it. Every error is JSON "
                             '{"error": "a sentence safe to show a person"}. The prose, examples and limits: '
                             "docs/api.md and docs/limits.md in the repository."},
    )
    request_pairs = [(getattr(models, name), "validation") for name in RequestModels.__dataclass_fields__]
    _, definitions = models_json_schema(request_pairs + [(model, "serialization") for model in ANSWER_MODELS],
                                        ref_template=SCHEMA_REF)
    for name, schema in definitions["$defs"].items():
        spec.components.schema(name, schema)
    spec.components.security_scheme(BEARER_SCHEME, {
        "type": "http", "scheme": "bearer",
        "description": "a moderator's admin token (FLASK_ADMIN_TOKEN or FLASK_ADMIN_TOKENS), in this header only"})
    paths: dict[str, dict[str, Any]] = {}
    for rule in _documented_rules(app):
        view = app.view_functions[rule.endpoint]
        spec_operation = getattr(view, "operation", None)
        if spec_operation is None:
            raise LookupError(f"{rule.rule} has no contract.operation: document it")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(_path(rule), {})[method.lower()] = _operation(rule, view, spec_operation, models)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@bp.get("/api/openapi.json")
@operation({200: Answer("this document", None)})
def openapi_json() -> Response:
    """This API's OpenAPI 3.1 document, generated from the code (it follows the configured limits and the served model)."""
    cache = current_app.extensions.setdefault("doodles.openapi", {})
    limits = current_limits()
    document = cache.get(limits)
    if document is None:
        document = openapi_document(current_app._get_current_object(), limits)  # type: ignore[attr-defined]
        cache.clear()  # One document at a time: a newly promoted model replaces the old one.
        cache[limits] = document
    return jsonify(document)


@bp.get("/api/docs")
@operation({200: Answer("an HTML page", None, ("text/html",))})
def api_docs() -> str:
    """The contract rendered for people by Swagger UI, served from this server (it works offline)."""
    return render_template("api_docs.html", openapi_url=url_for("contract.openapi_json"),
                           vendor_url=url_for("static", filename="vendor/"))


def init_app(app: Flask) -> None:
    """Register the document and its page."""
    app.register_blueprint(bp)
