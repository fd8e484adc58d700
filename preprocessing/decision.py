"""The decision rule: from a model's probabilities to "named", "unsure", "other" or "too-small".

The Python twin of ``decide()`` in webapp/static/js/model.js; both are checked against
tests/golden/decision.json. The thresholds travel in metadata.json's ``decision`` block, so
the page and the API decide alike for whichever model is served.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

NAMED = "named"
UNSURE = "unsure"
OTHER = "other"
TOO_SMALL = "too-small"
STATES = (NAMED, UNSURE, OTHER, TOO_SMALL)

# For a model without a "none of these" output: never reject, say "not sure" below one half
# (the page's rule before models could reject), and wait for a mark about a fingertip wide.
DEFAULT_REJECT_BELOW = 0.0
DEFAULT_UNSURE_BELOW = 0.5
DEFAULT_MIN_EXTENT = 12.0  # In the client's coordinates: CSS pixels on the page's canvas.
MIN_POINTS = 2


@dataclass(frozen=True)
class Decision:
    """What to tell the person: a state and, when one is named, the label."""

    state: str
    label: str | None


def default_decision(other_label: str | None = None) -> dict[str, Any]:
    """The decision block for a model, with or without a "none of these" output."""
    return {
        "other_label": other_label,
        "reject_below": DEFAULT_REJECT_BELOW,
        "unsure_below": DEFAULT_UNSURE_BELOW,
        "min_extent": DEFAULT_MIN_EXTENT,
    }


def validate_decision(block: Any, outputs: Sequence[str]) -> dict[str, Any]:
    """Return ``block`` if it is a decision block for these outputs; else raise ValueError."""
    if not isinstance(block, dict):
        raise ValueError(f"the decision block must be an object, not {block!r}")
    missing = {"other_label", "reject_below", "unsure_below", "min_extent"} - set(block)
    if missing:
        raise ValueError(f"the decision block lacks {', '.join(sorted(missing))}")
    other_label = block["other_label"]
    if other_label is not None and other_label not in outputs:
        raise ValueError(f"the decision's other_label {other_label!r} is not one of the outputs {list(outputs)!r}")
    for key in ("reject_below", "unsure_below"):
        value = block[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(f"the decision's {key} must be a probability in [0, 1], not {value!r}")
    extent = block["min_extent"]
    if isinstance(extent, bool) or not isinstance(extent, (int, float)) or extent < 0:
        raise ValueError(f"the decision's min_extent must be a number >= 0, not {extent!r}")
    return block


def drawing_extent(strokes: Iterable[Sequence[Sequence[float]]]) -> tuple[float, int]:
    """The longest side of the strokes' bounding box and their number of points, as the client sent them."""
    xs: list[float] = []
    ys: list[float] = []
    for stroke in strokes:
        xs.extend(float(x) for x in stroke[0])
        ys.extend(float(y) for y in stroke[1])
    if not xs:
        return 0.0, 0
    return max(max(xs) - min(xs), max(ys) - min(ys)), len(xs)


def is_too_small(decision: Mapping[str, Any], extent: float | None, points: int | None) -> bool:
    """Rule 1: a drawing under ``min_extent`` or with fewer than two points cannot be judged (None skips a check)."""
    return (extent is not None and extent < decision["min_extent"]) or (points is not None and points < MIN_POINTS)


def decide(
    probabilities: Mapping[str, float],
    decision: Mapping[str, Any],
    extent: float | None = None,
    points: int | None = None,
) -> Decision:
    """Apply the rule of CONTRACTS §3; ``extent``/``points`` None (an uploaded image) skips the size check."""
    if is_too_small(decision, extent, points):
        return Decision(TOO_SMALL, None)
    if not probabilities:
        raise ValueError("no probabilities to decide on")
    other_label = decision.get("other_label")
    # Ties go to the first output, as argmax does in numpy and in model.js.
    top = max(probabilities, key=lambda name: probabilities[name])
    accessories = [name for name in probabilities if name != other_label]
    best = max(accessories, key=lambda name: probabilities[name]) if accessories else None
    best_probability = probabilities[best] if best is not None else 0.0
    if best is None or top == other_label or best_probability < decision["reject_below"]:
        return Decision(OTHER, None)
    if best_probability < decision["unsure_below"]:
        return Decision(UNSURE, top)
    return Decision(NAMED, top)
