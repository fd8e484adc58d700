"""The OpenAPI contract: a valid 3.1 document of every /api/ and /models/ route, generated from the running app.

It follows the app (its limits, the served model's categories), says how review
authenticates and how retries work, and the page that renders it loads nothing from
elsewhere. The sentences people read when a request is refused are pinned word for word.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator
from webapp_support import SQUARE

from training.categories import DEFAULT_CATEGORIES

TOKEN = "contract-token-0123456789abcdef"


@pytest.fixture
def document(client) -> dict:
    """The app's OpenAPI document."""
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.is_json
    return response.get_json()


def test_the_document_is_valid_openapi_3_1(document):
    """openapi-spec-validator accepts it as OpenAPI 3.1."""
    assert document["openapi"] == "3.1.0"
    validate(document, cls=OpenAPIV31SpecValidator)


def test_every_api_and_model_route_is_documented(app, document):
    """Each method of each route under /api/ and /models/ is an operation, and nothing else is."""
    routes = {
        (rule.rule.replace("<int(min=1, max=9223372036854775807):drawing_id>", "{drawing_id}")
         .replace("<set_name>", "{set_name}").replace("<version>", "{version}").replace("<filename>", "{filename}"),
         method.lower())
        for rule in app.url_map.iter_rules() if rule.rule.startswith(("/api/", "/models/"))
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    operations = {(path, method) for path, item in document["paths"].items() for method in item}
    assert operations == routes
    for path, item in document["paths"].items():
        for method, spec in item.items():
            assert spec["summary"], f"{method} {path}"
            for status, response in spec["responses"].items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, f"{method} {path} {status}"
    assert document["components"]["schemas"]["Error"]["required"] == ["error"]


def test_the_document_follows_the_configuration_and_the_model(make_app):
    """Limits and categories come from the running app, not from a copy kept beside it."""
    document = make_app(MAX_STROKES=7, MAX_BATCH_DRAWINGS=3, REVIEW_MAX_PAGE_SIZE=20).test_client().get(
        "/api/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    drawing = schemas["Drawing"]["properties"]
    assert drawing["label"]["enum"] == list(DEFAULT_CATEGORIES)
    assert drawing["strokes"]["maxItems"] == 7
    assert schemas["DrawingBatch"]["properties"]["drawings"]["maxItems"] == 3
    gallery = {parameter["name"]: parameter for parameter in document["paths"]["/api/gallery"]["get"]["parameters"]}
    assert gallery["label"]["required"] and gallery["label"]["schema"]["enum"] == list(DEFAULT_CATEGORIES)
    assert gallery["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 20}


def test_review_needs_the_bearer_scheme_and_contributions_take_an_idempotency_key(document):
    """The moderator's scheme, where it is needed, and the retry header."""
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": document["components"]["securitySchemes"]["bearer"]["description"]}
    paths = document["paths"]
    assert paths["/api/review"]["get"]["security"] == [{"bearer": []}]
    assert paths["/api/review"]["post"]["security"] == [{"bearer": []}]
    assert paths["/api/drawings/{drawing_id}.png"]["get"]["security"] == [{}, {"bearer": []}]
    assert "security" not in paths["/api/drawings"]["post"]
    key, = paths["/api/drawings"]["post"]["parameters"]
    assert key["name"] == "Idempotency-Key" and key["in"] == "header" and not key["required"]
    assert key["schema"]["pattern"] == "^[!-~]{1,128}$"
    png_id, = paths["/api/drawings/{drawing_id}.png"]["get"]["parameters"]
    assert png_id["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


# (path, JSON body, query string, the exact sentence a person reads)
EXACT_MESSAGES = [
    ("/api/drawings", {"label": "hat", "strokes": SQUARE}, "",
     f"unknown label 'hat'; choose one of: {', '.join(DEFAULT_CATEGORIES)}"),
    ("/api/drawings", {"label": 3, "strokes": SQUARE}, "", "label must be a string naming a category"),
    ("/api/drawings", {"label": "sock"}, "", "strokes must be a list of strokes"),
    ("/api/drawings", {"label": "sock", "strokes": [[[1, 2, 3], [4, 5]]]}, "", "stroke 0: 3 x values but 2 y values"),
    ("/api/drawings", {"label": "sock", "strokes": [[[1, "2"], [4, 5]]]}, "", "stroke 0: coordinates must be numbers"),
    ("/api/drawings", {"label": "sock", "strokes": [[[0, 2e6], [0, 1]]]}, "", "coordinates must lie within ±1e+06"),
    ("/api/drawings", {"drawings": []}, "", '"drawings" must be a list of 1 to 12 drawings'),
    ("/api/drawings", {"drawings": [{"label": "sock", "strokes": SQUARE}, {"label": "hat", "strokes": SQUARE}]}, "",
     f"drawings[1]: unknown label 'hat'; choose one of: {', '.join(DEFAULT_CATEGORIES)}"),
    ("/api/drawings", {"drawings": [5]}, "", 'drawings[0]: a drawing must be an object with "label" and "strokes"'),
    ("/api/drawings", {"label": "sock", "strokes": SQUARE, "image": 5}, "", "image must be a string: a data URL or base64"),
    ("/api/predict", {"label": "sock"}, "", 'send either "strokes" or "image"'),
    ("/api/predict", {"strokes": SQUARE, "set": 5}, "", '"set" must be the name of a model set'),
    ("/api/gallery", None, "label=hat", f"label must be one of: {', '.join(DEFAULT_CATEGORIES)}"),
    ("/api/gallery", None, "label=sock&limit=many", "limit must be a whole number"),
    ("/api/gallery", None, "label=sock&limit=500", "limit must be between 1 and 100"),
    ("/api/gallery", None, "label=sock&before=0", "before must be between 1 and 9223372036854775807"),
]


@pytest.mark.parametrize(("path", "body", "query", "message"), EXACT_MESSAGES,
                         ids=[f"{case[0]}-{case[3][:30]}" for case in EXACT_MESSAGES])
def test_refusals_keep_their_sentences(client, path, body, query, message):
    """The library validates, and the person still reads today's sentence, as JSON {"error"} with 400."""
    response = client.post(path, json=body) if body is not None else client.get(f"{path}?{query}")
    assert response.status_code == 400
    assert response.get_json() == {"error": message}


def test_idempotency_key_and_review_sentences(make_app):
    """The retry header's and the moderator's refusals, word for word."""
    client = make_app(ADMIN_TOKEN=TOKEN).test_client()
    refused = client.post("/api/drawings", json={"label": "sock", "strokes": SQUARE}, headers={"Idempotency-Key": "é"})
    assert refused.status_code == 400
    assert refused.get_json() == {"error": "Idempotency-Key must be 1 to 128 printable ASCII characters"}
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    cases = [
        ({"ids": [1], "status": "maybe"}, '"status" must be one of approved, rejected'),
        ({"ids": [], "status": "approved"}, '"ids" must be a non-empty list of drawing ids'),
        ({"ids": [0], "status": "approved"}, '"ids" must hold positive whole numbers'),
        ({"ids": [7], "status": "approved"}, "no drawing with id 7; nothing was changed"),
    ]
    for body, message in cases:
        response = client.post("/api/review", json=body, headers=bearer)
        assert (response.status_code, response.get_json()) == (400, {"error": message})
    # A stranger learns nothing about a body: authentication comes first.
    assert client.post("/api/review", json={"ids": "x"}).status_code == 401
    assert client.get("/api/review?offset=-1", headers=bearer).get_json() == {"error": "offset must be a whole number"}


class _PageParts(HTMLParser):
    """The URLs a page loads and any inline script, style or handler."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Record what one element loads or inlines."""
        attributes = dict(attrs)
        if tag == "script":
            self.loaded.append(attributes.get("src") or "inline script")
        if tag == "link" and attributes.get("href"):
            self.loaded.append(attributes["href"] or "")
        if tag == "style":
            self.inline.append("<style>")
        self.inline += [f"{tag} {name}=" for name in attributes if name == "style" or name.startswith("on")]


def test_the_docs_page_renders_the_contract_from_local_files(client):
    """/api/docs loads Swagger UI from /static/vendor and the contract from this server, with nothing inline."""
    response = client.get("/api/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    parts = _PageParts()
    page = response.get_data(as_text=True)
    parts.feed(page)
    assert parts.inline == []
    assert parts.loaded and all(url.startswith("/static/") for url in parts.loaded), parts.loaded
    assert "/static/vendor/swagger-ui-bundle.js" in parts.loaded
    assert 'data-openapi-url="/api/openapi.json"' in page
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_something_else_is_in_the_contract_where_the_model_has_none_of_these(make_other_app):
    """A set with "none of these" takes "other" with a name; the contract says so, and still refuses a long name."""
    client = make_other_app().test_client()
    schemas = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    assert schemas["Drawing"]["properties"]["label"]["enum"] == [*DEFAULT_CATEGORIES, "other"]
    assert "name" in schemas["Drawing"]["properties"] and "name" in schemas["GalleryItem"]["required"]
    refused = client.post("/api/drawings", json={"label": "other", "name": 7, "strokes": SQUARE})
    assert refused.get_json() == {"error": '"name" must be a string: what the drawing is, e.g. "house"'}
