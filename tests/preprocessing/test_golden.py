"""The committed golden vectors are what the Python code renders today, and stay small."""

from __future__ import annotations

import json

import numpy as np
import pytest

from preprocessing import spec
from preprocessing.strokes import drawing_to_bitmap

MAX_TOTAL_BYTES = 300_000


def test_golden_files_are_up_to_date(golden_generator):
    """Regenerating in memory gives the committed text byte for byte: no silent drift."""
    expected = golden_generator.expected_files()
    assert expected, "the generator defines no golden file"
    for name, text in expected.items():
        path = golden_generator.GOLDEN_DIR / name
        assert path.exists(), f"{name} missing: run python tests/golden/generate.py"
        assert path.read_text() == text, f"{name} is stale: run python tests/golden/generate.py"


def test_golden_files_are_small_and_name_their_spec(golden_generator):
    # decision.json holds the decision rule's vectors (make_decision_vectors.py), not preprocessing's.
    paths = sorted(path for path in golden_generator.GOLDEN_DIR.glob("*.json") if path.name != "decision.json")
    assert {path.name for path in paths} == set(golden_generator.VECTOR_SETS)
    assert sum(path.stat().st_size for path in paths) < MAX_TOTAL_BYTES
    for path in paths:
        content = json.loads(path.read_text())
        assert content["spec_version"] == spec.SPEC_VERSION
        assert content["spec"] == spec.spec_dict()


def test_golden_vectors_cover_the_edge_cases(golden_generator):
    vectors = {
        vector["name"]: vector
        for name in golden_generator.VECTOR_SETS
        for vector in json.loads((golden_generator.GOLDEN_DIR / name).read_text())["vectors"]
    }
    for required in ("single-point", "dots", "two-point-stroke", "spiral", "zigzag",
                     "simplification-tie", "many-points-noisy", "house@100px", "house@2000px"):
        assert required in vectors
    point_counts = [
        sum(len(stroke[0]) for stroke in vector["strokes"]) for vector in vectors.values()
    ]
    assert max(point_counts) >= 1000
    # Of two interior points equally far from the chord, the first is kept.
    assert vectors["simplification-tie"]["kept_indices"] == [[0, 1, 4]]


@pytest.mark.parametrize("name", ["circle", "scribble-00", "house@1000px"])
def test_expected_bitmaps_are_the_rounded_python_output(golden_generator, name):
    vectors = {
        vector["name"]: vector
        for file_name in golden_generator.VECTOR_SETS
        for vector in json.loads((golden_generator.GOLDEN_DIR / file_name).read_text())["vectors"]
    }
    rendered = drawing_to_bitmap(vectors[name]["strokes"]).ravel()
    expected = np.array(vectors[name]["expected"])
    assert expected.shape == (spec.IMAGE_SIZE * spec.IMAGE_SIZE,)
    assert np.abs(rendered - expected).max() <= 0.5 * 10 ** -golden_generator.PIXEL_DECIMALS + 1e-7
