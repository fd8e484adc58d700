"""Write webapp/static/examples/quickdraw.json: a few real Quick Draw drawings per category.

The /play end screen shows them for a round the player lost. The drawings are Google's
simplified strokes (Quick, Draw! dataset, Google Creative Lab, CC BY 4.0), copied as they
are with their key_id so each can be traced back.

Usage: python -m tools.quickdraw_examples [--source ../shared/quickdraw] [--per-category 3]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from training.sources import local_mirror

OUT = Path(__file__).resolve().parents[1] / "webapp" / "static" / "examples" / "quickdraw.json"
PER_CATEGORY = 3  # Enough to show the idea, small enough to fetch only when the game ends.


def examples(folder: Path, per_category: int) -> dict[str, list[dict]]:
    """The last ``per_category`` recognised drawings of every category in the mirror's simplified/."""
    chosen: dict[str, list[dict]] = {}
    for path in sorted((folder / "simplified").glob("*.ndjson")):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        recognised = [row for row in rows if row.get("recognized")]
        chosen[path.stem] = [
            {"key_id": row["key_id"], "strokes": [stroke[:2] for stroke in row["drawing"]]}
            for row in recognised[-per_category:]
        ]
    return chosen


def main() -> None:
    """Parse the flags and write the file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=None, help="a Quick Draw mirror with simplified/")
    parser.add_argument("--per-category", type=int, default=PER_CATEGORY)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    folder = args.source or local_mirror()
    if folder is None:
        raise SystemExit("no local Quick Draw mirror with simplified/: pass --source")
    document = {
        "source": "Quick, Draw! dataset, simplified drawings (https://quickdraw.withgoogle.com/data)",
        "license": "CC BY 4.0, Google Creative Lab (https://creativecommons.org/licenses/by/4.0/)",
        "drawings": examples(folder, args.per_category),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    print(f"wrote {args.out}: {', '.join(f'{k} {len(v)}' for k, v in document['drawings'].items())}")


if __name__ == "__main__":
    main()
