"""What the web app tests share besides fixtures: sample drawings, the tiny model, store snapshots.

The shipped model is not needed: a seeded Keras model (Input -> Flatten -> Dense softmax)
and a metadata.json that passes ``export.metadata.validate_metadata`` stand in for it.
A uniquely named module rather than conftest.py, which several test folders have.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

from export.metadata import build_metadata
from training.categories import DEFAULT_CATEGORIES
from webapp.store import get_store

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED = 1337

# A square, a cross and a zigzag in canvas pixels: drawings in Quick Draw's stroke format.
SQUARE = [[[10, 200, 200, 10, 10], [10, 10, 200, 200, 10]]]
CROSS = [[[0, 100], [0, 100]], [[100, 0], [0, 100]]]
ZIGZAG = [[[0, 30, 60, 90, 120, 150], [0, 80, 0, 80, 0, 80]]]
DRAWINGS = {"square": SQUARE, "cross": CROSS, "zigzag": ZIGZAG}


@dataclass(frozen=True)
class WebModel:
    """A test web-model folder (metadata.json, model.json) and the Keras file it was 'exported' from."""

    directory: Path
    keras_model: Path
    metadata: dict[str, Any]


def build_tiny_model(path: Path, categories: int = len(DEFAULT_CATEGORIES), seed: int = SEED) -> Path:
    """Save a seeded Input(28,28,1) -> Flatten -> Dense(softmax) Keras model to ``path``."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(categories, activation="softmax")]
    )
    model.save(path)
    return path


def write_web_model(directory: Path, keras_model: Path, **overrides: Any) -> WebModel:
    """Write metadata.json for ``keras_model`` (fields replaced by ``overrides``) and a placeholder model.json.

    The metadata comes from the exporter's own ``build_metadata``; overrides are written
    unvalidated on purpose, so tests can make metadata the app must refuse.
    """
    directory.mkdir(parents=True, exist_ok=True)
    metadata = build_metadata(
        version="test-model-1",
        categories=DEFAULT_CATEGORIES,
        quantization=None,
        keras_model_sha256=hashlib.sha256(keras_model.read_bytes()).hexdigest(),
        git_commit="test",
    )
    metadata.update(overrides)
    (directory / "metadata.json").write_text(json.dumps(metadata, indent=2))
    (directory / "model.json").write_text("{}")
    return WebModel(directory, keras_model, metadata)


def store_snapshot(app: Flask) -> tuple[int, list[int]]:
    """The store as a test sees it, through the store itself: the number of drawings and their ids."""
    store = get_store(app)
    ids = sorted(drawing["id"] for drawing in store.drawings(status=None))
    return store.count_drawings(), ids
