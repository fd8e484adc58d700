"""Export a trained Keras model as a TF.js graph model with metadata.json, choosing its quantization.

Route: Keras 3 ``model.export()`` writes a SavedModel, and tensorflowjs' converter turns it
into a graph model (``docs/export.md`` explains why not a layers model). Every quantization
option is converted and measured: weight bytes, and the macro accuracy on the test split of
the Keras model with its weights round-tripped exactly as the browser will see them. Then
the chosen one is checked for parity in TF.js and swapped into the output folder in one rename.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from export import inputs, metadata, parity
from export.metadata import file_sha256
from export.quantization import CONVERTER_DTYPE_MAPS, QUANTIZATIONS, apply_to_model, check_quantization
from preprocessing import spec

MODEL_FILE = "model.keras"
CARD_FILE = "model_card.json"
AUTO = "auto"
DEFAULT_TOLERANCE_PP = 0.2  # Macro-accuracy points a quantization may lose against float32.
DEFAULT_PARITY_COUNT = 1000
DEFAULT_MAX_WEIGHTS_KB = 150  # The page downloads the weights before its first guess.
PREDICT_BATCH_SIZE = 1024
# Only these files make up an export; anything else in the output folder is not ours to delete.
_EXPORT_FILE_PATTERNS = ("model.json", "metadata.json", "group*-shard*of*.bin")


class ExportError(ValueError):
    """The model, its card or the requested options cannot make a web model the app accepts."""


def quantization_label(quantization: str | None) -> str:
    """The name users type and reports print: ``none`` for float32."""
    return quantization or "none"


def parse_quantization(text: str) -> str | None:
    """``auto``, ``none``, ``float16`` or ``uint8`` from the command line to the internal value."""
    if text == AUTO:
        return AUTO
    value = None if text == "none" else text
    try:
        return check_quantization(value)
    except ValueError:
        raise ExportError(f"unknown quantization {text!r}; choose auto, none, float16 or uint8") from None


# ---------------------------------------------------------------------------------------
# Checks on the input model.

def read_card(model_dir: Path) -> dict[str, Any]:
    """The model card written by training; its categories name the model's outputs."""
    path = Path(model_dir) / CARD_FILE
    if not path.is_file():
        raise ExportError(f"no model card at {path}: train with `python -m training train --out {model_dir}`")
    card = json.loads(path.read_text())
    if not isinstance(card.get("categories"), list) or not card["categories"]:
        raise ExportError(f"{path} lists no categories")
    version = (card.get("preprocessing") or {}).get("version")
    if version != spec.SPEC_VERSION:
        raise ExportError(
            f"{path} was trained with preprocessing version {version!r}, but the web app uses "
            f"{spec.SPEC_VERSION!r}: retrain the model"
        )
    return card


def check_categories(card_categories: Sequence[str], requested: Sequence[str] | None) -> list[str]:
    """Return the categories to export; other than the web app's defaults only when asked for by name."""
    from training.categories import DEFAULT_CATEGORIES

    card_categories = list(card_categories)
    if requested is not None and list(requested) != card_categories:
        raise ExportError(
            f"--categories {list(requested)} differ from the model card's {card_categories} "
            "(same names in the same order are required)"
        )
    if requested is None and card_categories != list(DEFAULT_CATEGORIES):
        raise ExportError(
            f"the model's categories {card_categories} differ from the web app's default "
            f"{list(DEFAULT_CATEGORIES)}; pass --categories {','.join(card_categories)} to export it anyway"
        )
    return card_categories


def check_model_shapes(model: Any, categories: Sequence[str]) -> None:
    """Refuse a model whose input is not the preprocessing's bitmap or whose outputs are not the categories."""
    expected_input = (None, *spec.spec_dict()["input_shape"])
    if tuple(model.input_shape) != expected_input:
        raise ExportError(f"the model's input shape is {tuple(model.input_shape)}, expected {expected_input}")
    output_shape = tuple(model.output_shape)
    if len(output_shape) != 2 or output_shape[1] != len(categories):
        raise ExportError(
            f"the model has output shape {output_shape} but {len(categories)} categories {list(categories)}: "
            "one softmax unit per category is required"
        )


# ---------------------------------------------------------------------------------------
# Conversion and measurement.

def convert(saved_model_dir: Path, out_dir: Path, quantization: str | None) -> None:
    """Convert a SavedModel to a TF.js graph model in ``out_dir``, quantizing every float32 weight."""
    from tensorflowjs.converters import tf_saved_model_conversion_v2

    tf_saved_model_conversion_v2.convert_tf_saved_model(
        str(saved_model_dir),
        str(out_dir),
        quantization_dtype_map=CONVERTER_DTYPE_MAPS[quantization],
    )


def weight_files(web_dir: Path) -> list[Path]:
    """The weight shards of a graph model, in the order model.json lists them."""
    model_json = json.loads((Path(web_dir) / metadata.MODEL_FILENAME).read_text())
    return [Path(web_dir) / name for group in model_json["weightsManifest"] for name in group["paths"]]


def weights_bytes(web_dir: Path) -> int:
    """Total size of the weight shards the browser downloads."""
    return sum(path.stat().st_size for path in weight_files(web_dir))


def content_version(web_dir: Path) -> str:
    """A short hash of model.json and the shards: changes whenever the browser would load something else."""
    digest = hashlib.sha256()
    for path in [Path(web_dir) / metadata.MODEL_FILENAME, *weight_files(web_dir)]:
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def score(model: Any, images: np.ndarray, labels: np.ndarray, categories: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro accuracy (mean per-class recall) as training reports them."""
    from training.evaluate import confusion_matrix, metrics_from_confusion

    predictions = np.asarray(model.predict(images, batch_size=PREDICT_BATCH_SIZE, verbose=0)).argmax(axis=1)
    metrics = metrics_from_confusion(confusion_matrix(labels, predictions, len(categories)), list(categories))
    return {"accuracy": metrics["accuracy"], "macro_accuracy": metrics["macro_accuracy"]}


def choose_quantization(
    options: list[dict[str, Any]], requested: str | None, tolerance_pp: float, allow_accuracy_drop: bool
) -> str | None:
    """Pick the option: the smallest within tolerance for ``auto``; else check the requested one."""
    within = [option for option in options if option["macro_accuracy_drop_pp"] is not None
              and option["macro_accuracy_drop_pp"] <= tolerance_pp + 1e-9]
    if requested == AUTO:
        if not within:  # Float32 itself is always within; this guards a corrupted report.
            raise ExportError("no quantization option could be measured")
        return min(within, key=lambda option: option["weights_bytes"])["quantization"]
    chosen = next(option for option in options if option["quantization"] == requested)
    drop = chosen["macro_accuracy_drop_pp"]
    if drop is not None and drop > tolerance_pp + 1e-9 and not allow_accuracy_drop:
        raise ExportError(
            f"{quantization_label(requested)} quantization loses {drop:.2f} points of macro accuracy "
            f"(more than the {tolerance_pp} allowed by --tolerance-pp); choose another option or pass "
            "--allow-accuracy-drop"
        )
    return requested


def format_options(options: list[dict[str, Any]], chosen: str | None) -> str:
    """The measurements as a small table, one line per option."""
    lines = ["quantization  weights      accuracy  macro acc.  drop (pp)"]
    for option in options:
        measured = option["macro_accuracy"] is not None
        lines.append(
            f"{quantization_label(option['quantization']):<12}  {option['weights_bytes'] / 1024:7.1f} KB  "
            + (f"{option['accuracy']:8.4f}  {option['macro_accuracy']:10.4f}  {option['macro_accuracy_drop_pp']:9.2f}"
               if measured else f"{'-':>8}  {'-':>10}  {'-':>9}")
            + ("  <- chosen" if option["quantization"] == chosen else "")
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Writing the output folder.

def _is_export_file(path: Path) -> bool:
    """True for the files an export writes (model.json, metadata.json, weight shards)."""
    return path.is_file() and any(path.match(pattern) for pattern in _EXPORT_FILE_PATTERNS)


def replace_directory(staged: Path, out_dir: Path) -> None:
    """Move ``staged`` to ``out_dir``, replacing an earlier export there, so no reader sees a half-written model."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        strangers = [path.name for path in out_dir.iterdir() if not _is_export_file(path)]
        if strangers:
            raise ExportError(
                f"refusing to replace {out_dir}: it holds files an export does not write ({', '.join(sorted(strangers))})"
            )
        previous = out_dir.with_name(f".{out_dir.name}.previous-{os.getpid()}")
        os.rename(out_dir, previous)
        try:
            os.rename(staged, out_dir)
        except OSError:
            os.rename(previous, out_dir)
            raise
        shutil.rmtree(previous)
    else:
        os.rename(staged, out_dir)


def export_model(
    model_dir: Path,
    out_dir: Path,
    *,
    quantization: str | None = AUTO,
    tolerance_pp: float = DEFAULT_TOLERANCE_PP,
    data_dir: Path | None = None,
    parity_count: int = DEFAULT_PARITY_COUNT,
    parity_runtimes: Sequence[str] = ("node",),
    categories: Sequence[str] | None = None,
    allow_accuracy_drop: bool = False,
    max_weights_kb: float | None = DEFAULT_MAX_WEIGHTS_KB,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Convert ``model_dir/model.keras`` into a web model in ``out_dir``; return the metadata written."""
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if quantization != AUTO:
        check_quantization(quantization)
    if tolerance_pp < 0:
        raise ExportError(f"--tolerance-pp must be at least 0, not {tolerance_pp}")
    model_path = model_dir / MODEL_FILE
    if not model_path.is_file():
        raise ExportError(f"no Keras model at {model_path}: train one with `make train`")
    card = read_card(model_dir)
    chosen_categories = check_categories(card["categories"], categories)
    import keras  # Late: the checks above answer in a fraction of a second without TensorFlow.

    model = keras.models.load_model(model_path, compile=False)
    check_model_shapes(model, chosen_categories)

    test_split = inputs.load_test_split(data_dir) if data_dir is not None else None
    if test_split is None and quantization == AUTO:
        raise ExportError(
            f"automatic quantization measures accuracy on the test split, and there is none at {data_dir}: "
            "run `make data` (or pass --data), or choose --quantization none|float16|uint8"
        )

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.export-", dir=out_dir.parent))
    try:
        saved_model = staging / "saved_model"
        model.export(str(saved_model), format="tf_saved_model", verbose=False)
        options, candidates = _measure_options(model, saved_model, staging, test_split, chosen_categories, log)
        chosen = choose_quantization(options, quantization, tolerance_pp, allow_accuracy_drop)
        log(format_options(options, chosen))
        chosen_option = next(option for option in options if option["quantization"] == chosen)
        if max_weights_kb and chosen_option["weights_bytes"] > max_weights_kb * 1024:
            raise ExportError(
                f"the {quantization_label(chosen)} weights take {chosen_option['weights_bytes'] / 1024:.1f} KB, "
                f"over the {max_weights_kb} KB budget (--max-weights-kb; 0 turns the check off)"
            )
        web_dir = candidates[chosen]

        parity_report = None
        if parity_count > 0:
            images, source = inputs.parity_inputs(parity_count, data_dir)
            parity_report = parity.check_parity(model, web_dir, images, chosen, parity_runtimes)
            parity_report["inputs"] = source
            log(f"parity on {len(images)} bitmaps ({source}):\n{parity.format_report(parity_report)}")
            if not parity_report["passed"]:
                raise ExportError("the TF.js model does not predict what the Keras model predicts (see above)")

        report = {
            "mode": AUTO if quantization == AUTO else "explicit",
            "chosen": chosen,
            "tolerance_pp": tolerance_pp,
            "evaluated_on": (f"test split of {data_dir} ({len(test_split[1])} bitmaps)" if test_split else None),
            "options": options,
        }
        written = metadata.build_metadata(
            version=content_version(web_dir),
            categories=chosen_categories,
            quantization=chosen,
            metrics=card.get("metrics") or {},
            keras_model_sha256=file_sha256(model_path),
            quantization_report=report,
        )
        written["parity"] = parity_report
        metadata.write_metadata(web_dir, written)
        replace_directory(web_dir, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log(f"wrote {out_dir} (version {written['version']}, {quantization_label(chosen)}, "
        f"{chosen_option['weights_bytes'] / 1024:.1f} KB of weights)")
    return written


def _measure_options(
    model: Any,
    saved_model: Path,
    staging: Path,
    test_split: tuple[np.ndarray, np.ndarray] | None,
    categories: Sequence[str],
    log: Callable[[str], None],
) -> tuple[list[dict[str, Any]], dict[str | None, Path]]:
    """Convert with every quantization option; measure weight bytes and (given a test split) accuracy."""
    options, candidates = [], {}
    baseline = None
    for option in QUANTIZATIONS:
        web_dir = staging / f"web-{quantization_label(option)}"
        convert(saved_model, web_dir, option)
        candidates[option] = web_dir
        measured: dict[str, Any] = {"quantization": option, "weights_bytes": weights_bytes(web_dir),
                                    "accuracy": None, "macro_accuracy": None, "macro_accuracy_drop_pp": None}
        if test_split is not None:
            measured.update(score(apply_to_model(model, option), *test_split, categories))
            baseline = measured["macro_accuracy"] if option is None else baseline
            measured["macro_accuracy_drop_pp"] = round(100 * (baseline - measured["macro_accuracy"]), 4)
        log(f"converted with quantization {quantization_label(option)}: {measured['weights_bytes']} bytes of weights")
        options.append(measured)
    return options, candidates
