"""Evaluate a trained model on a dataset split: accuracy, macro accuracy, per-class scores.

Usage: ``python -m training evaluate --model models/default [--data data/dataset]``
re-evaluates a saved model on the test split and writes ``metrics.json`` and a
confusion-matrix PNG beside it (or into ``--out``).

With four of six classes tiny, overall accuracy mostly measures the two big classes, so
the headline number is the macro accuracy: the mean of the per-class recalls.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from training.dataset import default_dataset_dir, load_info, load_split

MODEL_FILE = "model.keras"
CARD_FILE = "model_card.json"
METRICS_FILE = "metrics.json"
CONFUSION_FILE = "confusion_matrix.png"
PREDICT_BATCH_SIZE = 1024  # Large batches: prediction has no gradients to hold in memory.


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts (num_classes, num_classes): row = true class, column = predicted class."""
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    if labels.shape != predictions.shape:
        raise ValueError(f"{labels.size} labels but {predictions.size} predictions")
    for name, values in (("labels", labels), ("predictions", predictions)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name} must lie in 0..{num_classes - 1}")
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def metrics_from_confusion(matrix: np.ndarray, categories: list[str]) -> dict[str, Any]:
    """Accuracy, macro accuracy (mean per-class recall) and per-class precision/recall/support.

    A class with no test rows has no recall and is left out of the macro mean; a class never
    predicted has precision 0 (it earned no correct predictions).
    """
    matrix = np.asarray(matrix, dtype=np.int64)
    if matrix.shape != (len(categories), len(categories)):
        raise ValueError(f"confusion matrix {matrix.shape} does not fit {len(categories)} categories")
    total = int(matrix.sum())
    if total == 0:
        raise ValueError("cannot score an empty split")
    correct = np.diag(matrix)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    per_class: dict[str, dict[str, float | int | None]] = {}
    recalls = []
    for index, name in enumerate(categories):
        recall = float(correct[index] / support[index]) if support[index] else None
        precision = float(correct[index] / predicted[index]) if predicted[index] else 0.0
        per_class[name] = {"precision": precision, "recall": recall, "support": int(support[index])}
        if recall is not None:
            recalls.append(recall)
    return {
        "accuracy": float(correct.sum() / total),
        "macro_accuracy": float(np.mean(recalls)),
        "min_recall": float(min(recalls)),
        "count": total,
        "per_class": per_class,
        "confusion_matrix": matrix.tolist(),
    }


def predict_probabilities(model: Any, images: np.ndarray) -> np.ndarray:
    """Softmax outputs (N, num_classes) for uint8 (N, 28, 28) bitmaps."""
    from training.pipeline import to_model_input

    return np.asarray(model.predict(to_model_input(images), batch_size=PREDICT_BATCH_SIZE, verbose=0))


def evaluate_model(model: Any, images: np.ndarray, labels: np.ndarray, categories: list[str]
                   ) -> dict[str, Any]:
    """Score a model on one split; see ``metrics_from_confusion`` for the fields."""
    outputs = int(model.output_shape[-1])
    if outputs != len(categories):
        raise ValueError(f"the model has {outputs} outputs but the data has {len(categories)} categories")
    predictions = predict_probabilities(model, images).argmax(axis=1)
    return metrics_from_confusion(confusion_matrix(labels, predictions, len(categories)), categories)


def plot_confusion_matrix(matrix: np.ndarray, categories: list[str], path: Path, title: str) -> Path:
    """Save the confusion matrix as a PNG, rows normalised to recall, raw counts in each cell."""
    import matplotlib

    matplotlib.use("Agg")  # Files only: training runs on machines without a display.
    from matplotlib import pyplot

    matrix = np.asarray(matrix)
    support = np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure, axes = pyplot.subplots(figsize=(1.1 * len(categories) + 2.5, 1.0 * len(categories) + 2))
    # Colour by row share, not count: otherwise the two big classes would hide the rest.
    axes.imshow(matrix / support, cmap="Blues", vmin=0.0, vmax=1.0)
    axes.set_xticks(range(len(categories)), categories, rotation=45, ha="right")
    axes.set_yticks(range(len(categories)), categories)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    for row in range(len(categories)):
        for column in range(len(categories)):
            share = matrix[row, column] / support[row, 0]
            axes.text(column, row, str(matrix[row, column]), ha="center", va="center",
                      color="white" if share > 0.5 else "black", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path


def format_metrics(metrics: dict[str, Any], split: str) -> str:
    """A few terse lines for the console, nanoGPT style."""
    lines = [f"{split}: accuracy {metrics['accuracy']:.4f}, macro accuracy "
             f"{metrics['macro_accuracy']:.4f}, min recall {metrics['min_recall']:.4f} "
             f"({metrics['count']} drawings)"]
    for name, scores in metrics["per_class"].items():
        recall = "n/a" if scores["recall"] is None else f"{scores['recall']:.3f}"
        lines.append(f"  {name:<12} recall {recall}  precision {scores['precision']:.3f}  "
                     f"n={scores['support']}")
    return "\n".join(lines)


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


def check_categories(model_categories: list[str] | None, data_categories: list[str]) -> None:
    """Refuse to score or train a model on data whose categories differ from its outputs."""
    if model_categories is not None and list(model_categories) != list(data_categories):
        raise ValueError(
            "the model's categories do not match the dataset's: model "
            f"{list(model_categories)} vs data {list(data_categories)} (same names in the same "
            "order are required)")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Flags of ``python -m training evaluate``."""
    parser.add_argument("--model", type=Path, required=True,
                        help="run folder (with model.keras and model_card.json) or a .keras file")
    parser.add_argument("--data", type=Path, default=default_dataset_dir(),
                        help="dataset folder written by `training build` (default: %(default)s)")
    parser.add_argument("--split", choices=("train", "val", "test"), default="test",
                        help="which split to score (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for metrics.json and the confusion matrix (default: the model's)")


def run(args: argparse.Namespace) -> int:
    """Score the model, print the report, write metrics.json and the confusion-matrix PNG."""
    info = load_info(args.data)
    categories = list(info["categories"])
    card = read_card(args.model)
    check_categories(card["categories"] if card else None, categories)
    model = load_model(args.model)
    images, labels = load_split(args.data, args.split)
    metrics = evaluate_model(model, images, labels, categories)
    metrics["split"] = args.split
    metrics["dataset"] = str(args.data)
    out = args.out or (Path(args.model) if Path(args.model).is_dir() else Path(args.model).parent)
    out.mkdir(parents=True, exist_ok=True)
    name = METRICS_FILE if args.split == "test" else f"metrics_{args.split}.json"
    (out / name).write_text(json.dumps(metrics, indent=2) + "\n")
    picture = CONFUSION_FILE if args.split == "test" else f"confusion_matrix_{args.split}.png"
    plot_confusion_matrix(np.asarray(metrics["confusion_matrix"]), categories, out / picture,
                          f"{args.split} split, macro accuracy {metrics['macro_accuracy']:.3f}")
    print(format_metrics(metrics, args.split))
    print(f"wrote {out / name} and {out / picture}")
    return 0
