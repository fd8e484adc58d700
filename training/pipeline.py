"""The tf.data input: scale to [0, 1], re-draw, augment and balance the classes for training.

Everything random lives here rather than in the model, so the saved model stays the exact
inference graph. The seed recipe uses none of it (plain shuffled batches).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from keras import layers

# The numpy-only steps live in training.arrays, importable without TensorFlow.
from training.arrays import (  # noqa: F401 (re-exported)
    BALANCE_MODES,
    DISTORTION_MARGIN,
    balanced_sample_weights,
    class_sampling_weights,
    distort,
    hard_negative_weights,
    redraw,
    to_model_input,
)

AUTOTUNE = tf.data.AUTOTUNE
SHUFFLE_BUFFER = 16_384  # Larger than any class's training rows here: a full shuffle.


def augmentation_layers(
    rotation: float, zoom: tuple[float, float], translation: float, seed: int
) -> list[layers.Layer]:
    """Random transformations that keep a doodle's class: mirror, small turn, zoom and shift."""
    return [
        # Accessories are symmetric enough that a mirrored drawing is the same thing.
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomRotation(rotation, fill_mode="constant", seed=seed + 1),
        layers.RandomZoom(zoom, fill_mode="constant", seed=seed + 2),
        layers.RandomTranslation(translation, translation, fill_mode="constant", seed=seed + 3),
    ]


def make_augment(augmentations: list[layers.Layer]):
    """Return a batch function that applies the layers in order, in training mode."""

    def augment(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        for layer in augmentations:
            images = layer(images, training=True)
        # Interpolation can overshoot a little; the model only ever sees [0, 1].
        return tf.clip_by_value(images, 0.0, 1.0), labels

    return augment


def make_mixup(alpha: float, seed: int):
    """Return a batch function that blends each image (and its one-hot label) with another's.

    The partner is the same batch reversed: batches are already shuffled, so this pairs
    random drawings without a second pass over the data.
    """

    def mixup(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        count = tf.shape(images)[0]
        # Beta(alpha, alpha) from two Gamma draws; TensorFlow has no Beta sampler.
        first = tf.random.gamma([count], alpha, seed=seed)
        second = tf.random.gamma([count], alpha, seed=seed + 1)
        share = first / (first + second)
        image_share = tf.reshape(share, [-1, 1, 1, 1])
        label_share = tf.reshape(share, [-1, 1])
        images = image_share * images + (1.0 - image_share) * tf.reverse(images, axis=[0])
        labels = label_share * labels + (1.0 - label_share) * tf.reverse(labels, axis=[0])
        return images, labels

    return mixup


def training_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    num_classes: int,
    batch_size: int,
    seed: int,
    balance: str = "none",
    augmentations: list[layers.Layer] | None = None,
    one_hot: bool = False,
    mixup_alpha: float = 0.0,
    variants: tuple[np.ndarray, np.ndarray] | None = None,
    variant_share: float = 0.0,
    class_weights: np.ndarray | None = None,
    label_map: np.ndarray | None = None,
    units: int | None = None,
    soften=None,
    render_jitter: float = 0.0,
) -> tf.data.Dataset:
    """Endless shuffled batches of (float32 images, labels), balanced and augmented as asked.

    With ``balance="none"`` every row is drawn once per pass as in the seed recipe; otherwise
    each class is its own endless stream and batches mix them with the chosen weights.
    Labels are class indices, or one-hot rows when ``one_hot`` (needed for mixup and label
    smoothing). ``variants`` (re-drawn copies, see ``redraw``) make up ``variant_share`` of
    every class's draws when classes are balanced, so every class is seen in both looks
    equally often; with a share of 0, or unbalanced, they simply join the rows.
    ``class_weights`` (balanced sampling only) replace the balance's shares per class.
    ``label_map`` names each class by one of ``units`` outputs (a teacher's categories) in
    the one-hot targets, which ``soften`` (see ``make_distillation``) may then blend with a
    teacher's view; ``render_jitter`` thickens, thins and blurs lines at random.
    """
    if mixup_alpha > 0 and not one_hot:
        raise ValueError("mixup blends labels, so it needs one-hot labels")
    inputs = to_model_input(images)
    labels = np.asarray(labels, dtype=np.int64)
    variant_inputs = np.zeros((0, 28, 28, 1), np.float32)
    variant_labels = np.zeros(0, np.int64)
    if variants is not None and len(variants[1]):
        variant_inputs = to_model_input(variants[0])
        variant_labels = np.asarray(variants[1], dtype=np.int64)
    if (balance == "none" or variant_share <= 0) and len(variant_labels):
        inputs = np.concatenate([inputs, variant_inputs])
        labels = np.concatenate([labels, variant_labels])
        variant_labels = variant_labels[:0]
    if balance == "none":
        dataset = tf.data.Dataset.from_tensor_slices((inputs, labels))
        dataset = dataset.shuffle(min(len(labels), SHUFFLE_BUFFER), seed=seed,
                                  reshuffle_each_iteration=True).repeat()
    else:
        weights = class_sampling_weights(labels, num_classes, balance)
        if class_weights is not None:
            weights = np.asarray(class_weights, dtype=np.float64) / np.sum(class_weights)
        streams = []
        for label in range(num_classes):
            stream = _endless_shuffled(inputs, labels, label, seed + label)
            if np.any(variant_labels == label):
                redrawn = _endless_shuffled(variant_inputs, variant_labels, label,
                                            seed + num_classes + label)
                stream = tf.data.Dataset.sample_from_datasets(
                    [stream, redrawn], weights=[1.0 - variant_share, variant_share],
                    seed=seed + 2 * num_classes + label, rerandomize_each_iteration=True)
            streams.append(stream)
        dataset = tf.data.Dataset.sample_from_datasets(
            streams, weights=weights.tolist(), seed=seed, rerandomize_each_iteration=True)
    return _batched(dataset, num_classes, batch_size, seed, augmentations, one_hot, mixup_alpha,
                    label_map=label_map, units=units, soften=soften, render_jitter=render_jitter)


def streaming_training_dataset(
    rows: tf.data.Dataset,
    row_count: int,
    num_classes: int,
    batch_size: int,
    seed: int,
    augmentations: list[layers.Layer] | None = None,
    one_hot: bool = False,
    mixup_alpha: float = 0.0,
    label_lookup: np.ndarray | None = None,
) -> tf.data.Dataset:
    """``training_dataset``'s unbalanced batches, from a stream of rows (``training.shards.read_split``).

    Only a shuffle buffer of rows is held, never the split. Read in the split's order, the
    stream gives exactly the batches ``training_dataset(..., balance="none")`` gives for the
    same rows and seed. ``label_lookup[kind + 1]`` replaces the label of a negative row
    (learning negatives by name, see ``train.fine_labels``).
    """
    if mixup_alpha > 0 and not one_hot:
        raise ValueError("mixup blends labels, so it needs one-hot labels")
    lookup = None if label_lookup is None else tf.constant(np.asarray(label_lookup, dtype=np.int64))

    def model_input(row: dict[str, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
        # The same float32 division as to_model_input, so both paths feed identical numbers.
        image = (tf.cast(row["image"], tf.float32) / 255.0)[..., tf.newaxis]
        label = row["label"]
        if lookup is not None:
            label = tf.where(row["kind"] >= 0, tf.gather(lookup, row["kind"] + 1), label)
        return image, label

    dataset = rows.map(model_input, num_parallel_calls=AUTOTUNE, deterministic=True)
    dataset = dataset.shuffle(min(row_count, SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True).repeat()
    return _batched(dataset, num_classes, batch_size, seed, augmentations, one_hot, mixup_alpha)


def _batched(dataset: tf.data.Dataset, num_classes: int, batch_size: int, seed: int,
             augmentations: list[layers.Layer] | None, one_hot: bool, mixup_alpha: float,
             label_map: np.ndarray | None = None, units: int | None = None, soften=None,
             render_jitter: float = 0.0) -> tf.data.Dataset:
    """Batch a stream of (image, label) pairs, then augment, jitter, one-hot, mix up and soften as asked, and prefetch."""
    dataset = dataset.batch(batch_size, drop_remainder=True)
    if augmentations:
        # Augmenting whole batches is several times faster than one image at a time.
        dataset = dataset.map(make_augment(augmentations), num_parallel_calls=AUTOTUNE)
    if render_jitter > 0:
        dataset = dataset.map(make_render_jitter(render_jitter, seed + 7), num_parallel_calls=AUTOTUNE)
    if one_hot:
        if label_map is not None:
            lookup = tf.constant(np.asarray(label_map, dtype=np.int64))
            dataset = dataset.map(
                lambda batch, batch_labels: (batch, tf.one_hot(tf.gather(lookup, batch_labels), units)),
                num_parallel_calls=AUTOTUNE)
        else:
            dataset = dataset.map(lambda batch, batch_labels: (batch, tf.one_hot(batch_labels, num_classes)),
                                  num_parallel_calls=AUTOTUNE)
    if mixup_alpha > 0:
        dataset = dataset.map(make_mixup(mixup_alpha, seed), num_parallel_calls=AUTOTUNE)
    if soften is not None:
        dataset = dataset.map(soften, num_parallel_calls=AUTOTUNE)
    return dataset.prefetch(AUTOTUNE)


def make_render_jitter(strength: float, seed: int):
    """Return a batch function that makes each drawing's lines thicker or thinner and blurrier at random.

    Our "other" drawings are all re-drawn from 1-px bitmaps while bowties and umbrellas are
    Google's renderings and the page draws strokes: varying line weight and softness on every
    drawing keeps the look of a renderer from becoming a cue for a label.
    """
    blur = np.outer(*(2 * [np.array([0.25, 0.5, 0.25], np.float32)]))[:, :, None, None]

    def jitter(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        count = tf.shape(images)[0]
        weight = tf.random.uniform([count, 1, 1, 1], -strength, strength, seed=seed)
        thicker = tf.nn.max_pool2d(images, 3, 1, "SAME")
        thinner = -tf.nn.max_pool2d(-images, 2, 1, "SAME")
        images = tf.where(weight > 0, images + weight * (thicker - images),
                          images - weight * (thinner - images))
        softness = tf.random.uniform([count, 1, 1, 1], 0.0, strength, seed=seed + 1)
        images = images + softness * (tf.nn.conv2d(images, blur, 1, "SAME") - images)
        peak = tf.reduce_max(images, axis=[1, 2, 3], keepdims=True)
        return images / tf.maximum(peak, 1e-3), labels

    return jitter


def make_distillation(teacher, num_named: int, weight: float):
    """Return a batch function that blends a teacher's view into the targets of other drawings.

    The set's categories keep our labels (the teacher spreads a real sock over its many
    neighbours); the share of a target that is "none of these" becomes ``weight`` times the
    teacher's view among the other categories (what the drawing looks like) plus the rest
    of the drawing's own category. Mixed-up blends get the teacher's view of the blend.
    """
    units = int(teacher.output_shape[-1])
    named = tf.constant([1.0] * num_named + [0.0] * (units - num_named))

    def soften(images: tf.Tensor, targets: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        view = teacher(images, training=False) * (1.0 - named)
        view = view / tf.maximum(tf.reduce_sum(view, axis=1, keepdims=True), 1e-6)
        named_mass = tf.reduce_sum(targets * named, axis=1, keepdims=True)
        targets = (targets * named + weight * (1.0 - named_mass) * view
                   + (1.0 - weight) * targets * (1.0 - named))
        return images, targets

    return soften


def _endless_shuffled(inputs: np.ndarray, labels: np.ndarray, label: int, seed: int
                      ) -> tf.data.Dataset:
    """The rows of one class, reshuffled on every pass, forever."""
    rows = np.flatnonzero(labels == label)
    stream = tf.data.Dataset.from_tensor_slices((inputs[rows], labels[rows]))
    return stream.shuffle(min(len(rows), SHUFFLE_BUFFER), seed=seed,
                          reshuffle_each_iteration=True).repeat()


def evaluation_dataset(
    images: np.ndarray, labels: np.ndarray, batch_size: int,
    sample_weights: np.ndarray | None = None, num_classes: int | None = None,
) -> tf.data.Dataset:
    """One ordered pass over a split, with optional per-row loss weights.

    Given ``num_classes``, labels come as one-hot rows (to match one-hot training labels).
    """
    targets = np.asarray(labels, dtype=np.int64)
    if num_classes is not None:
        targets = np.eye(num_classes, dtype=np.float32)[targets]
    tensors: tuple[np.ndarray, ...] = (to_model_input(images), targets)
    if sample_weights is not None:
        tensors = (*tensors, sample_weights)
    return tf.data.Dataset.from_tensor_slices(tensors).batch(batch_size).prefetch(AUTOTUNE)
