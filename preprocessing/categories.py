"""The category sets the product recognises, and Quick Draw's full list to validate choices against.

Light on purpose (standard library only): training, export and the server all import it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

# The product's six fashion accessories, in the model's output order.
DEFAULT_CATEGORIES: tuple[str, ...] = ("bowtie", "lipstick", "purse", "sock", "umbrella", "wristwatch")
# Every fashion category Quick Draw has: the six first (same order), then the rest alphabetically.
WARDROBE_CATEGORIES: tuple[str, ...] = DEFAULT_CATEGORIES + (
    "backpack", "belt", "bracelet", "crown", "diamond", "eyeglasses", "flip flops", "hat", "helmet",
    "jacket", "necklace", "pants", "shoe", "shorts", "sweater", "t-shirt", "underwear",
)
# The output unit that means "none of these": a drawing of something outside the set.
OTHER_LABEL = "other"
# Named sets: name -> (categories, title shown to people).
CATEGORY_SETS: dict[str, tuple[tuple[str, ...], str]] = {
    "accessories": (DEFAULT_CATEGORIES, "6 accessories"),
    "wardrobe": (WARDROBE_CATEGORIES, "Whole wardrobe"),
}
DEFAULT_SET = "accessories"

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


def set_of(categories: Iterable[str]) -> str | None:
    """The named set whose categories these are, in this order, or None."""
    chosen = list(categories)
    return next((name for name, (names, _) in CATEGORY_SETS.items() if list(names) == chosen), None)


def set_categories(name: str) -> tuple[str, ...]:
    """The categories of a named set ("accessories" or "wardrobe")."""
    if name not in CATEGORY_SETS:
        raise ValueError(f"unknown category set {name!r}; choose one of {', '.join(CATEGORY_SETS)}")
    return CATEGORY_SETS[name][0]


def set_title(name: str) -> str:
    """The title people see for a named set."""
    set_categories(name)
    return CATEGORY_SETS[name][1]
