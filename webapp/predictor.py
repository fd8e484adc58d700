"""The served models: which version of each set is current, its metadata, and its Python-side predictor.

Everything comes from MODEL_DIR (``preprocessing.served`` describes the layout). Each request
resolves a set's current version once, from its CURRENT file, so a promotion or rollback
reaches a running server on its next request, and ``/api/model`` and ``/api/predict`` change
version together. Version folders are immutable, so metadata is cached per version and a
predictor is loaded once per version (under a lock; at most ``PREDICTORS_PER_SET`` are kept).
The Keras file is the export's twin with the browser's weight quantization already applied:
nothing from export/, training/ or tensorflowjs is imported here, and TensorFlow only on the
first prediction, so pages, stats and contributions do not wait for it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from flask import Flask, current_app, g

from preprocessing import served, spec
from preprocessing.model_metadata import KERAS_FILENAME, MetadataError, file_sha256, is_reference, load_metadata

logger = logging.getLogger(__name__)
EXTENSION_KEY = "doodles.models"
# The current version and the one before it: requests that resolved the old version just
# before a switch still find its predictor, and memory holds two models, not every one.
PREDICTORS_PER_SET = 2


class PredictorError(RuntimeError):
    """The Keras model cannot be used: missing, not the exported one, or the wrong shape."""


class UnknownModel(ValueError):
    """A request names a model set or version that MODEL_DIR does not hold."""


@dataclass(frozen=True)
class ServedModel:
    """One version of one set: its folder and its validated metadata.json."""

    set_name: str
    version: str
    directory: Path
    metadata: dict[str, Any]


class Predictor:
    """Output probabilities for 28x28 bitmaps, from the Keras twin of one served version."""

    def __init__(self, directory: str | Path, metadata: dict[str, Any]) -> None:
        """Load and check the model (its sha256 must be the one in metadata.json) and warm up once."""
        path = Path(directory) / metadata.get("keras_model", KERAS_FILENAME)
        if not path.is_file():
            raise PredictorError(f"no Keras model at {path}: re-export the model with `make export`")
        expected = metadata.get("keras_model_sha256")
        actual = file_sha256(path)
        if expected != actual:
            raise PredictorError(
                f"{path} is not the model this version was exported with "
                f"(sha256 {actual[:12]}…, metadata.json says {str(expected)[:12]}…): re-export it"
            )
        import keras
        import tensorflow as tf

        self.outputs: list[str] = list(metadata["outputs"])
        self.version: str = metadata["version"]
        model = keras.models.load_model(path, compile=False)
        units = model.output_shape[-1]
        if units != len(self.outputs):
            raise PredictorError(f"{path} has {units} outputs but metadata.json lists {len(self.outputs)}")
        # A traced function with a fixed signature: one graph for every batch size, without
        # model.predict's per-call set-up, which costs more than this model's inference.
        input_spec = tf.TensorSpec([None, *spec.spec_dict()["input_shape"]], tf.float32)
        self._infer = tf.function(lambda images: model(images, training=False), input_signature=[input_spec])
        self.predict(np.zeros((1, spec.IMAGE_SIZE, spec.IMAGE_SIZE), np.float32))

    def predict(self, bitmaps: np.ndarray) -> np.ndarray:
        """Softmax probabilities (N, outputs) as float32 for float32 bitmaps (N, 28, 28) in [0, 1]."""
        images = np.asarray(bitmaps, dtype=np.float32).reshape(-1, spec.IMAGE_SIZE, spec.IMAGE_SIZE, 1)
        return self._infer(images).numpy()

    def probabilities(self, bitmap: np.ndarray) -> dict[str, float]:
        """{output: probability} for one bitmap, in the model's output order ("other" included)."""
        row = self.predict(bitmap[np.newaxis])[0]
        return {output: float(probability) for output, probability in zip(self.outputs, row)}


class ModelRegistry:
    """The app's view of MODEL_DIR: current versions read per call, metadata and predictors cached per version."""

    def __init__(self, root: str | Path, default_set: str) -> None:
        """Remember the folder; nothing is read until asked."""
        self.root = Path(root)
        self.default_set = default_set
        self._metadata: dict[tuple[str, str], dict[str, Any]] = {}
        self._predictors: dict[str, OrderedDict[str, Predictor | PredictorError]] = {}
        self._lock = threading.Lock()

    def sets(self) -> list[str]:
        """The sets MODEL_DIR serves to people, the default first: reference models (role "reference") are left out."""
        return [name for name in served.list_sets(self.root, self.default_set)
                if not is_reference(self.current(name).metadata)]

    def current(self, set_name: str | None = None) -> ServedModel:
        """The set's current version (one small file read); raise UnknownModel for a set that is not served."""
        set_name = set_name or self.default_set
        try:
            version = served.read_current(self.root, set_name)
        except served.ServedError:
            # The message reaches clients: it names the set, never the server's folders.
            raise UnknownModel(f"unknown model set {set_name!r}") from None
        return self.version(set_name, version)

    def version(self, set_name: str, version: str) -> ServedModel:
        """One version of a set, its metadata validated once; UnknownModel when there is no such folder."""
        try:
            directory = served.version_dir(self.root, set_name, version)
        except served.ServedError as error:
            raise UnknownModel(str(error)) from None
        key = (set_name, version)
        metadata = self._metadata.get(key)
        if metadata is None:
            if not directory.is_dir():
                raise UnknownModel(f"no version {version!r} of model set {set_name!r}")
            metadata = load_metadata(directory)
            if metadata["version"] != version or metadata["set"] != set_name:
                raise MetadataError(f"{directory} holds version {metadata['version']!r} of set {metadata['set']!r}")
            self._metadata[key] = metadata
        return ServedModel(set_name, version, directory, metadata)

    def predictor(self, model: ServedModel) -> Predictor:
        """The version's predictor, loaded on first use (concurrent first requests load it once)."""
        loaded = self._predictors.get(model.set_name, {}).get(model.version)
        if loaded is None:
            with self._lock:
                by_version = self._predictors.setdefault(model.set_name, OrderedDict())
                loaded = by_version.get(model.version)
                if loaded is None:
                    logger.info("Loading model %s/%s", model.set_name, model.version)
                    try:
                        loaded = Predictor(model.directory, model.metadata)
                    except PredictorError as error:
                        # A wrong model file stays wrong (versions are immutable): do not re-hash it per request.
                        loaded = error
                    self.adopt(model, loaded)
        if isinstance(loaded, PredictorError):
            raise PredictorError(str(loaded))
        return loaded

    def adopt(self, model: ServedModel, predictor: Predictor | PredictorError) -> None:
        """Hold ``predictor`` for ``model``'s version, dropping the oldest beyond PREDICTORS_PER_SET."""
        by_version = self._predictors.setdefault(model.set_name, OrderedDict())
        by_version[model.version] = predictor
        by_version.move_to_end(model.version)
        while len(by_version) > PREDICTORS_PER_SET:
            dropped, _ = by_version.popitem(last=False)
            logger.info("Dropped the predictor of %s/%s", model.set_name, dropped)

    def loaded_versions(self, set_name: str) -> list[str]:
        """Versions of a set whose predictors are held, oldest first."""
        return list(self._predictors.get(set_name, {}))


def get_registry(app: Flask | None = None) -> ModelRegistry:
    """The app's model registry (created by ``init_app``)."""
    return (app or current_app).extensions[EXTENSION_KEY]


def current_model(set_name: str | None = None) -> ServedModel:
    """The set's current version for this request: resolved once, so every use in a request agrees."""
    registry = get_registry()
    set_name = set_name or registry.default_set
    resolved = g.setdefault("doodles_models", {})
    if set_name not in resolved:
        resolved[set_name] = registry.current(set_name)
    return resolved[set_name]


def get_predictor(app: Flask | None = None, set_name: str | None = None) -> Predictor:
    """The predictor of a set's current version (the default set's when None); raises PredictorError."""
    registry = get_registry(app)
    return registry.predictor(registry.current(set_name))


def init_app(app: Flask) -> None:
    """Attach the registry and check the default set now: a server whose model is unusable must not start.

    Raises ``UnknownModel`` or ``MetadataError`` (both say how to fix it).
    """
    # A relative MODEL_DIR means the working directory's, as on the command line, not the
    # app package's (which send_from_directory would otherwise assume).
    app.config["MODEL_DIR"] = os.path.abspath(app.config["MODEL_DIR"])
    registry = ModelRegistry(app.config["MODEL_DIR"], app.config["DEFAULT_MODEL_SET"])
    app.extensions[EXTENSION_KEY] = registry
    try:
        served.read_current(registry.root, registry.default_set)
    except served.ServedError as error:
        raise UnknownModel(f"{error} (MODEL_DIR is {registry.root})") from None
    registry.current()
