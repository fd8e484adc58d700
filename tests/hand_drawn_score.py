"""Score a model offline on the hand-drawn doodles, as /api/predict would answer them.

Usage: ``python -m tests.hand_drawn_score --model-dir served --set accessories`` (the served
version), or ``python -m tests.hand_drawn_score --run models/default [--run runs/other ...]``
(training run folders, before export; the last lines compare them).

Each doodle goes through the server's own strokes path (``preprocessing.strokes``), the
model's Keras file and the decision rule (``preprocessing.decision``) with the model's
decision block; a verdict is a name or "none of these". The issue's targets: at least 90 %
of the everyday things answered "none of these", at most one accessory missed (a wrong name
or "none of these"). The browser test (tests/browser/test_hand_drawn.py) judges the page's
answers with the same functions.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from preprocessing import decision as decision_rule
from preprocessing import served
from preprocessing.model_metadata import load_metadata
from preprocessing.strokes import drawing_to_bitmap
from tests.hand_drawn import Doodle, doodles

NONE_OF_THESE = "none of these"
TOO_SMALL = "too small"
# The targets for the hand-drawn doodles.
REQUIRED_REJECTION = 0.9
MAX_ACCESSORIES_MISSED = 1


@dataclass(frozen=True)
class Verdict:
    """What one doodle was answered, and whether that is right."""

    name: str
    category: str
    accessory: bool
    verdict: str  # An accessory's name, NONE_OF_THESE or TOO_SMALL.
    probability: float  # The top accessory's probability (what the page shows in large type).
    other: float | None  # The "none of these" output's probability, for a model that has one.

    @property
    def right(self) -> bool:
        """An accessory must be named; anything else must be answered "none of these"."""
        return self.verdict == (self.category if self.accessory else NONE_OF_THESE)


def verdict_of(state: str, label: str | None) -> str:
    """The answer a person reads for a decision state and label: a name, "none of these" or "too small"."""
    if state == decision_rule.OTHER:
        return NONE_OF_THESE
    if state == decision_rule.TOO_SMALL:
        return TOO_SMALL
    # "unsure" still names its best guess ("Not sure — maybe a sock?"): that name is the answer.
    return str(label)


def totals(verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """Everyday things answered "none of these" and accessories named right, and whether the issue's targets are met."""
    things = [item for item in verdicts if not item.accessory]
    accessories = [item for item in verdicts if item.accessory]
    rejected = sum(item.right for item in things)
    named = sum(item.right for item in accessories)
    return {
        "not_accessories_rejected": rejected,
        "not_accessories": len(things),
        "accessories_named": named,
        "accessories": len(accessories),
        "meets_targets": rejected >= REQUIRED_REJECTION * len(things)
        and len(accessories) - named <= MAX_ACCESSORIES_MISSED,
    }


def table(verdicts: Sequence[Verdict]) -> str:
    """One line per doodle (wrong ones marked), then the totals: what a person reads to see which were missed."""
    lines = [f"{'drawing':<16} {'answer':<15} {'':<5} {'p(top)':>6} {'p(other)':>8}"]
    for item in verdicts:
        other = "-" if item.other is None else f"{item.other:.2f}"
        mark = "" if item.right else "WRONG"
        lines.append(f"{item.name:<16} {item.verdict:<15} {mark:<5} {item.probability:>6.2f} {other:>8}")
    summary = totals(verdicts)
    lines.append(f"not accessories answered 'none of these': {summary['not_accessories_rejected']} of "
                 f"{summary['not_accessories']} (target >= {REQUIRED_REJECTION:.0%})")
    lines.append(f"accessories named right: {summary['accessories_named']} of {summary['accessories']} "
                 f"(target: at most {MAX_ACCESSORIES_MISSED} missed)")
    lines.append(f"meets the issue's targets: {'yes' if summary['meets_targets'] else 'no'}")
    return "\n".join(lines)


@dataclass(frozen=True)
class ScoredModel:
    """A model to score: where it came from, its outputs, its decision block and its batch prediction."""

    source: str
    outputs: list[str]
    decision: dict[str, Any]
    predict: Callable[[np.ndarray], np.ndarray]  # (N, 28, 28) float32 bitmaps -> (N, outputs) probabilities.


def served_model(served_root: str | Path, set_name: str, version: str | None = None) -> ScoredModel:
    """A served version (the set's current one by default), through the server's own Predictor."""
    from webapp.predictor import Predictor

    root = Path(served_root)
    version = version or served.read_current(root, set_name)
    directory = served.version_dir(root, set_name, version)
    metadata = load_metadata(directory)
    predictor = Predictor(directory, metadata)
    return ScoredModel(str(directory), list(metadata["outputs"]), metadata["decision"], predictor.predict)


def run_model(run_dir: str | Path) -> ScoredModel:
    """A training run folder's model.keras with its model_card.json decision block, before any export."""
    from training.run_folder import load_model, read_card

    card = read_card(Path(run_dir))
    if card is None:
        raise ValueError(f"no model card in {run_dir}: a run folder holds model.keras and model_card.json")
    outputs = list(card.get("outputs") or card["categories"])
    other = decision_rule.default_decision(outputs[-1] if len(outputs) > len(card["categories"]) else None)
    block = decision_rule.validate_decision(card.get("decision") or other, outputs)
    model = load_model(Path(run_dir))

    def predict(bitmaps: np.ndarray) -> np.ndarray:
        return np.asarray(model(bitmaps[..., np.newaxis].astype(np.float32), training=False))

    return ScoredModel(str(run_dir), outputs, block, predict)


def judge(model: ScoredModel, items: Sequence[Doodle] | None = None) -> list[Verdict]:
    """Every doodle's verdict from the model, decided as /api/predict decides."""
    items = list(doodles() if items is None else items)
    drawings = [item.draw() for item in items]
    rows = model.predict(np.stack([drawing_to_bitmap(strokes) for strokes in drawings]))
    other_label = model.decision.get("other_label")
    verdicts = []
    for item, strokes, row in zip(items, drawings, rows):
        probabilities = {output: float(value) for output, value in zip(model.outputs, row)}
        extent, points = decision_rule.drawing_extent(strokes)
        answer = decision_rule.decide(probabilities, model.decision, extent, points)
        best = max(probability for output, probability in probabilities.items() if output != other_label)
        verdicts.append(Verdict(item.name, item.category, item.accessory, verdict_of(answer.state, answer.label),
                                best, probabilities.get(other_label) if other_label else None))
    return verdicts


def score(served_root: str | Path, set_name: str = served.DEFAULT_SET, version: str | None = None) -> dict[str, Any]:
    """Score a served set's current (or given) version: {model, verdicts, totals}."""
    return report(served_model(served_root, set_name, version))


def score_run(run_dir: str | Path) -> dict[str, Any]:
    """Score a training run folder: {model, verdicts, totals}."""
    return report(run_model(run_dir))


def report(model: ScoredModel) -> dict[str, Any]:
    """The model's verdicts on every doodle and their totals, as plain data."""
    verdicts = judge(model)
    return {"model": model.source, "verdicts": [{**asdict(item), "right": item.right} for item in verdicts],
            "totals": totals(verdicts), "table": table(verdicts)}


def main(argv: Sequence[str] | None = None) -> int:
    """Print each model's per-doodle table and totals (and a summary line per model); exit 0 whether or not targets are met."""
    parser = argparse.ArgumentParser(prog="python -m tests.hand_drawn_score", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default="served", help="served models folder (default: served)")
    parser.add_argument("--set", default=served.DEFAULT_SET, help="model set (default: %(default)s)")
    parser.add_argument("--version", help="a served version (default: the set's CURRENT one)")
    parser.add_argument("--run", type=Path, action="append",
                        help="score a training run folder (model.keras + model_card.json) instead; repeat to compare")
    parser.add_argument("--json", type=Path, help="also write the verdicts and totals to this JSON file")
    args = parser.parse_args(argv)
    # TensorFlow's start-up chatter would bury the table.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        results = [score_run(run) for run in args.run] if args.run else [score(args.model_dir, args.set, args.version)]
    except (ValueError, OSError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for result in results:
        print(f"model: {result['model']}")
        print(result["table"], end="\n\n")
    for result in results:
        summary = result["totals"]
        print(f"{result['model']}: 'none of these' {summary['not_accessories_rejected']}/{summary['not_accessories']}, "
              f"accessories named {summary['accessories_named']}/{summary['accessories']}, "
              f"targets {'met' if summary['meets_targets'] else 'missed'}")
    if args.json:
        plain = [{key: value for key, value in result.items() if key != "table"} for result in results]
        args.json.write_text(json.dumps(plain if len(plain) > 1 else plain[0], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
