"""Property tests: whatever a client sends, preprocessing refuses it cleanly or renders it."""

from __future__ import annotations

import sys

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from preprocessing import spec
from preprocessing.image import ink_to_bitmap
from preprocessing.strokes import DrawingError, drawing_to_bitmap

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

# Values at the edges of the number line, which random floats rarely pair up.
EXTREME_NUMBERS = [0, -0.0, 1, 5e-324, -5e-324, 1e-300, 1e300, -1e300, 1.7976931348623157e308,
                   -1.7976931348623157e308, 10**20, 10**400, -(10**400)]
extreme_numbers = st.sampled_from(EXTREME_NUMBERS)
json_scalars = (
    st.none() | st.booleans() | st.integers() | st.text(max_size=5)
    | st.floats(allow_nan=True, allow_infinity=True) | extreme_numbers
)
json_like = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=30,
)
coordinates = (
    st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(-(10**20), 10**20)
    | extreme_numbers
)

finite_coordinates = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [value for value in EXTREME_NUMBERS if abs(value) <= sys.float_info.max]
)


@st.composite
def drawing_shaped(draw: st.DrawFn) -> list:
    """Nearly valid drawings: right nesting, any numbers, sometimes ragged or with timestamps."""
    strokes = []
    for _ in range(draw(st.integers(0, 4))):
        xs = draw(st.lists(coordinates, max_size=12))
        ragged = draw(st.booleans()) and draw(st.booleans())
        ys = draw(st.lists(coordinates, max_size=12)) if ragged else draw(
            st.lists(coordinates, min_size=len(xs), max_size=len(xs)))
        stroke = [xs, ys]
        if draw(st.booleans()):
            stroke.append(list(range(len(xs))))
        strokes.append(stroke)
    return strokes


def assert_valid_bitmap(bitmap: np.ndarray) -> None:
    assert bitmap.shape == (spec.IMAGE_SIZE, spec.IMAGE_SIZE)
    assert bitmap.dtype == np.float32
    assert np.isfinite(bitmap).all()
    assert bitmap.min() >= 0.0 and bitmap.max() <= 1.0


def refuses_or_renders(render, value) -> None:
    try:
        bitmap = render(value)
    except DrawingError as error:
        assert str(error), "a refusal must say why"
        return
    assert_valid_bitmap(bitmap)


@PROPERTY_SETTINGS
@given(json_like)
def test_any_json_value_is_refused_or_rendered(value):
    refuses_or_renders(drawing_to_bitmap, value)


@PROPERTY_SETTINGS
@given(drawing_shaped())
def test_any_drawing_shaped_value_is_refused_or_rendered(value):
    refuses_or_renders(drawing_to_bitmap, value)


@PROPERTY_SETTINGS
@given(st.lists(st.lists(finite_coordinates, min_size=1, max_size=30), min_size=1, max_size=4))
def test_finite_drawings_always_render_with_ink(coordinate_lists):
    """Any finite coordinates, from subnormal to the largest double, give a visible drawing."""
    raw = [[values, values[::-1]] for values in coordinate_lists]
    bitmap = drawing_to_bitmap(raw)
    assert_valid_bitmap(bitmap)
    assert bitmap.max() > 0.5


@st.composite
def ink_arrays(draw: st.DrawFn) -> np.ndarray:
    """Arrays of any common dtype and 0-3 dimensions, floats including NaN and infinities."""
    dtype = np.dtype(draw(st.sampled_from([np.float64, np.float32, np.uint8, np.int64, np.bool_])))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=40))
    extremes = {"allow_nan": True, "allow_infinity": True} if dtype.kind == "f" else {}
    return draw(hnp.arrays(dtype, shape, elements=hnp.from_dtype(dtype, **extremes)))


@PROPERTY_SETTINGS
@given(ink_arrays())
def test_any_ink_array_is_refused_or_rendered(ink):
    refuses_or_renders(ink_to_bitmap, ink)


@PROPERTY_SETTINGS
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=64),
                  elements=st.floats(0, 1)))
def test_visible_ink_always_renders(ink):
    assume(ink.max() >= 0.05)
    bitmap = ink_to_bitmap(ink)
    assert_valid_bitmap(bitmap)
    assert bitmap.max() > 0.5
