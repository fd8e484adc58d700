"""Untrusted request bodies to checked values: JSON, labels, strokes and images, within limits.

Every refusal is a ``RequestError`` (a ``ValueError``) carrying the HTTP status the API
answers with and a message safe to show the person: 400 for anything malformed or
invalid, 415 for a content or image type the server does not take. ``docs/limits.md``
lists the limits. Rendering itself is ``preprocessing``'s job; this module only guards it.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from preprocessing.categories import OTHER_LABEL
from preprocessing.image import decode_image, image_to_bitmap
from preprocessing.strokes import DrawingError, Stroke, parse_strokes, strokes_to_bitmap

# Signatures of the image formats Pillow might be asked about, so that a known but refused
# format (415) is told apart from a corrupt image of an accepted one (400) without letting
# any decoder but the accepted ones see the bytes.
_IMAGE_SIGNATURES: tuple[tuple[str, re.Pattern[bytes]], ...] = (
    ("PNG", re.compile(rb"\A\x89PNG\r\n\x1a\n")),
    ("JPEG", re.compile(rb"\A\xff\xd8\xff")),
    ("GIF", re.compile(rb"\AGIF8[79]a")),
    ("WEBP", re.compile(rb"\ARIFF....WEBP", re.DOTALL)),
    ("BMP", re.compile(rb"\ABM")),
    ("TIFF", re.compile(rb"\A(II\*\x00|MM\x00\*)")),
    ("ICO", re.compile(rb"\A\x00\x00\x01\x00")),
)
_DATA_URL = re.compile(r"\Adata:(?P<type>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w.+-]+=[\w.+-]+)*)(?P<base64>;base64)?,",
                       re.IGNORECASE)
_LONGEST_ECHO = 40  # Characters of a refused value quoted back in an error message.
MAX_NAME_LENGTH = 40  # Characters of a "something else" drawing's name: a Quick Draw name is at most 23.


class RequestError(ValueError):
    """A request the API refuses; ``status`` is the HTTP status to answer with."""

    status = 400


class UnsupportedMediaType(RequestError):
    """A body or image of a type the API does not accept."""

    status = 415


@dataclass(frozen=True)
class DrawingLimits:
    """How large a drawing may be: strokes, points (all strokes together) and coordinates."""

    max_strokes: int
    max_points: int
    max_coordinate: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DrawingLimits:
        """Read the limits from the app's configuration."""
        return cls(int(config["MAX_STROKES"]), int(config["MAX_POINTS"]), float(config["MAX_COORDINATE"]))


@dataclass(frozen=True)
class ImageLimits:
    """Which images are accepted and how large they may be, checked before any pixel is decoded."""

    max_pixels: int
    max_side: int
    allowed_types: tuple[str, ...]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ImageLimits:
        """Read the limits from the app's configuration."""
        allowed = tuple(str(name).upper() for name in config["ALLOWED_IMAGE_TYPES"])
        return cls(int(config["MAX_IMAGE_PIXELS"]), int(config["MAX_IMAGE_SIDE"]), allowed)


def _echo(value: Any) -> str:
    """A short quotation of a refused value, so error messages stay small."""
    text = repr(value)
    return text if len(text) <= _LONGEST_ECHO else text[: _LONGEST_ECHO - 1] + "…"


def _refuse_constant(name: str) -> float:
    """Refuse Python's JSON extensions NaN, Infinity and -Infinity: they are not JSON."""
    raise RequestError(f"the JSON body contains {name}, which is not a JSON number")


def _finite_float(text: str) -> float:
    """Parse a JSON number, refusing ones too large for a double (1e999 would become inf)."""
    value = float(text)
    if not math.isfinite(value):
        raise RequestError(f"the JSON body contains a number out of range: {_echo(text)}")
    return value


def parse_json(body: bytes) -> Any:
    """Parse a request body as strict JSON (UTF-8, no NaN or Infinity); raise RequestError if it is not."""
    try:
        return json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RequestError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RequestError(f"the body is not valid JSON: {error}") from error
    except RecursionError as error:
        raise RequestError("the JSON body is nested too deeply") from error


def json_object(body: bytes) -> dict[str, Any]:
    """Parse a request body that must be a JSON object."""
    payload = parse_json(body)
    if not isinstance(payload, dict):
        raise RequestError(f"the JSON body must be an object, not {type(payload).__name__}")
    return payload


def other_label(metadata: Mapping[str, Any]) -> str | None:
    """The label that means "something else" for a served set: its decision's other_label when the model has that output, else None."""
    label = (metadata.get("decision") or {}).get("other_label")
    return label if label is not None and label in metadata.get("outputs", ()) else None


def contribution_labels(metadata: Mapping[str, Any]) -> list[str]:
    """Every label a contribution to this set may have: its categories, then "other" when its model has "none of these"."""
    other = other_label(metadata)
    return [*metadata["categories"], *([other] if other is not None else [])]


def check_label(value: Any, categories: Sequence[str], other: str | None = None) -> str:
    """Return ``value`` if it names one of ``categories`` (or ``other``, when the set has "none of these")."""
    if not isinstance(value, str):
        raise RequestError("label must be a string naming a category")
    choices = [*categories, other] if other is not None else list(categories)
    if value == OTHER_LABEL and other is None:
        raise RequestError(f'this model has no "none of these", so a drawing cannot be labelled {OTHER_LABEL!r}; '
                           f"choose one of: {', '.join(categories)}")
    if value not in choices:
        raise RequestError(f"unknown label {_echo(value)}; choose one of: {', '.join(choices)}")
    return value


def check_name(value: Any, label: str, other: str | None) -> str | None:
    """What a drawing labelled ``other`` shows, trimmed (1 to MAX_NAME_LENGTH printable characters), or None if not given."""
    if value is None:
        return None
    if other is None or label != other:
        raise RequestError(f'"name" says what a drawing labelled "{other or OTHER_LABEL}" is; '
                           f"leave it out for a drawing labelled {_echo(label)}")
    if not isinstance(value, str):
        raise RequestError('"name" must be a string: what the drawing is, e.g. "house"')
    name = value.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise RequestError(f'"name" must be 1 to {MAX_NAME_LENGTH} characters once spaces around it are trimmed')
    if not name.isprintable():
        raise RequestError('"name" must be printable text on one line')
    return name


def whole_number_sentence(name: str, raw: Any, minimum: int, maximum: int) -> str:
    """Why a query argument was refused: it is not a whole number, or it is one out of bounds."""
    if isinstance(raw, str) and raw.isascii() and raw.isdigit():
        return f"{name} must be between {minimum} and {maximum}"
    return f"{name} must be a whole number"


def parse_drawing(raw: Any, limits: DrawingLimits) -> list[Stroke]:
    """Check a JSON drawing against the limits; return its non-empty strokes as (n, 2) arrays."""
    try:
        strokes = parse_strokes(raw, max_strokes=limits.max_strokes, max_points=limits.max_points)
    except DrawingError as error:
        raise RequestError(str(error)) from error
    largest = max(float(np.abs(stroke).max()) for stroke in strokes)
    if largest > limits.max_coordinate:
        raise RequestError(f"coordinates must lie within ±{limits.max_coordinate:g}")
    return strokes


def strokes_bitmap(strokes: Sequence[Stroke]) -> np.ndarray:
    """Render checked strokes the Quick Draw way: float32 (28, 28) in [0, 1], white ink on black."""
    try:
        return strokes_to_bitmap(strokes)
    except DrawingError as error:
        raise RequestError(str(error)) from error


def drawing_bitmap(raw: Any, limits: DrawingLimits) -> np.ndarray:
    """Check and render a JSON drawing: any input gives a bitmap or raises RequestError."""
    return strokes_bitmap(parse_drawing(raw, limits))


def decode_base64_image(value: Any) -> bytes:
    """The bytes of a ``data:image/...;base64,`` URL or of a bare base64 string."""
    if not isinstance(value, str):
        raise RequestError("image must be a string: a data URL or base64")
    match = _DATA_URL.match(value)
    if match:
        media_type = (match.group("type") or "text/plain").lower()
        if not media_type.startswith("image/"):
            raise UnsupportedMediaType(f"the data URL holds {media_type}, not an image")
        if not match.group("base64"):
            raise RequestError("the image data URL must be base64-encoded (data:image/png;base64,...)")
        value = value[match.end() :]
    elif value.startswith("data:"):
        raise RequestError("the image is not a valid data URL")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise RequestError("the image is not valid base64 (truncated or corrupt)") from error
    if not data:
        raise RequestError("the image is empty")
    return data


def sniff_image_type(data: bytes) -> str | None:
    """The image format named by the bytes' signature (a Pillow format name), or None."""
    for name, signature in _IMAGE_SIGNATURES:
        if signature.match(data):
            return name
    return None


def image_bitmap(data: bytes, limits: ImageLimits) -> np.ndarray:
    """Decode an uploaded image within the limits and re-draw it as a Quick Draw bitmap."""
    image_type = sniff_image_type(data)
    accepted = ", ".join(limits.allowed_types)
    if image_type is None:
        raise UnsupportedMediaType(f"the image is not in a recognised format; send one of: {accepted}")
    if image_type not in limits.allowed_types:
        raise UnsupportedMediaType(f"{image_type} images are not accepted; send one of: {accepted}")
    try:
        # Only the decoder of the sniffed format sees the bytes; the pixel count is checked
        # from the header before any pixel is decoded.
        image = decode_image(data, max_pixels=limits.max_pixels, allowed_formats=(image_type,))
        if max(image.size) > limits.max_side:
            raise RequestError(f"image too large: {image.width}x{image.height} (at most {limits.max_side} px a side)")
        return image_to_bitmap(image)
    except DrawingError as error:
        raise RequestError(str(error)) from error
