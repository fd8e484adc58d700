"""Quantization: the Keras-side round trip matches what the converter stores and TF.js decodes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from export.quantization import QUANTIZATIONS, _unit_variance, apply_to_model, check_quantization, round_trip


def test_the_options_are_float32_float16_and_uint8() -> None:
    assert QUANTIZATIONS == (None, "float16", "uint8")


@pytest.mark.parametrize("bad", ["int8", "uint16", "none", "", 8])
def test_unknown_quantization_is_refused(bad: Any) -> None:
    with pytest.raises(ValueError, match="unknown quantization"):
        check_quantization(bad)


def test_round_trip_changes_float32_by_at_most_the_format_step() -> None:
    values = np.random.default_rng(0).normal(size=1000).astype(np.float32)
    assert np.array_equal(round_trip(values, None), values)
    half = round_trip(values, "float16")
    assert half.dtype == np.float32
    assert np.array_equal(half, values.astype(np.float16).astype(np.float32))
    byte = round_trip(values, "uint8")
    step = (values.max() - values.min()) / 255
    assert 0 < np.abs(byte - values).max() <= step / 2 + 1e-6
    assert len(np.unique(byte)) <= 256


def test_round_trip_keeps_zero_exact_and_leaves_integers_alone() -> None:
    values = np.array([-0.3, 0.0, 0.7], dtype=np.float32)
    assert round_trip(values, "uint8")[1] == 0.0  # The converter nudges the range so 0 stays 0.
    integers = np.array([1, 2, 3], dtype=np.int32)
    kept = round_trip(integers, "uint8")
    assert kept.dtype == np.int32 and np.array_equal(kept, integers)


@pytest.mark.parametrize("epsilon", [1e-3, 1e-5, 0.01])
def test_unit_variance_plus_epsilon_is_exactly_one(epsilon: float) -> None:
    assert _unit_variance(epsilon) + np.float32(epsilon) == np.float32(1)


def test_apply_to_model_leaves_the_original_untouched(tiny_model: Any) -> None:
    before = [weights.copy() for weights in tiny_model.get_weights()]
    quantized = apply_to_model(tiny_model, "uint8")
    assert quantized is not tiny_model
    for original, kept in zip(before, tiny_model.get_weights(), strict=True):
        assert np.array_equal(original, kept)
    same = apply_to_model(tiny_model, None)
    for original, copied in zip(before, same.get_weights(), strict=True):
        assert np.array_equal(original, copied)


def test_apply_to_model_changes_predictions_only_slightly(tiny_model: Any, parity_images: np.ndarray) -> None:
    images = parity_images[:200]
    reference = tiny_model.predict(images, verbose=0)
    for quantization, bound in (("float16", 5e-3), ("uint8", 5e-2)):
        changed = apply_to_model(tiny_model, quantization).predict(images, verbose=0)
        assert 0 < np.abs(changed - reference).max() < bound


def _decode_like_tfjs(web_dir: Path) -> dict[str, np.ndarray]:
    """Decode every weight of a graph model the way tfjs-core's io_utils.decodeWeights does."""
    model_json = json.loads((web_dir / "model.json").read_text())
    decoded = {}
    for group in model_json["weightsManifest"]:
        buffer = b"".join((web_dir / name).read_bytes() for name in group["paths"])
        offset = 0
        for spec in group["weights"]:
            count = int(np.prod(spec["shape"], dtype=np.int64))
            quantization = spec.get("quantization")
            dtype = np.dtype(quantization["dtype"] if quantization else spec["dtype"])
            raw = np.frombuffer(buffer, dtype=dtype, count=count, offset=offset)
            offset += count * dtype.itemsize
            if quantization and quantization["dtype"] == "uint8":
                # JavaScript numbers are doubles; the product is stored into a Float32Array.
                values = (raw.astype(np.float64) * quantization["scale"] + quantization["min"]).astype(np.float32)
            else:
                values = raw.astype(np.float32) if spec["dtype"] == "float32" else raw
            decoded[spec["name"]] = values.reshape(spec["shape"])
    return decoded


@pytest.mark.slow
@pytest.mark.parametrize("quantization", ["float16", "uint8"])
def test_round_trip_equals_the_weights_the_browser_decodes(
    exported: Callable[[str | None], Path], tiny_model: Any, quantization: str
) -> None:
    decoded = _decode_like_tfjs(exported(quantization))
    dense_kernel = tiny_model.get_layer("probabilities").kernel.numpy()
    [stored] = [values for values in decoded.values() if values.shape == dense_kernel.shape]
    assert np.array_equal(stored, round_trip(dense_kernel, quantization))
    # The converter folded the batch norm into the bias-free convolution: apply_to_model must too.
    browser_model = apply_to_model(tiny_model, quantization)
    folded_kernel = browser_model.layers[1].kernel.numpy()
    [stored_kernel] = [values for values in decoded.values() if values.shape == folded_kernel.shape]
    assert np.array_equal(stored_kernel, folded_kernel)
