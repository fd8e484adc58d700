"""Parity: TF.js (Node and Chromium, WASM backend) predicts what the Keras model predicts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from export.parity import check_parity, compare, predict_node
from export.quantization import apply_to_model

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
MAX_DIFF = 1e-4


def _assert_parity(report: dict[str, Any], runtimes: tuple[str, ...], count: int) -> None:
    assert report["passed"], report
    assert tuple(report["runtimes"]) == runtimes
    for measured in report["runtimes"].values():
        assert measured["count"] == count >= 1000
        assert measured["max_abs_diff"] <= MAX_DIFF
        assert measured["top1_agreement"] == 1.0


@pytest.mark.parametrize("quantization", [None, "float16", "uint8"])
def test_node_and_chromium_match_keras(
    exported: Callable[[str | None], Path], tiny_model: Any, parity_images: np.ndarray, quantization: str | None
) -> None:
    report = check_parity(tiny_model, exported(quantization), parity_images, quantization,
                          runtimes=("node", "chromium"), max_diff=MAX_DIFF)
    _assert_parity(report, ("node", "chromium"), len(parity_images))


def test_quantized_weights_would_show_without_apply_to_model(
    exported: Callable[[str | None], Path], tiny_model: Any, parity_images: np.ndarray
) -> None:
    # The parity check can fail: plain Keras differs visibly from the uint8 web model,
    # and only the round-tripped model matches it.
    browser = predict_node(exported("uint8"), parity_images)
    plain = compare(tiny_model.predict(parity_images, verbose=0), browser)
    matched = compare(apply_to_model(tiny_model, "uint8").predict(parity_images, verbose=0), browser)
    assert plain["max_abs_diff"] > 10 * MAX_DIFF
    assert matched["max_abs_diff"] <= MAX_DIFF


def test_a_different_model_fails_the_check(
    exported: Callable[[str | None], Path], build_model: Callable[..., Any], parity_images: np.ndarray
) -> None:
    other = build_model()
    other.get_layer("probabilities").bias.assign(np.linspace(-1, 1, 6).astype("float32"))
    report = check_parity(other, exported(None), parity_images[:100], None, runtimes=("node",))
    assert not report["passed"]
    assert report["runtimes"]["node"]["max_abs_diff"] > MAX_DIFF


def test_unknown_runtime_is_refused(exported: Callable[[str | None], Path], tiny_model: Any) -> None:
    with pytest.raises(ValueError, match="unknown runtime"):
        check_parity(tiny_model, exported(None), np.zeros((1, 28, 28, 1), np.float32), None, runtimes=("safari",))
