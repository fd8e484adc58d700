"""Repeated weights (a classifier run on a drawing and on its mirror) are stored once."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from export.dedupe import _redirect, deduplicate_weights
from export.parity import check_parity


def test_redirect_keeps_control_and_output_markers() -> None:
    replacement = {"copy/kernel": "first/kernel"}
    assert _redirect("copy/kernel", replacement) == "first/kernel"
    assert _redirect("^copy/kernel", replacement) == "^first/kernel"
    assert _redirect("copy/kernel:1", replacement) == "first/kernel:1"
    assert _redirect("copy/kernel_2", replacement) == "copy/kernel_2"


@pytest.mark.slow
@pytest.mark.e2e
def test_a_mirror_averaged_model_ships_its_weights_once(
    tmp_path: Path, build_model: Callable[..., Any], make_run: Callable[..., Path], parity_images: np.ndarray
) -> None:
    from export.convert import export_model
    from training.model import mirror_averaged

    classifier = build_model()
    mirrored = mirror_averaged(classifier)
    run = make_run(tmp_path / "run", mirrored)
    metadata = export_model(run, tmp_path / "web", quantization="float16", data_dir=None, parity_count=0,
                            log=lambda message: None)
    [option] = [item for item in metadata["quantization_report"]["options"] if item["quantization"] == "float16"]
    float16_weights = sum(int(np.prod(weights.shape)) * 2 for weights in classifier.get_weights())
    # Each classifier weight once, not twice (the batch norm folds into fewer constants).
    assert 0.9 * float16_weights <= option["weights_bytes"] < 1.1 * float16_weights
    assert option["duplicate_bytes_removed"] >= 0.9 * float16_weights
    model_json = json.loads((tmp_path / "web" / "model.json").read_text())
    names = {spec["name"] for group in model_json["weightsManifest"] for spec in group["weights"]}
    const_nodes = {node["name"] for node in model_json["modelTopology"]["node"] if node["op"] == "Const"}
    assert names == const_nodes
    report = check_parity(mirrored, tmp_path / "web", parity_images, "float16", runtimes=("node",))
    assert report["passed"] and report["runtimes"]["node"]["max_abs_diff"] <= 1e-4
    # Nothing left to merge the second time.
    assert deduplicate_weights(tmp_path / "web") == 0
