"""Compare trained models on the same test split and write a Markdown table.

Usage: ``python -m training compare models/default runs/seed --out models/default/comparison.md``

Every model is re-scored here on ``--data``'s test split rather than trusting the numbers
in its card, so the rows are comparable even if the cards came from different datasets.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from training import evaluate as evaluation
from training.dataset import default_dataset_dir, load_info, load_split


def compare_models(model_paths: list[Path], dataset_dir: Path, split: str = "test"
                   ) -> list[dict[str, Any]]:
    """Score each model on the split; one row of facts per model, in the order given."""
    categories = list(load_info(dataset_dir)["categories"])
    images, labels = load_split(dataset_dir, split)
    rows = []
    for path in model_paths:
        card = evaluation.read_card(path) or {}
        evaluation.check_categories(card.get("categories"), categories)
        model = evaluation.load_model(path)
        metrics = evaluation.evaluate_model(model, images, labels, categories)
        params = int(model.count_params())
        rows.append({
            "name": str(path),
            "arch": card.get("recipe", {}).get("arch", "?"),
            "metrics": metrics,
            "params": params,
            "train_time_s": card.get("training", {}).get("wall_time_s"),
        })
    return rows


def markdown_table(rows: list[dict[str, Any]], categories: list[str], split: str, dataset: str) -> str:
    """The comparison as Markdown: headline scores, recall per class, size and training time."""
    header = (["model", "arch", "accuracy", "macro accuracy", "min recall"]
              + [f"recall {name}" for name in categories]
              + ["params", "weights KB (float32)", "weights KB (float16)", "train time (s)"])
    lines = [
        f"# Model comparison on the {split} split",
        "",
        f"Dataset: `{dataset}` ({rows[0]['metrics']['count'] if rows else 0} drawings). "
        "Macro accuracy is the mean of the per-class recalls.",
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
        cells = ([f"`{row['name']}`", row["arch"], f"{metrics['accuracy']:.4f}",
                  f"{metrics['macro_accuracy']:.4f}", f"{metrics['min_recall']:.3f}"]
                 + recalls
                 + [f"{row['params']:,}", f"{row['params'] * 4 / 1024:.1f}",
                    f"{row['params'] * 2 / 1024:.1f}", time_text])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Flags of ``python -m training compare``."""
    parser.add_argument("models", type=Path, nargs="+",
                        help="run folders (or .keras files) to compare")
    parser.add_argument("--data", type=Path, default=default_dataset_dir(),
                        help="dataset folder whose split all models are scored on "
                             "(default: %(default)s)")
    parser.add_argument("--split", choices=("val", "test"), default="test",
                        help="which split to score (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="Markdown file to write")


def run(args: argparse.Namespace) -> int:
    """Score the models, write the table, print it."""
    categories = list(load_info(args.data)["categories"])
    rows = compare_models(list(args.models), args.data, args.split)
    table = markdown_table(rows, categories, args.split, str(args.data))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table)
    print(table)
    print(f"wrote {args.out}")
    return 0
