"""Export a trained Keras model as a TF.js graph model with metadata.json, choosing its quantization.

Route: Keras 3 ``model.export()`` writes a SavedModel, and tensorflowjs' converter turns it
into a graph model (``docs/export.md`` explains why not a layers model). Every quantization
option is converted and measured: weight bytes, and the macro accuracy on the test split of
the Keras model with its weights round-tripped exactly as the browser will see them. Then
the chosen one is checked for parity in TF.js, saved with its Keras twin (weights quantized
the same way, for the server) as an immutable version folder ``served/<set>/<version>/``, and
made current by replacing the set's CURRENT file atomically (``preprocessing.served``).
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

from export import inputs, parity
from export.quantization import CONVERTER_DTYPE_MAPS, QUANTIZATIONS, apply_to_model, check_quantization
from preprocessing import model_metadata as metadata
from preprocessing import served, spec
from preprocessing.categories import CATEGORY_SETS, DEFAULT_SET, OTHER_LABEL
from preprocessing.decision import default_decision
from preprocessing.model_metadata import KERAS_FILENAME, file_sha256
from training import run_folder
from training.run_folder import CARD_FILE, MODEL_FILE  # noqa: F401 (re-exported)

AUTO = "auto"
DEFAULT_TOLERANCE_PP = 0.2  # Macro-accuracy points a quantization may lose against float32.
DEFAULT_PARITY_COUNT = 1000
DEFAULT_MAX_WEIGHTS_KB = 150  # The page downloads the weights before its first guess.
PREDICT_BATCH_SIZE = 1024


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
    card = run_folder.read_card(model_dir)
    if card is None:
        raise ExportError(f"no model card at {path}: train with `python -m training train --out {model_dir}`")
    if not isinstance(card.get("categories"), list) or not card["categories"]:
        raise ExportError(f"{path} lists no categories")
    version = (card.get("preprocessing") or {}).get("version")
    if version != spec.SPEC_VERSION:
        raise ExportError(
            f"{path} was trained with preprocessing version {version!r}, but the web app uses "
            f"{spec.SPEC_VERSION!r}: retrain the model"
        )
    return card


def card_categories(card: dict[str, Any]) -> list[str]:
    """The categories a model card names, without the "none of these" output."""
    return [name for name in card["categories"] if name != OTHER_LABEL]


def card_outputs(card: dict[str, Any], categories: Sequence[str]) -> list[str]:
    """The model's output units: the categories, plus "other" last when the card says the model has it."""
    listed = card.get("outputs") or card["categories"]
    return [*categories, OTHER_LABEL] if OTHER_LABEL in listed else list(categories)


def card_decision(card: dict[str, Any], outputs: Sequence[str]) -> dict[str, Any]:
    """The decision block: the card's calibrated probability thresholds when training chose them, else the defaults.

    ``min_extent`` is about the page's input (canvas pixels), not the model, so it is always
    this code's default; ``other_label`` follows the outputs.
    """
    block = default_decision(OTHER_LABEL if OTHER_LABEL in outputs else None)
    calibrated = card.get("decision") or {}
    block.update({key: calibrated[key] for key in ("reject_below", "unsure_below") if calibrated.get(key) is not None})
    return block


def check_categories(card_categories: Sequence[str], requested: Sequence[str] | None,
                     set_name: str = DEFAULT_SET) -> list[str]:
    """Return the categories to export; other than the named set's only when asked for by name."""
    card_categories = list(card_categories)
    if requested is not None and list(requested) != card_categories:
        raise ExportError(
            f"--categories {list(requested)} differ from the model card's {card_categories} "
            "(same names in the same order are required)"
        )
    expected = list(CATEGORY_SETS[set_name][0]) if set_name in CATEGORY_SETS else None
    if requested is None and card_categories != expected:
        raise ExportError(
            f"the model's categories {card_categories} differ from the {set_name!r} set's "
            f"{expected}; pass --categories {','.join(card_categories)} to export it anyway"
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
            "one softmax unit per output is required"
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


def score(model: Any, images: np.ndarray, labels: np.ndarray, outputs: Sequence[str],
          categories: Sequence[str] | None = None) -> dict[str, float]:
    """Accuracy and macro accuracy exactly as training reports them: the mean recall of the named categories.

    "other" is an output but not a category: counting its recall too would make the export's
    macro accuracy a different figure from training's under the same name.
    """
    from training.evaluate import confusion_matrix, metrics_from_confusion

    predictions = np.asarray(model.predict(images, batch_size=PREDICT_BATCH_SIZE, verbose=0)).argmax(axis=1)
    metrics = metrics_from_confusion(confusion_matrix(labels, predictions, len(outputs)), list(outputs),
                                     scored=list(categories or outputs))
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
    lines = ["quantization  weights      accuracy  macro accuracy  drop (pp)"]
    for option in options:
        measured = option["macro_accuracy"] is not None
        lines.append(
            f"{quantization_label(option['quantization']):<12}  {option['weights_bytes'] / 1024:7.1f} KB  "
            + (f"{option['accuracy']:8.4f}  {option['macro_accuracy']:14.4f}  {option['macro_accuracy_drop_pp']:9.2f}"
               if measured else f"{'-':>8}  {'-':>14}  {'-':>9}")
            + ("  <- chosen" if option["quantization"] == chosen else "")
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Writing the served folder.

def version_hash(web_dir: Path, metadata_fields: dict[str, Any]) -> str:
    """The version name: a hash of what the browser loads plus the fields that change answers (categories, decision)."""
    digest = hashlib.sha256(json.dumps(metadata_fields, sort_keys=True).encode())
    digest.update(content_version(web_dir).encode())
    return digest.hexdigest()[:12]


def save_served_keras(model: Any, quantization: str | None, path: Path) -> str:
    """Save the server's twin of the web model (weights quantized as in the browser); return its sha256."""
    apply_to_model(model, quantization).save(path)
    return file_sha256(path)


def install_version(staged: Path, set_dir: Path, version: str) -> Path:
    """Move a staged version folder to ``set_dir/version``; an identical version already there is kept.

    Versions are immutable and named by content, so an existing folder of the same name
    already holds this model: it is never overwritten under a server that may be reading it.
    """
    target = set_dir / version
    if target.is_dir():
        return target
    set_dir.mkdir(parents=True, exist_ok=True)
    os.rename(staged, target)
    return target


def export_model(
    model_dir: Path,
    served_dir: Path,
    *,
    set_name: str | None = None,
    title: str | None = None,
    promote: bool = True,
    quantization: str | None = AUTO,
    tolerance_pp: float = DEFAULT_TOLERANCE_PP,
    data_dir: Path | None = None,
    parity_count: int = DEFAULT_PARITY_COUNT,
    parity_runtimes: Sequence[str] = ("node",),
    categories: Sequence[str] | None = None,
    allow_accuracy_drop: bool = False,
    max_weights_kb: float | None = DEFAULT_MAX_WEIGHTS_KB,
    role: str | None = None,
    quantization_report_extra: dict[str, Any] | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Export ``model_dir/model.keras`` as a new version of ``served_dir/<set_name>/`` (made current unless
    ``promote`` is False); return the metadata written. The version folder is the whole deployable unit.

    ``set_name`` and ``title`` default to the model card's (training names the set whose
    categories it learnt), else the default set. ``role`` marks a set the server consults
    rather than offers (``"reference"``); ``quantization_report_extra`` joins the report of
    a caller that measured quantization its own way.
    """
    model_dir, served_dir = Path(model_dir), Path(served_dir)
    if quantization != AUTO:
        check_quantization(quantization)
    if tolerance_pp < 0:
        raise ExportError(f"--tolerance-pp must be at least 0, not {tolerance_pp}")
    model_path = model_dir / MODEL_FILE
    if not model_path.is_file():
        raise ExportError(f"no Keras model at {model_path}: train one with `make train`")
    card = read_card(model_dir)
    set_name = set_name or card.get("set") or DEFAULT_SET
    title = title or (card.get("title") if card.get("set") == set_name else None)
    set_folder = served.set_dir(served_dir, set_name)
    chosen_categories = check_categories(card_categories(card), categories, set_name)
    outputs = card_outputs(card, chosen_categories)
    if title is None and set_name not in CATEGORY_SETS:
        raise ExportError(f"{set_name!r} is not a named set: give it a --title")
    import keras  # Late: the checks above answer in a fraction of a second without TensorFlow.

    model = keras.models.load_model(model_path, compile=False)
    check_model_shapes(model, outputs)

    test_split = inputs.load_test_split(data_dir) if data_dir is not None else None
    if test_split is None and quantization == AUTO:
        raise ExportError(
            f"automatic quantization measures accuracy on the test split, and there is none at {data_dir}: "
            "run `make data` (or pass --data), or choose --quantization none|float16|uint8"
        )

    set_folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=set_folder))
    try:
        saved_model = staging / "saved_model"
        model.export(str(saved_model), format="tf_saved_model", verbose=False)
        options, candidates = _measure_options(model, saved_model, staging, test_split, outputs,
                                               chosen_categories, log)
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
            **(quantization_report_extra or {}),
        }
        # The server loads this twin as it is: quantizing it here keeps export code off the serving path.
        keras_sha256 = save_served_keras(model, chosen, web_dir / KERAS_FILENAME)
        answer_fields = {"set": set_name, "categories": chosen_categories, "outputs": outputs,
                         "decision": card_decision(card, outputs), **({"role": role} if role else {})}
        written = metadata.build_metadata(
            version=version_hash(web_dir, answer_fields),
            categories=chosen_categories,
            quantization=chosen,
            set_name=set_name,
            title=title,
            outputs=outputs,
            decision=answer_fields["decision"],
            metrics=card.get("metrics") or {},
            keras_model_sha256=keras_sha256,
            quantization_report=report,
            role=role,
        )
        written["source_keras_model_sha256"] = file_sha256(model_path)
        written["parity"] = parity_report
        metadata.write_metadata(web_dir, written)
        target = install_version(web_dir, set_folder, written["version"])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if promote:
        served.promote(served_dir, set_name, written["version"])
    log(f"wrote {target} (version {written['version']}, {quantization_label(chosen)}, "
        f"{chosen_option['weights_bytes'] / 1024:.1f} KB of weights)"
        + (f"; {set_name} now serves it" if promote else "; not promoted"))
    return written


def _measure_options(
    model: Any,
    saved_model: Path,
    staging: Path,
    test_split: tuple[np.ndarray, np.ndarray] | None,
    outputs: Sequence[str],
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
            measured.update(score(apply_to_model(model, option), *test_split, outputs, categories))
            baseline = measured["macro_accuracy"] if option is None else baseline
            measured["macro_accuracy_drop_pp"] = round(100 * (baseline - measured["macro_accuracy"]), 4)
        log(f"converted with quantization {quantization_label(option)}: {measured['weights_bytes']} bytes of weights")
        options.append(measured)
    return options, candidates
