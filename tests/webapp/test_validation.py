"""Property tests of the request validators: any JSON-like input is refused cleanly or rendered."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webapp.validation import (
    DrawingLimits,
    RequestError,
    UnsupportedMediaType,
    decode_base64_image,
    drawing_bitmap,
    parse_json,
    sniff_image_type,
)

LIMITS = DrawingLimits(max_strokes=20, max_points=200, max_coordinate=1e6)

numbers = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-300, max_value=300),
    st.booleans(),
)
json_scalars = st.one_of(st.none(), st.text(max_size=5), numbers)
json_like = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=30)
coordinate_lists = st.lists(st.floats(min_value=-1e7, max_value=1e7) | st.integers(-10**7, 10**7), max_size=12)
stroke_shaped = st.lists(
    st.one_of(
        st.tuples(coordinate_lists, coordinate_lists).map(list),
        st.tuples(coordinate_lists, coordinate_lists, coordinate_lists).map(list),
        json_like,
    ),
    max_size=6,
)


def check_outcome(raw: object) -> None:
    """A drawing is either refused with a RequestError (a ValueError) or rendered to a valid bitmap."""
    try:
        bitmap = drawing_bitmap(raw, LIMITS)
    except RequestError as error:
        assert isinstance(error, ValueError)
        assert error.status == 400
        assert str(error)
        return
    assert bitmap.dtype == np.float32
    assert bitmap.shape == (28, 28)
    assert np.isfinite(bitmap).all()
    assert bitmap.min() >= 0.0 and bitmap.max() <= 1.0
    assert bitmap.max() > 0.0  # A drawing that passes has ink.


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_like)
def test_any_json_value_is_refused_or_rendered(raw):
    """Arbitrary JSON-like values (wrong nesting, NaN, huge ints, bools, strings) never escape as other errors."""
    check_outcome(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stroke_shaped)
def test_stroke_shaped_values_are_refused_or_rendered(raw):
    """Values shaped almost like drawings (lengths, ranges and types varying) are refused or rendered."""
    check_outcome(raw)


def _has_non_finite(value) -> bool:
    """Whether a float NaN or infinity hides anywhere in a JSON-like value (strings may say "NaN")."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(item) for item in value)
    return False


@settings(max_examples=200, deadline=None)
@given(json_like)
def test_parse_json_round_trips_standard_json(value):
    """Standard JSON parses back to itself; Python's NaN/Infinity extensions are refused."""
    text = json.dumps(value, allow_nan=True)
    if _has_non_finite(value):
        with pytest.raises(RequestError):
            parse_json(text.encode())
        return
    assert parse_json(text.encode()) == json.loads(text)


@given(st.binary(max_size=64))
def test_base64_decoding_refuses_or_returns_bytes(data):
    """Arbitrary strings as images: refused with a RequestError or decoded to non-empty bytes."""
    text = data.decode("latin-1")
    try:
        decoded = decode_base64_image(text)
    except RequestError:
        return
    assert isinstance(decoded, bytes) and decoded


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n....", "PNG"),
        (b"\xff\xd8\xff\xe0", "JPEG"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "WEBP"),
        (b"GIF89a", "GIF"),
        (b"BM....", "BMP"),
        (b"<svg xmlns=", None),
        (b"", None),
    ],
)
def test_image_types_are_sniffed_from_signatures(data, expected):
    """The format comes from the bytes, never from the declared media type."""
    assert sniff_image_type(data) == expected


def test_data_urls_of_other_media_types_are_unsupported():
    """A data URL that declares a non-image type is a 415."""
    with pytest.raises(UnsupportedMediaType):
        decode_base64_image("data:text/html;base64,PGgxPg==")
