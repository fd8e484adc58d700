"""The Python twin of the browser's classifier: the exported model's Keras original, loaded once.

The Keras file must be the one the web model was exported from (its sha256 is in
metadata.json), and its weights go through the export's quantization so that the server
predicts what the page predicts. TensorFlow is imported on first use, never at import time,
so pages, stats and contributions do not wait for it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
from flask import Flask, current_app

from export.metadata import file_sha256
from preprocessing import spec

logger = logging.getLogger(__name__)
EXTENSION_KEY = "doodles.predictor"


class PredictorError(RuntimeError):
    """The Keras model cannot be used: missing, not the exported one, or the wrong shape."""


class Predictor:
    """Category probabilities for 28x28 bitmaps, from the Keras model behind the web model."""

    def __init__(self, keras_model_path: str | Path, metadata: dict[str, Any]) -> None:
        """Load and check the model, mirror the browser's quantization, and warm up once."""
        path = Path(keras_model_path)
        if not path.is_file():
            raise PredictorError(f"no Keras model at {path}: set KERAS_MODEL to the model the web model came from")
        expected = metadata.get("keras_model_sha256")
        actual = file_sha256(path)
        if expected != actual:
            raise PredictorError(
                f"{path} is not the model the web model was exported from "
                f"(sha256 {actual[:12]}…, metadata.json says {str(expected)[:12]}…): re-export or fix KERAS_MODEL"
            )
        import keras
        import tensorflow as tf

        from export.quantization import apply_to_model

        self.categories: list[str] = list(metadata["categories"])
        self.version: str = metadata["version"]
        model = apply_to_model(keras.models.load_model(path, compile=False), metadata["quantization"])
        outputs = model.output_shape[-1]
        if outputs != len(self.categories):
            raise PredictorError(f"{path} has {outputs} outputs but metadata.json lists {len(self.categories)} categories")
        # A traced function with a fixed signature: one graph for every batch size, without
        # model.predict's per-call set-up, which costs more than this model's inference.
        input_spec = tf.TensorSpec([None, *spec.spec_dict()["input_shape"]], tf.float32)
        self._infer = tf.function(lambda images: model(images, training=False), input_signature=[input_spec])
        self.predict(np.zeros((1, spec.IMAGE_SIZE, spec.IMAGE_SIZE), np.float32))

    def predict(self, bitmaps: np.ndarray) -> np.ndarray:
        """Softmax probabilities (N, categories) as float32 for float32 bitmaps (N, 28, 28) in [0, 1]."""
        images = np.asarray(bitmaps, dtype=np.float32).reshape(-1, spec.IMAGE_SIZE, spec.IMAGE_SIZE, 1)
        return self._infer(images).numpy()

    def probabilities(self, bitmap: np.ndarray) -> dict[str, float]:
        """{category: probability} for one bitmap, in the model's category order."""
        row = self.predict(bitmap[np.newaxis])[0]
        return {category: float(probability) for category, probability in zip(self.categories, row)}


_load_lock = threading.Lock()


def get_predictor(app: Flask | None = None) -> Predictor:
    """The app's predictor, loaded on first use (concurrent first requests load it once); raises PredictorError."""
    app = app or current_app._get_current_object()
    predictor = app.extensions.get(EXTENSION_KEY)
    if predictor is None:
        with _load_lock:
            predictor = app.extensions.get(EXTENSION_KEY)
            if predictor is None:
                logger.info("Loading the Keras model %s", app.config["KERAS_MODEL"])
                try:
                    predictor = Predictor(app.config["KERAS_MODEL"], app.extensions["doodles.metadata"])
                except PredictorError as error:
                    # A wrong model file stays wrong until a restart: do not re-hash it per request.
                    predictor = error
                app.extensions[EXTENSION_KEY] = predictor
    if isinstance(predictor, PredictorError):
        raise PredictorError(str(predictor))
    return predictor
