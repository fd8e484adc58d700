"""The served model the repository ships (served/accessories/CURRENT): small, for the product's categories, and
faithful to its Keras model."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from export.convert import weights_bytes
from export.inputs import parity_inputs
from export.parity import check_parity
from preprocessing import served
from preprocessing.model_metadata import file_sha256, load_metadata
from preprocessing.spec import SPEC_VERSION
from training.categories import DEFAULT_CATEGORIES

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVED_DIR = REPO_ROOT / "served"
WEB_MODEL_DIR = served.version_dir(SERVED_DIR, "accessories", served.read_current(SERVED_DIR, "accessories"))
KERAS_RUN_DIR = REPO_ROOT / "models" / "default"
DATA_DIR = REPO_ROOT / os.environ.get("DATA_DIR", "data") / "dataset"
MAX_WEIGHTS_BYTES = 150 * 1024
PARITY_COUNT = 1000


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    """The shipped metadata of the current accessories version."""
    return load_metadata(WEB_MODEL_DIR, DEFAULT_CATEGORIES)


@pytest.fixture(scope="module")
def keras_model(shipped: dict[str, Any]) -> Any:
    """models/default/model.keras, which must exist once a web model is shipped."""
    import keras

    model_path = KERAS_RUN_DIR / "model.keras"
    assert model_path.is_file(), f"{WEB_MODEL_DIR} is shipped but {model_path} is missing"
    return keras.models.load_model(model_path, compile=False)


def test_shipped_model_fits_the_web_app(shipped: dict[str, Any]) -> None:
    assert shipped["categories"] == list(DEFAULT_CATEGORIES)
    assert shipped["preprocessing"]["version"] == SPEC_VERSION
    assert weights_bytes(WEB_MODEL_DIR) <= MAX_WEIGHTS_BYTES


def test_shipped_model_is_an_export_of_the_default_keras_model(shipped: dict[str, Any], keras_model: Any) -> None:
    assert shipped["source_keras_model_sha256"] == file_sha256(KERAS_RUN_DIR / "model.keras")
    assert shipped["keras_model_sha256"] == file_sha256(WEB_MODEL_DIR / "model.keras")
    assert keras_model.output_shape == (None, len(DEFAULT_CATEGORIES))


def test_shipped_model_predicts_what_keras_predicts(shipped: dict[str, Any], keras_model: Any) -> None:
    images, source = parity_inputs(PARITY_COUNT, DATA_DIR)
    report = check_parity(keras_model, WEB_MODEL_DIR, images, shipped["quantization"], runtimes=("node", "chromium"))
    assert report["passed"], f"on {source}: {report}"
    for measured in report["runtimes"].values():
        assert measured["count"] >= PARITY_COUNT
        assert measured["top1_agreement"] == 1.0


def test_float32_export_of_the_default_model_matches_keras(tmp_path: Path, keras_model: Any) -> None:
    """The issue's bar for the real model unquantized: max |p_tfjs - p_keras| <= 1e-4, 100% top-1, Node and Chromium."""
    from export.convert import export_model

    written = export_model(KERAS_RUN_DIR, tmp_path / "served", quantization=None, parity_count=0, max_weights_kb=None,
                           log=lambda _: None)
    web_dir = tmp_path / "served" / "accessories" / written["version"]
    images, source = parity_inputs(PARITY_COUNT, DATA_DIR)
    report = check_parity(keras_model, web_dir, images, None, runtimes=("node", "chromium"), max_diff=1e-4)
    assert report["passed"], f"on {source}: {report}"
    for measured in report["runtimes"].values():
        assert measured["count"] >= PARITY_COUNT
        assert measured["max_abs_diff"] <= 1e-4
        assert measured["top1_agreement"] == 1.0
