"""The CNN architectures: the seed reference network and our default, built from plain settings.

Both take float32 (None, 28, 28, 1) bitmaps in [0, 1] (white ink = 1) and end in a softmax
over the categories. Neither contains a random layer: augmentation happens in the tf.data
pipeline (``training.pipeline``), so the saved model is exactly the inference model that
the exporter converts for the browser.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import keras
from keras import layers

from preprocessing import spec

ARCHITECTURES = ("seed", "default")
INPUT_SHAPE = (spec.IMAGE_SIZE, spec.IMAGE_SIZE, 1)


@dataclass(frozen=True)
class DefaultArchitecture:
    """Settings of the default network; saved in the model card so the run can be rebuilt."""

    conv_filters: tuple[int, ...] = (32, 64, 96)  # One 3x3 conv + 2x2 max-pool per entry.
    dense_units: int = 64  # Hidden layer before the classifier; its input dominates the size.
    conv_dropout: float = 0.4  # Between the flattened features and the hidden layer.
    dense_dropout: float = 0.3  # Between the hidden layer and the classifier.
    flip_average: bool = True  # Average the predictions for the drawing and its mirror image.

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready values (tuples become lists)."""
        values = asdict(self)
        values["conv_filters"] = list(self.conv_filters)
        return values


def build_seed_model(num_classes: int) -> keras.Model:
    """The reference CNN from the seed notebook, layer for layer."""
    _check_num_classes(num_classes)
    inputs = keras.Input(shape=INPUT_SHAPE, name="bitmap")
    x = layers.Conv2D(32, kernel_size=(3, 3), activation="relu")(inputs)
    x = layers.MaxPooling2D(pool_size=(2, 2))(x)
    x = layers.Conv2D(64, kernel_size=(3, 3), activation="relu")(x)
    x = layers.MaxPooling2D(pool_size=(2, 2))(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="seed_cnn")


def build_default_model(
    num_classes: int, architecture: DefaultArchitecture = DefaultArchitecture()
) -> keras.Model:
    """Our network: three small conv blocks, a narrow hidden layer, optional mirror averaging."""
    _check_num_classes(num_classes)
    if not architecture.conv_filters:
        raise ValueError("the default architecture needs at least one conv block")
    # Each block halves the side (28 -> 14 -> 7 -> 3), so at most four blocks fit.
    if len(architecture.conv_filters) > 4:
        raise ValueError("at most four conv blocks fit a 28x28 input")
    bitmap = keras.Input(shape=INPUT_SHAPE, name="bitmap")
    x = bitmap
    for filters in architecture.conv_filters:
        # "same" padding keeps strokes at the border, which Quick Draw's padding makes rare
        # but the re-rendered small-class drawings sometimes have.
        x = layers.Conv2D(filters, kernel_size=3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(pool_size=2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(architecture.conv_dropout)(x)
    x = layers.Dense(architecture.dense_units, activation="relu")(x)
    x = layers.Dropout(architecture.dense_dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    classifier = keras.Model(bitmap, outputs, name="classifier")
    if not architecture.flip_average:
        return classifier
    return mirror_averaged(classifier)


def mirror_averaged(classifier: keras.Model) -> keras.Model:
    """Wrap a classifier so it returns the mean of its outputs for an image and its mirror.

    Accessories look the same mirrored, so averaging both views is free test-time
    augmentation. Both views go through the classifier as one batch, so the exported graph
    holds one copy of the weights (two calls would make the converter store them twice) and
    the browser runs one model call. Only plain ``keras.ops`` are used: no Lambda, no custom
    layer, so saving, loading and the TF.js converter need nothing extra.
    """
    inputs = keras.Input(shape=INPUT_SHAPE, name="bitmap")
    both_views = keras.ops.concatenate([inputs, keras.ops.flip(inputs, axis=2)], axis=0)
    per_view = classifier(both_views)
    num_classes = per_view.shape[-1]
    outputs = keras.ops.mean(keras.ops.reshape(per_view, (2, -1, num_classes)), axis=0)
    return keras.Model(inputs, outputs, name="mirror_averaged_cnn")


GROUPED_NAME = "grouped_other"


def group_other(model: keras.Model, num_named: int) -> keras.Model:
    """Wrap a model over named categories + many negative ones so it answers named + one "other".

    The network learns every negative category by name (finer targets than one catch-all
    class, which helps it tell "a house" from "a purse"), but the shipped model has the
    product's outputs: the named categories' probabilities, then their complement, the sum
    over the negative categories. Plain ``keras.ops`` only, like ``mirror_averaged``.
    """
    if model.output_shape[-1] <= num_named:
        raise ValueError(f"grouping needs more outputs than the {num_named} named categories")
    inputs = keras.Input(shape=INPUT_SHAPE, name="bitmap")
    fine = model(inputs)
    other = keras.ops.sum(fine[:, num_named:], axis=1, keepdims=True)
    outputs = keras.ops.concatenate([fine[:, :num_named], other], axis=1)
    return keras.Model(inputs, outputs, name=GROUPED_NAME)


def build_model(
    arch: str, num_classes: int, architecture: DefaultArchitecture = DefaultArchitecture()
) -> keras.Model:
    """Build the named architecture (one of ``ARCHITECTURES``)."""
    if arch == "seed":
        return build_seed_model(num_classes)
    if arch == "default":
        return build_default_model(num_classes, architecture)
    raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")


def weight_bytes(model: keras.Model, bytes_per_weight: int = 4) -> int:
    """Size of the model's weights at the given precision (4 = float32, 2 = float16, 1 = uint8)."""
    return int(model.count_params()) * bytes_per_weight


def _check_num_classes(num_classes: int) -> None:
    """Refuse a classifier with fewer than two outputs, a sign of an empty category list."""
    if num_classes < 2:
        raise ValueError(f"a classifier needs at least two categories, got {num_classes}")
