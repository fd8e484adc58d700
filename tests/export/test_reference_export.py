"""The reference model the repository ships (served/reference): the DoodleNet teacher, marked as a reference,
its weights chosen on review's top 3 and its Keras twin answering as the teacher does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from export import reference
from preprocessing import served
from preprocessing.categories import OTHER_LABEL
from preprocessing.model_metadata import file_sha256, is_reference, load_metadata
from training import teacher

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVED_DIR = REPO_ROOT / "served"


@pytest.fixture(scope="module")
def shipped_dir() -> Path:
    """The current version folder of the shipped reference set."""
    return served.version_dir(SERVED_DIR, reference.REFERENCE_SET, served.read_current(SERVED_DIR, reference.REFERENCE_SET))


def test_the_shipped_reference_is_the_teacher_marked_as_reference(shipped_dir):
    """345 Quick Draw names with spaces, in the teacher's order, no "other", role reference, quantization measured."""
    metadata = load_metadata(shipped_dir)
    assert is_reference(metadata) and metadata["set"] == reference.REFERENCE_SET
    assert metadata["categories"] == metadata["outputs"] == list(teacher.categories())
    assert OTHER_LABEL not in metadata["outputs"] and "smiley face" in metadata["categories"]
    report = metadata["quantization_report"]
    assert metadata["quantization"] == report["chosen"]
    agreement = report["top3_agreement"][reference.convert.quantization_label(metadata["quantization"])]
    assert agreement >= reference.MIN_TOP3_AGREEMENT
    assert metadata["parity"]["passed"] and file_sha256(shipped_dir / "model.keras") == metadata["keras_model_sha256"]


@pytest.mark.parametrize(("agreements", "requested", "chosen"), [
    ({None: 1.0, "float16": 0.994, "uint8": 0.48}, "auto", "float16"),
    ({None: 1.0, "float16": 1.0, "uint8": 0.99}, "auto", "uint8"),
    ({None: 1.0, "float16": 0.9, "uint8": 0.5}, "auto", None),
    ({None: 1.0, "float16": 0.994, "uint8": 0.48}, "uint8", "uint8"),
])
def test_quantization_is_chosen_on_the_top_three(agreements, requested, chosen):
    """auto: the smallest weights keeping the top 3 on enough drawings; an explicit choice is taken as it is."""
    assert reference.choose_quantization(agreements, requested) == chosen


@pytest.mark.slow
def test_the_served_twin_answers_like_the_teacher(shipped_dir, quickdraw_fixture):
    """The server's Keras twin keeps the teacher's top 3 on the shipped real drawings (150, of six accessories)."""
    from webapp.predictor import Predictor

    rows = [np.load(path) for path in sorted((quickdraw_fixture / "numpy_bitmap").glob("*.npy"))]
    images = (np.concatenate(rows).reshape(-1, 28, 28, 1) / 255).astype(np.float32)
    served_top = np.argsort(-Predictor(shipped_dir, load_metadata(shipped_dir)).predict(images), axis=1)[:, :3]
    teacher_top = np.argsort(-teacher.load().predict(images, verbose=0), axis=1)[:, :3]
    assert (served_top == teacher_top).all(axis=1).mean() >= reference.MIN_TOP3_AGREEMENT
