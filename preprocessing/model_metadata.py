"""metadata.json: what the browser and the Python server need to know about an exported model.

The file sits beside model.json in each served version folder. The web app reads its
categories, outputs, decision thresholds, input shape and preprocessing spec at runtime, so
no category name or constant is duplicated in JavaScript. This module imports nothing heavy:
the web app validates metadata without TensorFlow, and nothing from training/ or export/.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from preprocessing import decision as decision_rule
from preprocessing import spec
from preprocessing.categories import CATEGORY_SETS, DEFAULT_SET, OTHER_LABEL, set_title
from preprocessing.served import check_set_name

EXPECTED_FORMAT = "tfjs-graph-model"
METADATA_FILENAME = "metadata.json"
MODEL_FILENAME = "model.json"
KERAS_FILENAME = "model.keras"  # The Python-side twin, its weights already quantized like the TF.js ones.
ALLOWED_QUANTIZATIONS = (None, "float16", "uint8")
# A set's role: absent for the sets people draw against; "reference" for a model the server
# consults on its own (review's opinion on every contribution), never offered to people.
REFERENCE_ROLE = "reference"
ROLES = (None, REFERENCE_ROLE)


class MetadataError(ValueError):
    """An exported model's metadata is missing, unreadable or does not match this code."""


def with_defaults(metadata: dict[str, Any]) -> dict[str, Any]:
    """Fill the fields older exports lack (set, title, outputs, decision) in place; return ``metadata``.

    An export from before "none of these" had one output per category and no decision block:
    its outputs are its categories and it never rejects.
    """
    if isinstance(metadata, dict) and isinstance(metadata.get("categories"), list):
        metadata.setdefault("set", DEFAULT_SET)
        metadata.setdefault("title", set_title(metadata["set"]) if metadata["set"] in CATEGORY_SETS else None)
        metadata.setdefault("outputs", list(metadata["categories"]))
        other = OTHER_LABEL if OTHER_LABEL in metadata["outputs"] else None
        metadata.setdefault("decision", decision_rule.default_decision(other))
    return metadata


def validate_metadata(metadata: dict[str, Any], expected_categories: Sequence[str] | None = None) -> dict[str, Any]:
    """Return ``metadata`` unchanged if it describes a model this code can serve; else raise MetadataError."""
    if not isinstance(metadata, dict):
        raise MetadataError(f"the model metadata must be a JSON object, not {type(metadata).__name__}")
    if metadata.get("format") != EXPECTED_FORMAT:
        raise MetadataError(f"the model format is {metadata.get('format')!r}, expected {EXPECTED_FORMAT!r}")
    _check_categories(metadata.get("categories"), expected_categories)
    _check_outputs(metadata)
    try:
        check_set_name(metadata.get("set"))
    except ValueError as error:
        raise MetadataError(f"the model's set: {error}") from None
    if not isinstance(metadata.get("title"), str) or not metadata["title"]:
        raise MetadataError(f"the model's title must be a non-empty string, not {metadata.get('title')!r}")
    try:
        decision_rule.validate_decision(metadata.get("decision"), metadata["outputs"])
    except ValueError as error:
        raise MetadataError(str(error)) from None
    if metadata.get("role") not in ROLES:
        raise MetadataError(f"the model's role is {metadata.get('role')!r}, expected one of {list(ROLES)!r}")
    if is_reference(metadata) and OTHER_LABEL in metadata["outputs"]:
        raise MetadataError(f"a reference model names what it sees: it has no {OTHER_LABEL!r} output")
    expected_shape = spec.spec_dict()["input_shape"]
    if metadata.get("input_shape") != expected_shape:
        raise MetadataError(f"the model's input_shape is {metadata.get('input_shape')!r}, expected {expected_shape!r}")
    preprocessing = metadata.get("preprocessing")
    version = preprocessing.get("version") if isinstance(preprocessing, dict) else None
    if version != spec.SPEC_VERSION:
        raise MetadataError(
            f"the model was exported for preprocessing version {version!r}, but this code implements "
            f"{spec.SPEC_VERSION!r}: retrain or re-export the model"
        )
    if "quantization" not in metadata or metadata["quantization"] not in ALLOWED_QUANTIZATIONS:
        raise MetadataError(
            f"the model's quantization is {metadata.get('quantization', '<missing>')!r}, "
            f"expected one of {list(ALLOWED_QUANTIZATIONS)!r}"
        )
    if not isinstance(metadata.get("version"), str) or not metadata["version"]:
        raise MetadataError("the model metadata has no version (the exporter writes a content hash)")
    for key, default in (("model_url", MODEL_FILENAME), ("keras_model", KERAS_FILENAME)):
        name = metadata.get(key, default)
        if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
            raise MetadataError(f"the model metadata's {key} is {name!r}, expected a file name")
    return metadata


def is_reference(metadata: dict[str, Any]) -> bool:
    """Whether a served set is a reference model (consulted by the server, never offered to people)."""
    return metadata.get("role") == REFERENCE_ROLE


def _check_categories(categories: Any, expected_categories: Sequence[str] | None) -> None:
    """Raise MetadataError unless ``categories`` is a non-empty list of unique strings (equal to the expected ones)."""
    # Two is the least a classifier can choose between, and model.js refuses fewer.
    if not isinstance(categories, list) or len(categories) < 2:
        raise MetadataError(f"the model metadata needs a list of at least two categories, not {categories!r}")
    if not all(isinstance(name, str) and name for name in categories):
        raise MetadataError(f"the model's categories must be non-empty strings: {categories!r}")
    if len(set(categories)) != len(categories):
        raise MetadataError(f"the model's categories repeat: {categories!r}")
    if OTHER_LABEL in categories:
        raise MetadataError(f"{OTHER_LABEL!r} is an output, never a category: {categories!r}")
    if expected_categories is not None and list(categories) != list(expected_categories):
        raise MetadataError(
            f"the model's categories {list(categories)!r} differ from the expected {list(expected_categories)!r} "
            "(names and order must match)"
        )


def _check_outputs(metadata: dict[str, Any]) -> None:
    """Raise MetadataError unless ``outputs`` is the categories, plus "other" last when the model has it."""
    outputs, categories = metadata.get("outputs"), metadata["categories"]
    if outputs not in (categories, [*categories, OTHER_LABEL]):
        raise MetadataError(
            f"the model's outputs {outputs!r} must be its categories, optionally followed by {OTHER_LABEL!r}"
        )


def load_metadata(model_dir: Path, expected_categories: Sequence[str] | None = None) -> dict[str, Any]:
    """Read and validate ``model_dir/metadata.json`` (older fields filled in); raise MetadataError saying what is wrong."""
    path = Path(model_dir) / METADATA_FILENAME
    if not path.is_file():
        raise MetadataError(f"no exported model at {Path(model_dir)}: run `make export`")
    try:
        metadata = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MetadataError(f"cannot read {path}: {error}") from error
    validate_metadata(with_defaults(metadata), expected_categories)
    if not (Path(model_dir) / metadata.get("model_url", MODEL_FILENAME)).is_file():
        raise MetadataError(f"{path} names {metadata.get('model_url', MODEL_FILENAME)!r}, which is missing: run `make export`")
    return metadata


def build_metadata(
    *,
    version: str,
    categories: Sequence[str],
    quantization: str | None,
    set_name: str = DEFAULT_SET,
    title: str | None = None,
    outputs: Sequence[str] | None = None,
    decision: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    keras_model_sha256: str | None = None,
    quantization_report: dict[str, Any] | None = None,
    git_commit: str | None = None,
    created: str | None = None,
    role: str | None = None,
) -> dict[str, Any]:
    """Assemble a metadata dict in the shape the web app reads, and validate it."""
    outputs = list(outputs) if outputs is not None else list(categories)
    metadata = {
        "format": EXPECTED_FORMAT,
        "model_url": MODEL_FILENAME,
        "keras_model": KERAS_FILENAME,
        "version": version,
        "set": set_name,
        "title": title or set_title(set_name),
        "categories": list(categories),
        "outputs": outputs,
        "decision": decision or decision_rule.default_decision(OTHER_LABEL if OTHER_LABEL in outputs else None),
        "input_shape": spec.spec_dict()["input_shape"],
        "preprocessing": spec.spec_dict(),
        "quantization": quantization,
        "metrics": metrics or {},
        "keras_model_sha256": keras_model_sha256,
        "quantization_report": quantization_report,
        "created": created or datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "git_commit": git_commit if git_commit is not None else current_git_commit(),
    }
    if role is not None:
        metadata["role"] = role
    return validate_metadata(metadata)


def write_metadata(model_dir: Path, metadata: dict[str, Any]) -> Path:
    """Validate ``metadata`` and write it to ``model_dir/metadata.json`` (via a temporary file)."""
    validate_metadata(metadata)
    path = Path(model_dir) / METADATA_FILENAME
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(metadata, indent=2) + "\n")
    os.replace(partial, path)
    return path


def current_git_commit() -> str | None:
    """The repository's HEAD commit, or None outside a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks: ``keras_model_sha256`` ties a web model to its Keras file."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
