"""The reference opinion: what a model that knows all 345 Quick Draw categories sees in a contribution.

The reference is a served set like any other (``python -m export reference`` publishes the
DoodleNet teacher into MODEL_DIR with ``"role": "reference"``); the server loads its Keras
twin lazily, once per version, through the same registry as the sets people draw against,
and never from training code. Its top 3 is stored with each contribution, and ``doubts``
(the one place the rule lives, documented in docs/api.md) decides whether review should
look at the drawing first. A missing or failing reference never loses a contribution: the
opinion is then None.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from flask import current_app

from preprocessing.model_metadata import is_reference
from webapp.predictor import UnknownModel, get_registry

logger = logging.getLogger(__name__)
TOP = 3  # Guesses kept per contribution: enough to see what else a drawing could be.
_missing_reported: set[tuple[Path, str]] = set()  # (MODEL_DIR, set) already reported as having no reference.


def top_guesses(probabilities: Mapping[str, float], count: int = TOP) -> list[dict[str, Any]]:
    """The ``count`` most probable outputs, most probable first: ``[{"label", "probability"}]``."""
    ranked = sorted(probabilities.items(), key=lambda item: item[1], reverse=True)[:count]
    return [{"label": label, "probability": round(float(probability), 4)} for label, probability in ranked]


def doubts(reference: Sequence[Mapping[str, Any]], label: str, categories: Sequence[str], other: str | None) -> bool:
    """Whether the reference doubts a contribution's label.

    A category label is doubted when it is not among the reference's top 3; "something
    else" (``other``) is doubted when the reference's top guess is one of the set's own
    categories, i.e. it sees an accessory the model should have named.
    """
    if other is not None and label == other:
        return reference[0]["label"] in categories
    return label not in [guess["label"] for guess in reference]


def opinion(bitmap: np.ndarray, label: str, categories: Sequence[str],
            other: str | None) -> tuple[list[dict[str, Any]] | None, bool | None]:
    """The reference's top 3 for a bitmap and whether it doubts ``label``; (None, None) when there is no usable reference."""
    set_name = current_app.config.get("REFERENCE_MODEL_SET")
    if not set_name:
        return None, None
    registry = get_registry()
    try:
        model = registry.current(set_name)
        if not is_reference(model.metadata):
            raise ValueError(f"the served set {set_name!r} is not a reference model (no \"role\": \"reference\")")
        guesses = top_guesses(registry.predictor(model).probabilities(bitmap))
    except UnknownModel:
        # A deployment without a reference is a choice, not a fault: say so once, not per drawing.
        if (registry.root, set_name) not in _missing_reported:
            _missing_reported.add((registry.root, set_name))
            logger.warning("No reference opinions: MODEL_DIR has no set %r (python -m export reference)", set_name)
        return None, None
    except Exception:
        logger.exception("No reference opinion stored with a contribution: the reference model could not run")
        return None, None
    return guesses, doubts(guesses, label, categories, other)
