"""What the web app tests share besides fixtures: sample drawings, the tiny model, store snapshots.

The shipped model is not needed: a seeded Keras model (Input -> Flatten -> Dense softmax)
and a metadata.json that passes ``preprocessing.model_metadata.validate_metadata``, laid out
as a served folder (``<root>/accessories/CURRENT`` and ``<root>/accessories/<version>/``),
stand in for it.
A uniquely named module rather than conftest.py, which several test folders have.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

from preprocessing.categories import DEFAULT_CATEGORIES, DEFAULT_SET, OTHER_LABEL, all_categories
from preprocessing.decision import default_decision
from preprocessing.model_metadata import REFERENCE_ROLE, build_metadata
from webapp.store import get_store

REPO_ROOT = Path(__file__).resolve().parents[2]
# The store backends the store, API and server tests run against.
BACKENDS = ["sqlite", "postgresql"]
SEED = 1337

# A square, a cross and a zigzag in canvas pixels: drawings in Quick Draw's stroke format.
SQUARE = [[[10, 200, 200, 10, 10], [10, 10, 200, 200, 10]]]
CROSS = [[[0, 100], [0, 100]], [[100, 0], [0, 100]]]
ZIGZAG = [[[0, 30, 60, 90, 120, 150], [0, 80, 0, 80, 0, 80]]]
DRAWINGS = {"square": SQUARE, "cross": CROSS, "zigzag": ZIGZAG}


TEST_VERSION = "test-model-1"
REFERENCE_SET = "reference"


@dataclass(frozen=True)
class WebModel:
    """A test served folder (``root``, MODEL_DIR), its current version's folder, Keras twin and metadata."""

    root: Path
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


def write_web_model(root: Path, keras_model: Path, *, set_name: str = DEFAULT_SET, version: str = TEST_VERSION,
                    current: bool = True, **overrides: Any) -> WebModel:
    """Write version ``version`` of ``set_name`` under the served folder ``root`` and (by default) make it current.

    The folder holds a copy of ``keras_model``, a placeholder model.json and metadata.json
    from the exporter's own ``build_metadata``; overrides are written unvalidated on purpose,
    so tests can make metadata the app must refuse.
    """
    directory = root / set_name / version
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(keras_model, directory / "model.keras")
    metadata = build_metadata(
        version=version,
        categories=DEFAULT_CATEGORIES,
        quantization=None,
        set_name=set_name,
        title=set_name if set_name != DEFAULT_SET else None,
        keras_model_sha256=hashlib.sha256(keras_model.read_bytes()).hexdigest(),
        git_commit="test",
    )
    metadata.update(overrides)
    (directory / "metadata.json").write_text(json.dumps(metadata, indent=2))
    (directory / "model.json").write_text("{}")
    if current:
        (root / set_name / "CURRENT").write_text(version + "\n")
    return WebModel(root, directory, directory / "model.keras", metadata)


def write_other_model(root: Path, keras_model: Path) -> WebModel:
    """The default set with "none of these": six categories and "other" (``keras_model`` has seven outputs)."""
    return write_web_model(root, keras_model, version="test-other-1", outputs=[*DEFAULT_CATEGORIES, OTHER_LABEL],
                           decision=default_decision(OTHER_LABEL))


def write_reference_model(root: Path, keras_model: Path) -> WebModel:
    """A reference set knowing Quick Draw's 345 categories (``keras_model`` has 345 outputs), role "reference"."""
    names = list(all_categories())
    return write_web_model(root, keras_model, set_name=REFERENCE_SET, version="test-reference-1", categories=names,
                           outputs=names, decision=default_decision(None), role=REFERENCE_ROLE,
                           title="Quick Draw reference")


def store_snapshot(app: Flask) -> tuple[int, list[int]]:
    """The store as a test sees it, through the store itself: the number of drawings and their ids."""
    store = get_store(app)
    ids = sorted(drawing["id"] for drawing in store.drawings(status=None))
    return store.count_drawings(), ids


def contribute(client: Any, label: str = "sock", strokes: list = SQUARE) -> int:
    """Store one drawing through the API (a Flask test client) and return its id."""
    response = client.post("/api/drawings", json={"label": label, "strokes": strokes})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]
