"""The API's request and answer shapes, declared once as pydantic models: validated by pydantic, published by ``contract``.

Request models depend on the running app: its limits (``webapp/config.py``) and the served
model's categories. ``request_models`` builds them once per distinct ``ContractLimits``, so the
schema a client reads in /api/openapi.json is the one its requests are validated against.
Answer models are fixed; they are checked against real answers by the fuzzing test.
What no schema can express (x and y lists of equal length, timestamps that never decrease,
points of all strokes together, a drawing's extent, image bytes) stays in
``webapp/validation.py`` and ``preprocessing/strokes.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, model_validator
from pydantic_core import PydanticCustomError

from webapp.validation import MAX_NAME_LENGTH

LARGEST_ID = 2**63 - 1  # Database integers are 64-bit; a larger id cannot exist and would not even bind.
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]{1,128}$"  # The client's own token for one donation (a UUID, say): printable, short.
REVIEW_STATUSES = ("approved", "rejected")  # What a moderator may set; "pending" is only where drawings start.
PREDICT_STATES = ("named", "unsure", "other", "too-small")  # preprocessing.decision's states.
EITHER_STROKES_OR_IMAGE = 'send either "strokes" or "image"'
# An outline square in canvas pixels: the documents' example drawing (Swagger UI shows it,
# and schemathesis sends it, so the fuzzer also reaches what happens after validation).
EXAMPLE_STROKES = [[[10, 200, 200, 10, 10], [10, 10, 200, 200, 10]]]

DrawingId = Annotated[int, Field(ge=1, le=LARGEST_ID)]  # Lax: query strings; JSON bodies add Strict().
SetName = Annotated[str, Field(description="a model set served from MODEL_DIR (GET /api/models lists them); "
                                           "the default set when absent")]
Image = Annotated[str, Field(description="a data URL (data:image/png;base64,...) or bare base64 of a PNG, JPEG or "
                                         "WEBP image; its format is read from its bytes")]


def _blank_is_absent(value: Any) -> Any:
    """An empty query argument (``?limit=``) means the default, as if it were not sent."""
    return None if value == "" else value


def _without_null_defaults(schema: dict[str, Any]) -> None:
    """Drop ``"default": null`` from properties that may not be null: absent is the default, null is not allowed."""
    for prop in schema.get("properties", {}).values():
        if prop.get("default", 0) is None and "anyOf" not in prop:
            del prop["default"]


def _strokes_or_image(schema: dict[str, Any]) -> None:
    """Say in the schema what PredictRequest's validator checks: strokes or image, exactly one."""
    _without_null_defaults(schema)
    schema["oneOf"] = [{"required": ["strokes"]}, {"required": ["image"]}]
    schema["examples"] = [{"strokes": EXAMPLE_STROKES}]


@dataclass(frozen=True)
class ContractLimits:
    """What request models depend on: the labels a contribution may have (the served model's categories, and
    "other" when it has "none of these") and the app's configured limits."""

    labels: tuple[str, ...]
    max_strokes: int
    max_points: int
    max_coordinate: float
    max_batch_drawings: int
    page_size: int
    max_page_size: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any], labels: tuple[str, ...]) -> ContractLimits:
        """Read the limits from the app's configuration."""
        return cls(labels, int(config["MAX_STROKES"]), int(config["MAX_POINTS"]),
                   float(config["MAX_COORDINATE"]), int(config["MAX_BATCH_DRAWINGS"]),
                   int(config["REVIEW_PAGE_SIZE"]), int(config["REVIEW_MAX_PAGE_SIZE"]))


@dataclass(frozen=True)
class RequestModels:
    """The request models of one ``ContractLimits``."""

    predict: type[BaseModel]
    predict_form: type[BaseModel]
    set_query: type[BaseModel]
    drawing: type[BaseModel]
    batch: type[BaseModel]
    idempotency: type[BaseModel]
    review_query: type[BaseModel]
    review_decision: type[BaseModel]
    gallery_query: type[BaseModel]


@functools.lru_cache(maxsize=16)  # A few configurations (tests) and promoted models.
def request_models(limits: ContractLimits) -> RequestModels:
    """Build the request models for these limits (cached: one build per categories and configuration)."""
    Coordinate = Annotated[float, Strict(), Field(ge=-limits.max_coordinate, le=limits.max_coordinate)]
    Time = Annotated[float, Strict(), Field(ge=0, description="milliseconds; never decreasing within a stroke")]
    Stroke = Annotated[
        tuple[list[Coordinate], list[Coordinate]] | tuple[list[Coordinate], list[Coordinate], list[Time]],
        Field(description="Quick Draw's [[x0, x1, ...], [y0, y1, ...]] with an optional third list of timestamps, "
                          "one per point; never [x, y] pairs"),
    ]
    Strokes = Annotated[list[Stroke], Field(
        min_length=1, max_length=limits.max_strokes,
        description=f"at most {limits.max_strokes} strokes and {limits.max_points} points in all, "
                    f"coordinates within ±{limits.max_coordinate:g}; empty strokes are skipped, "
                    "a drawing with no point is refused")]
    Label = Literal[limits.labels]  # type: ignore[valid-type]
    PageSize = Annotated[int, Field(ge=1, le=limits.max_page_size,
                                     description=f"drawings per page (default {limits.page_size})")]

    class PredictRequest(BaseModel):
        """A drawing to classify: its strokes or an image, never both."""

        model_config = ConfigDict(json_schema_extra=_strokes_or_image)

        strokes: Strokes = None  # type: ignore[assignment]  # Absent unless sent; null is not a drawing.
        image: Image = None  # type: ignore[assignment]
        set: SetName | None = None

        @model_validator(mode="after")
        def _either(self) -> PredictRequest:
            """Exactly one of strokes and image."""
            if ("strokes" in self.model_fields_set) == ("image" in self.model_fields_set):
                raise PydanticCustomError("either", EITHER_STROKES_OR_IMAGE)
            return self

    class PredictForm(BaseModel):
        """The original endpoint's form: an image as a data URL or base64 (or a file upload, multipart only)."""

        image: Image
        set: SetName | None = None

    class SetQuery(BaseModel):
        """The query of endpoints that serve one model set."""

        set: SetName | None = None

    example = {"label": limits.labels[0], "strokes": EXAMPLE_STROKES}

    class Drawing(BaseModel):
        """One labelled drawing to store."""

        model_config = ConfigDict(json_schema_extra={"examples": [example]})

        label: Label = Field(description='one of the served model\'s categories, exact string, or "other" ("something '
                                         'else") when the model has "none of these"')
        strokes: Strokes
        image: Image | None = Field(None, description="optional: the client's own image of the drawing, stored "
                                                      "beside it if it decodes and shows a drawing")
        # Only beside "label": "other", and 1 to MAX_NAME_LENGTH characters once trimmed: rules
        # across fields and on trimmed text, kept in validation.check_name.
        name: str | None = Field(None, description='what a drawing labelled "other" is (e.g. "house"): trimmed, 1 to '
                                                   f'{MAX_NAME_LENGTH} printable characters; only with "label": "other"')

    class DrawingBatch(BaseModel):
        """Up to MAX_BATCH_DRAWINGS drawings stored together, in one transaction, or none."""

        model_config = ConfigDict(json_schema_extra={"examples": [{"drawings": [example, example]}]})

        drawings: Annotated[list[Drawing], Field(min_length=1, max_length=limits.max_batch_drawings)]

    class IdempotencyHeaders(BaseModel):
        """The optional retry key of a contribution."""

        model_config = ConfigDict(json_schema_extra=_without_null_defaults)

        idempotency_key: Annotated[str, Field(
            alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY_PATTERN,
            description="the client's key for one donation (a UUID, say): the same key with the same drawings "
                        "stores nothing new and answers 200 with the first ids; with other drawings, 422")] = None  # type: ignore[assignment]

    class ReviewQuery(BaseModel):
        """Paging through the review queue."""

        limit: Annotated[PageSize | None, BeforeValidator(_blank_is_absent)] = None
        offset: Annotated[Annotated[int, Field(ge=0, le=LARGEST_ID)] | None, BeforeValidator(_blank_is_absent),
                          Field(description="drawings to skip (default 0)")] = None

    class ReviewDecision(BaseModel):
        """Approve or reject drawings."""

        status: Literal[REVIEW_STATUSES]  # type: ignore[valid-type]
        ids: Annotated[list[Annotated[DrawingId, Strict()]], Field(min_length=1, max_length=limits.max_page_size)]

    class GalleryQuery(BaseModel):
        """One category's approved drawings, newest first."""

        label: Label
        limit: Annotated[PageSize | None, BeforeValidator(_blank_is_absent)] = None
        before: Annotated[DrawingId | None, BeforeValidator(_blank_is_absent),
                          Field(description="the next page's start: the previous page's next")] = None

    return RequestModels(PredictRequest, PredictForm, SetQuery, Drawing, DrawingBatch, IdempotencyHeaders,
                         ReviewQuery, ReviewDecision, GalleryQuery)


class Error(BaseModel):
    """Every refusal and failure: one sentence safe to show a person, never a stack trace."""

    error: str


class ModelRef(BaseModel):
    """Which model answered."""

    version: str
    set: str


class PredictAnswer(BaseModel):
    """The decision rule's answer and every output's probability (they sum to 1)."""

    label: str | None
    state: Literal[PREDICT_STATES]  # type: ignore[valid-type]
    probabilities: dict[str, float]
    model: ModelRef


class Created(BaseModel):
    """The stored drawing's id."""

    id: int


class BatchCreated(BaseModel):
    """The stored drawings' ids, in the order sent."""

    ids: list[int]


class DrawingStats(BaseModel):
    """Stored drawings, in total and per label."""

    total: int
    by_label: dict[str, int]


class ModelMetadata(BaseModel):
    """The current version's metadata.json, plus where its files are served."""

    model_config = ConfigDict(extra="allow")

    version: str
    set: str
    categories: list[str]
    files_url: str


class ModelSet(BaseModel):
    """One served model set."""

    name: str
    title: str
    version: str
    categories: list[str]


class ModelSets(BaseModel):
    """Every served set, and the default one's name."""

    sets: list[ModelSet]
    default: str


class Health(BaseModel):
    """Liveness."""

    status: Literal["ok"]
    model: str
    drawings: int


class ReferenceGuess(BaseModel):
    """One of the reference model's top 3 for a drawing."""

    label: str
    probability: float


class ReviewItem(BaseModel):
    """A pending drawing in the review queue."""

    id: int
    label: str
    name: str | None
    guess: str | None
    guess_probability: float | None
    reference: list[ReferenceGuess] | None
    reference_doubts: bool | None
    status: str
    created: str
    model_version: str | None
    image_url: str
    image: str | None


class ReviewQueue(BaseModel):
    """A page of the review queue."""

    drawings: list[ReviewItem]
    next: int | None
    pending: int


class ReviewDecided(BaseModel):
    """What a review changed."""

    updated: int
    ids: list[int]
    status: str
    reviewer: str


class GalleryItem(BaseModel):
    """An approved drawing: nothing about who drew it or what the model guessed."""

    id: int
    label: str
    name: str | None
    created: str
    image_url: str


class GalleryPage(BaseModel):
    """A page of one category's approved drawings."""

    label: str
    drawings: list[GalleryItem]
    next: int | None


ANSWER_MODELS: tuple[type[BaseModel], ...] = (
    Error, PredictAnswer, Created, BatchCreated, DrawingStats, ModelMetadata, ModelSets, Health,
    ReviewQueue, ReviewDecided, GalleryPage,
)
