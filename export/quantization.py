"""Weight quantization, done exactly as the TF.js converter stores weights and TF.js reads them back.

The converter's ``--quantize_float16`` / ``--quantize_uint8`` flags (with no pattern: every
float32 weight) call ``tensorflowjs.quantization.quantize_weights`` on each constant of the
optimised graph, and the browser decodes float16 directly and uint8 as ``value * scale + min``
in double precision, stored as float32. ``dequantize_weights`` does the same arithmetic.

The constants are not always the Keras variables: the converter's graph optimiser turns a
BatchNormalization into one multiplier and one offset per channel, and pushes the multiplier
into a bias-free, activation-free Conv2D right before it. ``apply_to_model`` reproduces those
two rewrites before rounding, so a Keras model with its weights round-tripped holds the
numbers the browser computes with (to float32 rounding): the Python server then predicts what
the page predicts. ``export.parity`` measures how close the two really are.
"""

from __future__ import annotations

from typing import Any

import numpy as np

QUANTIZATIONS: tuple[str | None, ...] = (None, "float16", "uint8")
# How each option appears in tensorflowjs' ``quantization_dtype_map``: ``True`` is the
# fallthrough entry, meaning "every weight", as the command-line flags without a pattern.
CONVERTER_DTYPE_MAPS: dict[str | None, dict[str, bool] | None] = {
    None: None,
    "float16": {"float16": True},
    "uint8": {"uint8": True},
}


def check_quantization(quantization: str | None) -> str | None:
    """Return ``quantization`` if it is one of QUANTIZATIONS; else raise ValueError."""
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {quantization!r}; choose one of {list(QUANTIZATIONS)!r}")
    return quantization


def round_trip(values: np.ndarray, quantization: str | None) -> np.ndarray:
    """Return ``values`` as the browser will see them after the converter quantized them."""
    check_quantization(quantization)
    values = np.asarray(values)
    # The converter leaves every tensor that is not float32 alone (integer shapes, seeds).
    if quantization is None or values.dtype != np.float32:
        return values
    from tensorflowjs import quantization as tfjs_quantization

    numpy_dtype = tfjs_quantization.QUANTIZATION_OPTION_TO_DTYPES[quantization]
    quantized, parameters = tfjs_quantization.quantize_weights(values, numpy_dtype)
    return tfjs_quantization.dequantize_weights(quantized, parameters, np.float32)


def apply_to_model(model: Any, quantization: str | None) -> Any:
    """Return a copy of the Keras ``model`` whose weights are round-tripped through ``quantization``.

    With ``None`` the copy holds the same weights. The original model is left untouched.
    """
    check_quantization(quantization)
    copy = inference_copy(model)
    if quantization is None:
        return copy
    handled: set[int] = set()
    for layer in _all_layers(copy):
        if _is_plain_batch_norm(layer):
            handled.update(_round_trip_batch_norm(layer, quantization))
    for variable in copy.weights:
        if id(variable) not in handled:
            variable.assign(round_trip(np.asarray(variable.numpy()), quantization))
            handled.add(id(variable))
    return copy


def inference_copy(model: Any) -> Any:
    """Return a copy of ``model`` with its weights and none of its training state (optimizer, compile settings)."""
    import keras

    # keras.models.clone_model rebuilds nested models from their configs, and a nested model
    # that was compiled in training comes back compiled, Adam slots and all: rebuilding from a
    # config without any compile_config keeps the optimizer out at every depth.
    copy = keras.saving.deserialize_keras_object(_without_compile_config(keras.saving.serialize_keras_object(model)))
    copy.set_weights(model.get_weights())
    return copy


def _without_compile_config(config: Any) -> Any:
    """``config`` (a serialized Keras object) with every nested ``compile_config`` entry removed."""
    if isinstance(config, dict):
        return {key: _without_compile_config(value) for key, value in config.items() if key != "compile_config"}
    if isinstance(config, list):
        return [_without_compile_config(value) for value in config]
    return config


def _all_layers(model: Any) -> list[Any]:
    """Every layer of ``model``, descending into nested models (a classifier wrapped for mirror averaging)."""
    import keras

    found = []
    for layer in model.layers:
        found.append(layer)
        if isinstance(layer, keras.Model):
            found.extend(_all_layers(layer))
    return found


def _is_plain_batch_norm(layer: Any) -> bool:
    """True for a channels-last BatchNormalization with both gamma and beta, the form the converter folds."""
    from keras import layers

    return isinstance(layer, layers.BatchNormalization) and layer.axis in (-1, len(layer.input.shape) - 1) \
        and layer.center and layer.scale


def _foldable_convolution(batch_norm: Any) -> Any | None:
    """The Conv2D whose kernel the converter multiplies by this BatchNormalization's scale, if any."""
    from keras import layers

    history = getattr(batch_norm.input, "_keras_history", None)
    producer = history.operation if history is not None else None
    # Grappler pushes a constant Mul into the Conv2D filter only when nothing sits between
    # them (no bias, no activation) and nothing else reads the convolution's output.
    if (
        type(producer) is layers.Conv2D
        and not producer.use_bias
        and producer.activation is keras_linear()
        and len(producer._outbound_nodes) == 1
    ):
        return producer
    return None


def keras_linear() -> Any:
    """Keras' identity activation, which a layer built with ``activation=None`` holds."""
    from keras import activations

    return activations.linear


def _round_trip_batch_norm(batch_norm: Any, quantization: str) -> set[int]:
    """Give ``batch_norm`` the browser's quantized multiplier and offset; return the variables set."""
    import tensorflow as tf

    gamma, beta, moving_mean, moving_variance = (np.asarray(v.numpy()) for v in (
        batch_norm.gamma, batch_norm.beta, batch_norm.moving_mean, batch_norm.moving_variance))
    # The constants the graph optimiser folds, computed with TensorFlow's own kernels in the
    # order tf.nn.batch_normalization uses, so they match the exported ones bit for bit.
    multiplier = (tf.math.rsqrt(moving_variance + np.float32(batch_norm.epsilon)) * gamma).numpy()
    offset = (beta - moving_mean * multiplier).astype(np.float32)
    convolution = _foldable_convolution(batch_norm)
    changed = {id(v) for v in batch_norm.weights}
    if convolution is not None:
        convolution.kernel.assign(round_trip(convolution.kernel.numpy() * multiplier, quantization))
        changed.add(id(convolution.kernel))
        multiplier = np.ones_like(multiplier)
    else:
        multiplier = round_trip(multiplier, quantization)
    # With mean 0 and variance + epsilon == 1 the layer computes x * gamma + beta, the
    # browser's x * multiplier + offset (rsqrt(1) can be 1 - 1ulp: float32 noise, not quantization).
    batch_norm.gamma.assign(multiplier)
    batch_norm.beta.assign(round_trip(offset, quantization))
    batch_norm.moving_mean.assign(np.zeros_like(moving_mean))
    batch_norm.moving_variance.assign(np.full_like(moving_variance, _unit_variance(batch_norm.epsilon)))
    return changed


def _unit_variance(epsilon: float) -> np.float32:
    """A float32 variance that, plus ``epsilon`` in float32, is exactly 1."""
    epsilon32 = np.float32(epsilon)
    variance = np.float32(1) - epsilon32
    while variance + epsilon32 > np.float32(1):
        variance = np.nextafter(variance, np.float32(0))
    while variance + epsilon32 < np.float32(1):
        variance = np.nextafter(variance, np.float32(2))
    return variance
