"""The strokes path: Google's bitmaps reproduced, invariance, edge cases, strict validation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from preprocessing import spec
from preprocessing.strokes import (
    DrawingError,
    drawing_to_bitmap,
    normalize,
    parse_strokes,
    render_pixel_strokes,
    simplify,
    strokes_to_bitmap,
    to_pixel_space,
    to_uint8,
)

ONE_LEVEL = 1 / 255  # One grey level of a uint8 bitmap.


def assert_valid_bitmap(bitmap: np.ndarray) -> None:
    assert bitmap.shape == (spec.IMAGE_SIZE, spec.IMAGE_SIZE)
    assert bitmap.dtype == np.float32
    assert np.isfinite(bitmap).all()
    assert bitmap.min() >= 0.0 and bitmap.max() <= 1.0


def test_renders_googles_bowtie_bitmaps(quickdraw_source, agreement):
    """Our render of the simplified strokes matches Google's numpy_bitmap rows."""
    errors = agreement.bowtie_errors(quickdraw_source, count=25)
    assert len(errors) == 25
    # Measured: mean 1.81/255, worst 3.84/255 (docs/preprocessing.md).
    assert errors.max() <= 6.0, f"worst drawing differs by {errors.max():.2f}/255"
    assert errors.mean() <= 2.5


def test_the_other_categories_match_the_mirror_too(quickdraw_source):
    """Lipstick..wristwatch rows were rendered from the same strokes with Google's recipe."""
    for category in ("lipstick", "purse", "sock", "wristwatch"):
        rows = np.load(quickdraw_source / "numpy_bitmap" / f"{category}.npy")[:25]
        lines = (quickdraw_source / "simplified" / f"{category}.ndjson").read_text().splitlines()
        for line, row in zip(lines[:25], rows, strict=True):
            ours = to_uint8(drawing_to_bitmap(json.loads(line)["drawing"])).ravel()
            assert np.abs(ours.astype(float) - row).mean() <= 6.0, category


def test_same_drawing_on_any_canvas_gives_the_same_bitmap(golden_generator):
    """Canvas size (100..2000 px), position and scale do not change the bitmap."""
    groups: dict[str, list[np.ndarray]] = {}
    for name, raw in golden_generator.invariance_drawings():
        groups.setdefault(name.split("@")[0], []).append(drawing_to_bitmap(raw))
    assert len(groups) == 3 and all(len(bitmaps) == 5 for bitmaps in groups.values())
    for shape, bitmaps in groups.items():
        for bitmap in bitmaps[1:]:
            assert np.abs(bitmap - bitmaps[0]).mean() <= 3 * ONE_LEVEL, shape


@pytest.mark.parametrize("scale", [1e-6, 0.37, 1.0, 123.0, 1e9])
@pytest.mark.parametrize("shift", [(0.0, 0.0), (-5000.5, 77.25), (1e6, -1e6)])
def test_scale_and_translation_invariance(scale, shift):
    base = [[[0, 40, 80, 80, 0], [0, 10, 0, 60, 60]], [[20, 60], [30, 30]]]
    moved = [
        [[x * scale + shift[0] for x in xs], [y * scale + shift[1] for y in ys]]
        for xs, ys in base
    ]
    difference = np.abs(drawing_to_bitmap(moved) - drawing_to_bitmap(base))
    assert difference.mean() <= 3 * ONE_LEVEL


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param([[[5], [7]]], id="one-point"),
        pytest.param([[[5, 5, 5], [7, 7, 7]]], id="one-point-repeated"),
        pytest.param([[[0, 10], [0, 0]]], id="one-horizontal-stroke"),
        pytest.param([[[3], [3]], [[3], [3]]], id="two-identical-dots"),
        pytest.param([[[1e300, -1e300], [0, 1e300]]], id="huge-coordinates"),
        pytest.param([[[0, 5e-324], [0, 5e-324]]], id="subnormal-extent"),
        pytest.param([[[10**400 // 10**380, 1], [2, 3]]], id="big-python-int"),
    ],
)
def test_degenerate_drawings_render_without_nan(raw):
    bitmap = drawing_to_bitmap(raw)
    assert_valid_bitmap(bitmap)
    assert bitmap.max() > 0.5, "every drawing with a point leaves visible ink"


def test_a_single_dot_is_a_centred_dot():
    bitmap = drawing_to_bitmap([[[123], [45]]])
    rows, columns = np.nonzero(bitmap > 0)
    assert rows.min() >= 12 and rows.max() <= 15 and columns.min() >= 12 and columns.max() <= 15
    assert np.allclose(bitmap, bitmap.T) and np.allclose(bitmap, bitmap[::-1, ::-1])


def test_hundred_thousand_points():
    rng = np.random.default_rng(7)
    walk = np.cumsum(rng.normal(size=(100_000, 2)), axis=0)
    bitmap = drawing_to_bitmap([[walk[:, 0].tolist(), walk[:, 1].tolist()]])
    assert_valid_bitmap(bitmap)
    assert bitmap.sum() > 50


def test_simplify_keeps_the_first_of_equally_far_points():
    points = np.array([[0, 0], [1, 2], [2, 0], [3, 2], [4, 0]], dtype=float)
    kept = simplify(points, epsilon=1.0)
    # (1, 2) and (3, 2) are both 2 from the chord; the first splits, and each half then
    # keeps its own apex: all five survive. With a larger tolerance only the ends do.
    assert len(kept) == 5
    assert len(simplify(points, epsilon=2.0)) == 2
    tie = np.array([[0, 0], [1, 2], [2, 1.9], [3, 2], [4, 0]], dtype=float)
    assert simplify(tie, epsilon=1.95).tolist() == [[0, 0], [1, 2], [4, 0]]


def test_simplify_handles_long_strokes_and_closed_chords():
    circle = np.stack([np.cos(np.linspace(0, 2 * math.pi, 50_001)),
                       np.sin(np.linspace(0, 2 * math.pi, 50_001))], axis=1) * 255
    circle[-1] = circle[0]  # Closed exactly: the first chord has length 0.
    kept = simplify(circle)
    assert 10 < len(kept) < 200 and (kept[0] == kept[-1]).all()
    assert np.abs(np.hypot(kept[:, 0], kept[:, 1]) - 255).max() < 1e-9
    line = np.stack([np.arange(100_000.0), np.zeros(100_000)], axis=1)
    assert len(simplify(line)) == 2


def test_normalize_aligns_top_left_and_scales_longest_side_to_255():
    strokes = normalize([np.array([[10.0, 20.0], [110.0, 70.0]]), np.array([[60.0, 45.0]])])
    everything = np.concatenate(strokes)
    assert everything.min(axis=0).tolist() == [0.0, 0.0]
    assert everything.max(axis=0).tolist() == [255.0, 127.5]


def test_pixel_space_centres_the_drawing_with_padding():
    pixels = to_pixel_space([np.array([[0.0, 0.0], [255.0, 127.5]])])[0]
    margin = (spec.TOTAL_PADDING / 2 + 0.5) * spec.PIXEL_SCALE
    assert pixels[0, 0] == pytest.approx(margin)
    assert pixels[1, 0] == pytest.approx(spec.IMAGE_SIZE - margin)
    assert (pixels[0, 1] + pixels[1, 1]) / 2 == pytest.approx(spec.IMAGE_SIZE / 2)


def test_strokes_composite_one_over_another():
    cross = [np.array([[4.0, 14.0], [24.0, 14.0]]), np.array([[14.0, 4.0], [14.0, 24.0]])]
    one = render_pixel_strokes(cross[:1])
    both = render_pixel_strokes(cross)
    centre_coverage = float(one[13, 13])
    assert 0 < centre_coverage < 1
    expected = centre_coverage + centre_coverage * (1 - centre_coverage)
    assert float(both[13, 13]) == pytest.approx(expected, abs=1e-6)


def test_to_uint8_rounds_like_numpy_bitmap():
    assert to_uint8(np.array([0.0, 0.5, 1.0, 1 / 255, 0.998])).tolist() == [0, 128, 255, 1, 254]


def test_strokes_to_bitmap_refuses_an_empty_drawing():
    with pytest.raises(DrawingError, match="empty"):
        strokes_to_bitmap([])
    with pytest.raises(DrawingError, match="empty"):
        strokes_to_bitmap([np.zeros((0, 2))])


MALFORMED = [
    ("not-a-list", {"strokes": []}, "list of strokes"),
    ("string", "[[[1],[2]]]", "list of strokes"),
    ("none", None, "list of strokes"),
    ("number", 3, "list of strokes"),
    ("empty", [], "empty"),
    ("only-empty-strokes", [[[], []], [[], []]], "empty"),
    ("stroke-not-a-list", [5], "stroke 0 must be"),
    ("stroke-one-list", [[[1, 2]]], "stroke 0 must be"),
    ("stroke-four-lists", [[[1], [2], [3], [4]]], "stroke 0 must be"),
    ("stroke-dict", [{"x": [1], "y": [2]}], "stroke 0 must be"),
    ("flat-points", [[1, 2], [3, 4]], "x and y must be lists"),
    ("points-as-pairs", [[[[1, 2]], [[3, 4]]]], "coordinates must be numbers"),
    ("string-coordinate", [[[1, "2"], [3, 4]]], "coordinates must be numbers"),
    ("bool-coordinate", [[[True, 2], [3, 4]]], "coordinates must be numbers"),
    ("none-coordinate", [[[None], [1]]], "coordinates must be numbers"),
    ("nan", [[[float("nan"), 1], [1, 2]]], "finite"),
    ("infinity", [[[1, 2], [float("inf"), 2]]], "finite"),
    ("negative-infinity", [[[float("-inf")], [0]]], "finite"),
    ("int-beyond-float", [[[10**400], [0]]], "finite"),
    ("mismatched-lengths", [[[1, 2, 3], [1, 2]]], "3 x values but 2 y values"),
    ("second-stroke-bad", [[[1], [1]], [[1], "y"]], "stroke 1"),
]


@pytest.mark.parametrize("raw, message", [case[1:] for case in MALFORMED],
                         ids=[case[0] for case in MALFORMED])
def test_parse_strokes_rejects_malformed_drawings(raw, message):
    with pytest.raises(DrawingError, match=message):
        parse_strokes(raw)


def test_parse_strokes_enforces_limits():
    three_strokes = [[[0, 1], [0, 1]]] * 3
    with pytest.raises(DrawingError, match="too many strokes: 3"):
        parse_strokes(three_strokes, max_strokes=2)
    with pytest.raises(DrawingError, match="too many points"):
        parse_strokes(three_strokes, max_points=5)
    assert len(parse_strokes(three_strokes, max_strokes=3, max_points=6)) == 3
    with pytest.raises(DrawingError, match="too many points"):
        drawing_to_bitmap(three_strokes, max_points=5)


def test_parse_strokes_accepts_timestamps_and_skips_empty_strokes():
    strokes = parse_strokes([[[], []], [[1, 2.5], [3, 4], [0, 16]]])
    assert len(strokes) == 1
    assert strokes[0].tolist() == [[1.0, 3.0], [2.5, 4.0]]
    assert strokes[0].dtype == np.float64


THREE_PAIRS_MESSAGE = ("stroke 0: the third list must be timestamps, one per point and never decreasing"
                       " (send a stroke as [[x...], [y...]], not as [x, y] pairs)")


@pytest.mark.parametrize(
    "stroke",
    [
        [[10, 20], [30, 40], [50, 45]],  # Three [x, y] pairs: the "timestamps" 50, 45 decrease.
        [[10, 20, 30], [1, 2, 3], [0, 16]],  # Fewer times than points.
        [[10, 20], [1, 2], [-5, 0]],  # A time before the drawing began.
        [[10, 20], [1, 2], ["0", "16"]],
        [[10, 20], [1, 2], [True, False]],
        [[10, 20], [1, 2], [0, float("nan")]],
        [[10, 20], [1, 2], "0, 16"],
    ],
)
def test_a_third_list_that_cannot_be_timestamps_is_refused(stroke):
    """A stroke whose third list is not one non-decreasing time per point is refused, naming the likely mistake."""
    with pytest.raises(DrawingError) as refused:
        parse_strokes([stroke])
    assert str(refused.value) == THREE_PAIRS_MESSAGE


def test_timestamps_may_repeat_and_start_anywhere():
    """Quick Draw's times are milliseconds that never decrease: equal times and a late start are fine."""
    assert parse_strokes([[[1, 2, 3], [4, 5, 6], [1000, 1000, 2**70]]])[0].tolist() == [[1, 4], [2, 5], [3, 6]]
