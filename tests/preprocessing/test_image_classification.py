"""The image path is as good as the strokes path for the shipped model, for every category.

A PNG of a drawing (as a canvas or a phone screenshot would give it: black ink on white,
white on black, or ink on a transparent background, 64 to 1024 px) goes through
``image_to_bitmap``; the same drawing's strokes go through ``drawing_to_bitmap``. The
shipped Keras model must name both the same way, class by class.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from preprocessing.image import decode_image, image_to_bitmap
from preprocessing.strokes import drawing_to_bitmap

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SHIPPED_MODEL = Path(os.environ.get("SHIPPED_MODEL_DIR", REPO / "models" / "default"))
# (canvas side px, line width px): a phone sketch, a laptop canvas, a large scan.
IMAGE_VARIANTS = [(64, 2), (400, 8), (1024, 12)]
MAX_PIXELS = 4096 * 4096
# One drawing in 25 per class may flip between the two paths; no more.
MAX_ACCURACY_GAP = 1 / 25 + 1e-9


@pytest.fixture(scope="module")
def shipped_model():
    """The committed default model and its categories in output order."""
    import keras

    card_path = SHIPPED_MODEL / "model_card.json"
    if not card_path.exists():
        pytest.fail(f"no shipped model at {SHIPPED_MODEL}: run `make train`")
    return keras.models.load_model(SHIPPED_MODEL / "model.keras"), json.loads(card_path.read_text())["categories"]


def _predict(model, bitmaps: list[np.ndarray]) -> np.ndarray:
    return np.asarray(model(np.stack(bitmaps)[..., None].astype(np.float32))).argmax(axis=1)


def test_image_path_classifies_as_well_as_strokes(shipped_model, agreement, quickdraw_source):
    """Per class, image-path accuracy is within one drawing of strokes-path accuracy, in every variant."""
    model, categories = shipped_model
    report = []
    for label, category in enumerate(categories):
        lines = (quickdraw_source / "simplified" / f"{category}.ndjson").read_text().splitlines()
        drawings = [json.loads(line)["drawing"] for line in lines if line.strip()]
        strokes_correct = np.mean(_predict(model, [drawing_to_bitmap(raw) for raw in drawings]) == label)
        for side, line_width in IMAGE_VARIANTS:
            bitmaps = [
                image_to_bitmap(decode_image(agreement.draw_png(raw, side, line_width, agreement.IMAGE_MODES[i % 3]),
                                             MAX_PIXELS))
                for i, raw in enumerate(drawings)
            ]
            image_correct = np.mean(_predict(model, bitmaps) == label)
            report.append((category, side, line_width, strokes_correct, image_correct))
    gaps = [row for row in report if row[3] - row[4] > MAX_ACCURACY_GAP]
    assert not gaps, "image path worse than strokes path: " + "; ".join(
        f"{c} {s}px/{w}px strokes {a:.2f} image {b:.2f}" for c, s, w, a, b in gaps)
