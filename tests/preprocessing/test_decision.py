"""The decision rule (preprocessing.decision): the shared golden vectors, a table of edge cases, bad blocks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from preprocessing.decision import (
    DEFAULT_MIN_EXTENT,
    Decision,
    decide,
    default_decision,
    drawing_extent,
    validate_decision,
)

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "golden" / "decision.json").read_text())
SIX = ["bowtie", "lipstick", "purse", "sock", "umbrella", "wristwatch"]


@pytest.mark.parametrize("case", VECTORS, ids=[case["name"] for case in VECTORS])
def test_golden_vectors(case: dict[str, Any]) -> None:
    """Python answers every vector as tests/golden/decision.json says (the JS twin is held to the same file)."""
    answer = decide(case["probabilities"], case["decision"], case["extent"], case["points"])
    assert answer == Decision(case["expected"]["state"], case["expected"]["label"])


@pytest.mark.parametrize(
    ("strokes", "extent", "points"),
    [
        ([], 0.0, 0),
        ([[[5], [7]]], 0.0, 1),
        ([[[0, 100], [0, 20]]], 100.0, 2),
        ([[[10, 20], [10, 10]], [[15, 15], [0, 60]]], 60.0, 4),
        ([[[-5.5, 4.5], [3, 3]]], 10.0, 2),
    ],
)
def test_drawing_extent_is_the_longest_side_of_the_bounding_box(strokes, extent, points) -> None:
    assert drawing_extent(strokes) == (extent, points)


def test_default_decision_depends_on_the_other_output() -> None:
    assert default_decision() == {"other_label": None, "reject_below": 0.0, "unsure_below": 0.5,
                                  "min_extent": DEFAULT_MIN_EXTENT}
    assert default_decision("other")["other_label"] == "other"


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("strict", "must be an object"),
        ({"other_label": None, "reject_below": 0.1, "unsure_below": 0.5}, "lacks min_extent"),
        ({"other_label": "other", "reject_below": 0.1, "unsure_below": 0.5, "min_extent": 1}, "not one of the outputs"),
        ({"other_label": None, "reject_below": -0.1, "unsure_below": 0.5, "min_extent": 1}, "reject_below"),
        ({"other_label": None, "reject_below": 0.1, "unsure_below": True, "min_extent": 1}, "unsure_below"),
        ({"other_label": None, "reject_below": 0.1, "unsure_below": 0.5, "min_extent": -1}, "min_extent"),
    ],
)
def test_validate_decision_refuses_broken_blocks(block: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_decision(block, SIX)


def test_no_probabilities_is_an_error() -> None:
    with pytest.raises(ValueError, match="no probabilities"):
        decide({}, default_decision(), 100, 10)
