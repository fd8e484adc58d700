"""The categories the product recognises, and Quick Draw's full list to validate choices against."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

# The product's six fashion accessories, in the model's output order.
DEFAULT_CATEGORIES: tuple[str, ...] = ("bowtie", "lipstick", "purse", "sock", "umbrella", "wristwatch")

_ALL_CATEGORIES_FILE = Path(__file__).with_name("all_categories.txt")


def all_categories() -> tuple[str, ...]:
    """Quick Draw's 345 category names, as the public bucket spells them."""
    return tuple(line for line in _ALL_CATEGORIES_FILE.read_text().splitlines() if line)


def validate_categories(names: Iterable[str]) -> tuple[str, ...]:
    """Return the names unchanged if all are Quick Draw categories; else say which are close."""
    known = set(all_categories())
    chosen = tuple(names)
    if not chosen:
        raise ValueError("choose at least one category")
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"categories repeat: {', '.join(chosen)}")
    for name in chosen:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=3)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ValueError(f"unknown Quick Draw category {name!r}{hint}")
    return chosen
