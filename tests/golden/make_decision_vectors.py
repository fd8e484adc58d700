"""Write tests/golden/decision.json: inputs and expected answers of the decision rule (CONTRACTS §3).

The expected answers are written here by hand, one reason per case, not computed by
``preprocessing.decision``: both twins (Python and JS ``decide()``) are tested against them.
Run ``python tests/golden/make_decision_vectors.py`` after editing the table.
"""

from __future__ import annotations

import json
from pathlib import Path

SIX = ["bowtie", "lipstick", "purse", "sock", "umbrella", "wristwatch"]
OLD = {"other_label": None, "reject_below": 0.0, "unsure_below": 0.5, "min_extent": 12.0}
WITH_OTHER = {"other_label": "other", "reject_below": 0.35, "unsure_below": 0.6, "min_extent": 12.0}


def six(*values: float) -> dict[str, float]:
    """Probabilities over the six accessories."""
    return dict(zip(SIX, values))


def seven(*values: float) -> dict[str, float]:
    """Probabilities over the six accessories and "other"."""
    return dict(zip([*SIX, "other"], values))


# (name, probabilities, decision, extent, points, state, label)
CASES = [
    ("old model, confident", six(0.9, 0.02, 0.02, 0.02, 0.02, 0.02), OLD, 200, 30, "named", "bowtie"),
    ("old model, exactly at unsure_below is named", six(0.5, 0.1, 0.1, 0.1, 0.1, 0.1), OLD, 200, 30, "named", "bowtie"),
    ("old model, just below unsure_below", six(0.1, 0.49, 0.11, 0.1, 0.1, 0.1), OLD, 200, 30, "unsure", "lipstick"),
    ("old model never rejects", six(0.17, 0.17, 0.17, 0.17, 0.16, 0.16), OLD, 200, 30, "unsure", "bowtie"),
    ("ties go to the first output", six(0.3, 0.3, 0.1, 0.1, 0.1, 0.1), OLD, 200, 30, "unsure", "bowtie"),
    ("a tap: one point", six(0.9, 0.02, 0.02, 0.02, 0.02, 0.02), OLD, 0, 1, "too-small", None),
    ("a tiny mark below min_extent", six(0.9, 0.02, 0.02, 0.02, 0.02, 0.02), OLD, 11.5, 8, "too-small", None),
    ("exactly min_extent is judged", six(0.9, 0.02, 0.02, 0.02, 0.02, 0.02), OLD, 12, 8, "named", "bowtie"),
    ("two points, long enough", six(0.02, 0.02, 0.02, 0.02, 0.02, 0.9), OLD, 100, 2, "named", "wristwatch"),
    ("an image: no size check", six(0.02, 0.02, 0.02, 0.02, 0.9, 0.02), OLD, None, None, "named", "umbrella"),
    ("other wins", seven(0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.6), WITH_OTHER, 200, 30, "other", None),
    ("other wins even when an accessory clears reject_below",
     seven(0.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.6), WITH_OTHER, 200, 30, "other", None),
    ("best accessory below reject_below", seven(0.3, 0.25, 0.2, 0.1, 0.05, 0.05, 0.05), WITH_OTHER, 200, 30, "other", None),
    ("best accessory exactly at reject_below is unsure",
     seven(0.35, 0.25, 0.1, 0.1, 0.05, 0.05, 0.1), WITH_OTHER, 200, 30, "unsure", "bowtie"),
    ("between reject and unsure", seven(0.05, 0.05, 0.5, 0.05, 0.05, 0.05, 0.25), WITH_OTHER, 200, 30, "unsure", "purse"),
    ("confident with other present", seven(0.01, 0.01, 0.01, 0.9, 0.01, 0.01, 0.05), WITH_OTHER, 200, 30, "named", "sock"),
    ("too small beats other", seven(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0), WITH_OTHER, 3, 5, "too-small", None),
]


def main() -> None:
    """Write the vectors beside this script."""
    vectors = [
        {"name": name, "probabilities": probabilities, "decision": decision, "extent": extent, "points": points,
         "expected": {"state": state, "label": label}}
        for name, probabilities, decision, extent, points, state, label in CASES
    ]
    path = Path(__file__).with_name("decision.json")
    path.write_text(json.dumps(vectors, indent=1) + "\n")
    print(f"wrote {len(vectors)} cases to {path}")


if __name__ == "__main__":
    main()
