"""Hostile and broken requests: each gets the right 4xx JSON error, and nothing changes.

One table per endpoint; after every request the store (rows and files) is as it was and
/api/health still answers ok.
"""

from __future__ import annotations

import base64
import json
import io
import struct
import zlib
from urllib.parse import urlencode

import pytest
from webapp_support import SQUARE, store_snapshot
from PIL import Image

LARGE_BODY_BYTES = 20 * 1024 * 1024


def png_declaring(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG whose header declares ``width`` x ``height`` pixels (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale.
    pixels = zlib.compress(b"\x00" * 64)  # Far too little data; the header alone must get it refused.
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def data_url(data: bytes, media_type: str = "image/png") -> str:
    """Bytes as a base64 data URL."""
    return f"data:{media_type};base64," + base64.b64encode(data).decode()


VALID_PNG_URL = data_url(png_declaring(1, 1))
BOMB_URL = data_url(png_declaring(50_000, 50_000))
TRUNCATED_BASE64 = VALID_PNG_URL[:-3]
NOT_AN_IMAGE = data_url(b"this is plain text, not a picture at all")
GIF_URL = data_url(b"GIF89a" + b"\x00" * 32, "image/gif")
MILLION_POINTS = [[list(range(500_000)), list(range(500_000))], [list(range(500_000)), list(range(500_000))]]
TOO_MANY_STROKES = [[[0, 1], [0, 1]]] * 201
DEEP_NESTING = "[" * 100_000 + "]" * 100_000


def raw(text: str) -> tuple[bytes, str]:
    """A hand-written body (when json= cannot express it) with the JSON content type."""
    return text.encode(), "application/json"


def as_json(payload: object) -> tuple[bytes, str]:
    """A JSON body."""
    return json.dumps(payload).encode(), "application/json"


# (case id, (body, content type), status, words the error message must contain)
COMMON_CASES = [
    ("malformed-json", raw('{"strokes": [[[1, 2], [3, 4]]'), 400, "not valid JSON"),
    ("not-utf8", (b'{"strokes": "\xff\xfe"}', "application/json"), 400, "not valid JSON"),
    ("empty-body", raw(""), 400, "not valid JSON"),
    ("json-array-body", as_json([1, 2, 3]), 400, "must be an object"),
    ("nan", raw('{"label": "sock", "strokes": [[[NaN, 1], [1, 2]]]}'), 400, "NaN"),
    ("infinity", raw('{"label": "sock", "strokes": [[[Infinity, 1], [1, 2]]]}'), 400, "Infinity"),
    ("huge-number", raw('{"label": "sock", "strokes": [[[1e999, 1], [1, 2]]]}'), 400, "out of range"),
    ("deep-nesting", raw(DEEP_NESTING), 400, ""),
    ("strokes-wrong-type", as_json({"label": "sock", "strokes": "a square"}), 400, "strokes must be a list"),
    ("stroke-not-pair", as_json({"label": "sock", "strokes": [[1, 2, 3, 4]]}), 400, "stroke 0"),
    ("coordinates-strings", as_json({"label": "sock", "strokes": [[["1", "2"], ["3", "4"]]]}), 400, "numbers"),
    ("coordinates-bool", as_json({"label": "sock", "strokes": [[[True, 2], [3, 4]]]}), 400, "numbers"),
    ("x-y-lengths-differ", as_json({"label": "sock", "strokes": [[[1, 2, 3], [3, 4]]]}), 400, "y values"),
    # Points as [x, y] pairs: read as Quick Draw's [xs, ys, ts], the "times" 50, 45 decrease.
    ("three-xy-pairs", as_json({"label": "sock", "strokes": [[[10, 20], [300, 400], [50, 45]]]}), 400,
     "stroke 0: the third list must be timestamps, one per point and never decreasing"
     " (send a stroke as [[x...], [y...]], not as [x, y] pairs)"),
    ("empty-strokes", as_json({"label": "sock", "strokes": []}), 400, "empty"),
    ("only-empty-strokes", as_json({"label": "sock", "strokes": [[[], []], [[], []]]}), 400, "empty"),
    ("million-points", as_json({"label": "sock", "strokes": MILLION_POINTS}), 413, "too large"),
    ("too-many-points", as_json({"label": "sock", "strokes": [[list(range(20_001)), [0] * 20_001]]}), 400,
     "too many points"),
    ("too-many-strokes", as_json({"label": "sock", "strokes": TOO_MANY_STROKES}), 400, "too many strokes"),
    ("coordinate-out-of-range", as_json({"label": "sock", "strokes": [[[0, 2e6], [0, 1]]]}), 400, "within"),
    ("plain-text-type", (b"label=sock", "text/plain"), 415, "application/json"),
    ("twenty-megabytes", (b"[" + b"0," * (LARGE_BODY_BYTES // 2) + b"0]", "application/json"), 413, "too large"),
]

PREDICT_CASES = [
    ("neither-strokes-nor-image", as_json({"label": "sock"}), 400, "either"),
    ("both-strokes-and-image", as_json({"strokes": SQUARE, "image": VALID_PNG_URL}), 400, "either"),
    ("image-wrong-type", as_json({"image": 12345}), 400, "must be a string"),
    ("truncated-base64", as_json({"image": TRUNCATED_BASE64}), 400, "base64"),
    ("not-an-image", as_json({"image": NOT_AN_IMAGE}), 415, "recognised format"),
    ("refused-image-type", as_json({"image": GIF_URL}), 415, "GIF"),
    ("text-data-url", as_json({"image": "data:text/plain;base64,aGVsbG8="}), 415, "text/plain"),
    ("decompression-bomb-png", as_json({"image": BOMB_URL}), 400, "too large"),
    ("blank-image", as_json({"image": VALID_PNG_URL}), 400, "no visible drawing"),
    ("form-without-image", (b"picture=abc", "application/x-www-form-urlencoded"), 400, "form field"),
    ("form-truncated-base64", (urlencode({"image": TRUNCATED_BASE64}).encode(), "application/x-www-form-urlencoded"),
     400, "base64"),
]

DRAWINGS_CASES = [
    ("no-label", as_json({"strokes": SQUARE}), 400, "label must be a string"),
    ("label-wrong-type", as_json({"label": ["sock"], "strokes": SQUARE}), 400, "label must be a string"),
    ("unknown-label", as_json({"label": "hat", "strokes": SQUARE}), 400, "unknown label"),
    ("path-traversal-label", as_json({"label": "../../etc/passwd", "strokes": SQUARE}), 400, "unknown label"),
    ("dot-dot-label", as_json({"label": "..", "strokes": SQUARE}), 400, "unknown label"),
    ("label-with-slash", as_json({"label": "sock/../sock", "strokes": SQUARE}), 400, "unknown label"),
    ("no-strokes", as_json({"label": "sock"}), 400, "strokes must be a list"),
    ("form-body", (b"label=sock&strokes=x", "application/x-www-form-urlencoded"), 415, "application/json"),
    ("image-truncated-base64", as_json({"label": "sock", "strokes": SQUARE, "image": TRUNCATED_BASE64}), 400,
     "base64"),
    ("image-not-an-image", as_json({"label": "sock", "strokes": SQUARE, "image": NOT_AN_IMAGE}), 415, "format"),
    ("image-decompression-bomb", as_json({"label": "sock", "strokes": SQUARE, "image": BOMB_URL}), 400, "too large"),
]


def check_refused(app, client, path: str, body: bytes, content_type: str, status: int, words: str) -> None:
    """POST the body; expect a JSON error with the status, an unchanged store and a healthy app."""
    before = store_snapshot(app)
    response = client.post(path, data=body, content_type=content_type)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.is_json
    message = response.get_json()["error"]
    assert isinstance(message, str) and message
    assert words.lower() in message.lower()
    assert "Traceback" not in message
    assert store_snapshot(app) == before
    health = client.get("/api/health")
    assert health.status_code == 200
    assert health.get_json()["status"] == "ok"


@pytest.mark.parametrize(("body", "status", "words"), [case[1:] for case in COMMON_CASES + DRAWINGS_CASES],
                         ids=[case[0] for case in COMMON_CASES + DRAWINGS_CASES])
def test_drawings_refuses_bad_input(app, client, body, status, words):
    """POST /api/drawings: every bad body is refused and nothing is stored."""
    # A stored drawing first, so "unchanged" is checked against a store with content.
    assert client.post("/api/drawings", json={"label": "sock", "strokes": SQUARE}).status_code == 201
    check_refused(app, client, "/api/drawings", *body, status, words)


PREDICT_COMMON = [case for case in COMMON_CASES if case[0] != "plain-text-type"]


@pytest.mark.parametrize(("body", "status", "words"), [case[1:] for case in PREDICT_COMMON + PREDICT_CASES],
                         ids=[case[0] for case in PREDICT_COMMON + PREDICT_CASES])
def test_predict_refuses_bad_input(app, client, body, status, words):
    """POST /api/predict: every bad body is refused with the right status."""
    check_refused(app, client, "/api/predict", *body, status, words)


def test_predict_refuses_other_content_types(app, client):
    """Neither JSON nor a form: 415."""
    check_refused(app, client, "/api/predict", b"\x89PNG...", "image/png", 415, "application/json")


def test_oversized_image_side_is_refused(make_app):
    """An image within the pixel budget but longer than MAX_IMAGE_SIDE is refused."""
    app = make_app(MAX_IMAGE_SIDE=100)
    buffer = io.BytesIO()
    Image.new("L", (101, 2)).save(buffer, format="PNG")
    check_refused(app, app.test_client(), "/api/predict", *as_json({"image": data_url(buffer.getvalue())}), 400,
                  "a side")


def test_limits_follow_configuration(make_app):
    """Lower limits in the config are the ones enforced."""
    app = make_app(MAX_STROKES=1, MAX_CONTENT_LENGTH=2000)
    client = app.test_client()
    check_refused(app, client, "/api/drawings", *as_json({"label": "sock", "strokes": SQUARE * 2}), 400,
                  "too many strokes")
    check_refused(app, client, "/api/drawings", *as_json({"label": "sock", "strokes": [[[0] * 500, [0] * 500]]}),
                  413, "at most 2000 bytes")
