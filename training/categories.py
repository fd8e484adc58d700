"""Old import path of the category lists: a thin re-export of ``preprocessing.categories``."""

from __future__ import annotations

from preprocessing.categories import (  # noqa: F401 (re-exported)
    CATEGORY_SETS,
    DEFAULT_CATEGORIES,
    DEFAULT_SET,
    OTHER_LABEL,
    WARDROBE_CATEGORIES,
    all_categories,
    set_categories,
    set_title,
    validate_categories,
)
