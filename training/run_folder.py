"""What a training run folder holds, in one place: file names, the model card, loading, the commit.

A run folder (``models/default``, ``runs/<name>``) is written by ``python -m training train``
and read by evaluation, comparison and the exporter.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from preprocessing.model_metadata import current_git_commit

MODEL_FILE = "model.keras"
CARD_FILE = "model_card.json"

# The commit a run or an export was made from (None outside a git checkout).
git_commit = current_git_commit


def model_file(path: Path) -> Path:
    """Accept a run folder or a ``.keras`` file and return the ``.keras`` file."""
    path = Path(path)
    candidate = path / MODEL_FILE if path.is_dir() else path
    if not candidate.is_file() or candidate.suffix != ".keras":
        raise ValueError(f"no Keras model at {path} (expected a run folder with {MODEL_FILE} "
                         "or a .keras file)")
    return candidate


def read_card(path: Path) -> dict[str, Any] | None:
    """The model card beside a model (folder or file), or None when there is none."""
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    card = folder / CARD_FILE
    return json.loads(card.read_text()) if card.is_file() else None


def load_model(path: Path) -> Any:
    """Load a saved model for inference (no optimizer state needed)."""
    import keras

    return keras.models.load_model(model_file(path), compile=False)


def inference_copy(model: Any) -> Any:
    """Return a copy of ``model`` with its weights and none of its training state (optimizer, compile settings)."""
    import keras

    # keras.models.clone_model rebuilds nested models from their configs, and a nested model
    # that was compiled in training comes back compiled, Adam slots and all: rebuilding from a
    # config without any compile_config keeps the optimizer out at every depth.
    copy = keras.saving.deserialize_keras_object(_without_compile_config(keras.saving.serialize_keras_object(model)))
    copy.set_weights(model.get_weights())
    return copy


def _without_compile_config(config: Any) -> Any:
    """``config`` (a serialized Keras object) with every nested ``compile_config`` entry removed."""
    if isinstance(config, dict):
        return {key: _without_compile_config(value) for key, value in config.items() if key != "compile_config"}
    if isinstance(config, list):
        return [_without_compile_config(value) for value in config]
    return config
