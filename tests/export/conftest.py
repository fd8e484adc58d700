"""Fixtures for the export tests: a tiny Keras model in a run folder, and its served versions.

Exporting is the slow part (SavedModel + three conversions, several seconds), so each
quantization is exported once per session and shared.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from preprocessing.spec import spec_dict
from training.categories import DEFAULT_CATEGORIES

SEED = 1337
PARITY_COUNT = 1000


def build_tiny_model(num_classes: int = len(DEFAULT_CATEGORIES), input_shape: tuple[int, ...] = (28, 28, 1)) -> Any:
    """Conv (no bias) -> BatchNorm -> ReLU -> pool -> Dense softmax, with fixed random weights.

    The batch norm after a bias-free convolution is the case the converter folds into the
    kernel, so the quantized-parity tests cover apply_to_model's folding too.
    """
    import keras
    from keras import layers

    keras.utils.set_random_seed(SEED)
    inputs = keras.Input(shape=input_shape, name="bitmap")
    x = layers.Conv2D(4, 3, use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    model = keras.Model(inputs, outputs, name="tiny")
    rng = np.random.default_rng(SEED)
    batch_norm = model.layers[2]
    channels = batch_norm.gamma.shape[0]
    # Statistics far from (0, 1) so that folding them changes the kernel noticeably.
    batch_norm.gamma.assign(rng.uniform(0.5, 1.5, channels).astype("float32"))
    batch_norm.beta.assign(rng.normal(0, 0.2, channels).astype("float32"))
    batch_norm.moving_mean.assign(rng.normal(0, 0.3, channels).astype("float32"))
    batch_norm.moving_variance.assign(rng.uniform(0.2, 2.0, channels).astype("float32"))
    return model


def write_run(folder: Path, model: Any, categories: list[str] | None = None) -> Path:
    """Save ``model`` with a model card, as ``python -m training train`` does."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.keras")
    card = {
        "categories": list(categories if categories is not None else DEFAULT_CATEGORIES),
        "preprocessing": spec_dict(),
        "metrics": {"split": "test", "accuracy": 0.5, "macro_accuracy": 0.25},
    }
    (folder / "model_card.json").write_text(json.dumps(card))
    return folder


@pytest.fixture(scope="session")
def build_model() -> Callable[..., Any]:
    """``build_model(num_classes=6, input_shape=(28, 28, 1))`` -> a tiny model with fixed weights."""
    return build_tiny_model


@pytest.fixture(scope="session")
def make_run() -> Callable[..., Path]:
    """``make_run(folder, model, categories=None)`` -> a run folder with model.keras and model_card.json."""
    return write_run


@pytest.fixture(scope="session")
def tiny_model() -> Any:
    """The tiny model itself."""
    return build_tiny_model()


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_model: Any) -> Path:
    """A run folder holding the tiny model and its card."""
    return write_run(tmp_path_factory.mktemp("run") / "tiny", tiny_model)


@pytest.fixture(scope="session")
def parity_images() -> np.ndarray:
    """1,000 deterministic synthetic drawings, rendered with the product's preprocessing."""
    from export.inputs import synthetic_bitmaps

    return synthetic_bitmaps(PARITY_COUNT)


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory, tiny_run: Path) -> Callable[[str | None], Path]:
    """``exported(quantization)`` -> the served version folder of the tiny model, exported once per session."""
    from export.convert import export_model

    cache: dict[str | None, Path] = {}
    root = tmp_path_factory.mktemp("served")

    def get(quantization: str | None) -> Path:
        if quantization not in cache:
            out = root / (quantization or "none")
            written = export_model(tiny_run, out, quantization=quantization, data_dir=None, parity_count=0,
                                   log=lambda message: None)
            cache[quantization] = out / "accessories" / written["version"]
        return cache[quantization]

    return get
