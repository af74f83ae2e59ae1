"""Image montages in numpy: many small images tiled into one picture, encoded to PNG once.

The widgets draw a cluster of 30 digits as one image, not 30 figures: tiling is
a reshape, frames are slices, and what is left per image is the PNG's
compression of the finished array. Grey images are kept as one byte per pixel
of a 256-entry palette (254 grey levels, then the frame colours), so a
montage costs a third of an RGB one to hold, compress and send. Pillow (a
dependency of matplotlib) writes the PNG and draws the captions of the static
fallback images.

    >>> pixels = as_images(np.zeros((3, 784), np.float32))
    >>> picture = montage(to_levels(pixels, Scale.of(pixels)), columns=2)
    >>> picture.pixels.shape                          # 2 rows x 2 columns of 28 + 2 * 2 px tiles
    (64, 64)
"""

from __future__ import annotations

import functools
import importlib.util
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..i18n import _

WHITE = (255, 255, 255)
RED = (207, 34, 46)  # the widgets' failure colour
GREY = (234, 238, 242)
INK = (36, 41, 47)

# Palette of grey montages: indices 0..253 are grey levels (253 = white), then the frame colours.
TOP_LEVEL = 253
GREY_INDEX, RED_INDEX = 254, 255
PALETTE = np.array(
    [(round(i * 255 / TOP_LEVEL),) * 3 for i in range(TOP_LEVEL + 1)] + [GREY, RED], dtype=np.uint8
)
LEVELS = np.round(np.arange(256) * TOP_LEVEL / 255).astype(np.uint8)  # a grey value 0..255 as a palette index


def as_images(images: object, image_shape: Sequence[int] | None = None) -> np.ndarray:
    """``images`` as an (N, height, width) or (N, height, width, 3) array, checked.

    Flat rows (N, pixels) need ``image_shape`` unless ``pixels`` is a square number
    (784 -> 28 x 28). Anything that does not fit raises a one-line ValueError.
    """
    array = np.asarray(images)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(_("images must be numeric arrays, not {dtype}").format(dtype=array.dtype))
    if array.ndim not in (2, 3, 4):
        raise ValueError(_("images must be (N, pixels), (N, height, width) or (N, height, width, 3); got shape {shape}").format(shape=array.shape))
    if len(array) == 0:
        raise ValueError(_("images is empty: there is nothing to show"))
    per_image = math.prod(array.shape[1:])
    if image_shape is None:
        if array.ndim == 4 and array.shape[3] != 3:
            raise ValueError(_("colour images need 3 channels last; got shape {shape}").format(shape=array.shape))
        if array.ndim >= 3:
            return array
        side = math.isqrt(per_image)
        if side * side != per_image:
            raise ValueError(_("images have {n} values each, not a square number; pass {option}").format(n=per_image, option="image_shape=(height, width)"))
        return array.reshape(len(array), side, side)
    shape = tuple(int(s) for s in image_shape)
    if len(shape) not in (2, 3) or any(s < 1 for s in shape) or (len(shape) == 3 and shape[2] != 3):
        raise ValueError(_("image_shape must be (height, width) or (height, width, 3) with sizes >= 1; got {value}").format(value=tuple(image_shape)))
    if math.prod(shape) != per_image:
        raise ValueError(_("images of {n} values each do not fit image_shape={shape} ({total} values)").format(n=per_image, shape=shape, total=math.prod(shape)))
    return array.reshape(len(array), *shape)


@dataclass(frozen=True)
class Scale:
    """How pixel values map to the picture: integers as 0..255, floats as 0..1, anything wider by its range."""

    low: float
    high: float

    @classmethod
    def of(cls, images: np.ndarray) -> "Scale":
        if images.dtype == bool:
            return cls(0.0, 1.0)
        low, high = float(images.min()), float(images.max())
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError(_("images contain NaN or infinite values"))
        if np.issubdtype(images.dtype, np.integer):
            return cls(min(0.0, low), max(255.0, high))
        return cls(min(0.0, low), max(1.0, high))


def to_levels(images: np.ndarray, scale: Scale, *, invert: bool = False) -> np.ndarray:
    """uint8 pixels for :func:`montage`: grey images as palette levels 0..253, colour images as 0..255.

    ``invert`` draws grey images as dark ink on white (MNIST's white-on-black flipped).
    """
    top = TOP_LEVEL if images.ndim == 3 else 255
    values = (images.astype(np.float32) - np.float32(scale.low)) * np.float32(top / (scale.high - scale.low))
    if invert and images.ndim == 3:
        values = top - values
    return np.clip(values + 0.5, 0, top).astype(np.uint8)


@dataclass(frozen=True)
class Picture:
    """An image as the widgets hold it: palette indices (h, w) or RGB (h, w, 3), uint8."""

    pixels: np.ndarray

    @property
    def indexed(self) -> bool:
        return self.pixels.ndim == 2

    @property
    def width(self) -> int:
        return self.pixels.shape[1]

    @property
    def height(self) -> int:
        return self.pixels.shape[0]

    def rgb(self) -> np.ndarray:
        return PALETTE[self.pixels] if self.indexed else self.pixels

    def png(self, compress_level: int = 6) -> bytes:
        from PIL import Image

        image = Image.fromarray(np.ascontiguousarray(self.pixels))
        if self.indexed:
            image.putpalette(PALETTE.tobytes())  # "L" becomes "P"
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=compress_level)
        return buffer.getvalue()


def montage(tiles: np.ndarray, columns: int, *, marked: np.ndarray | None = None, pad: int = 2) -> Picture:
    """Tiles from :func:`to_levels` as one grid ``columns`` wide, filled row by row.

    Each tile sits in a ``pad``-pixel white border; ``marked`` tiles (a boolean
    mask) get a red one instead. No tiles give one empty grey tile, so an empty
    cluster still shows as a box.
    """
    count = len(tiles)
    height, width = tiles.shape[1:3]
    colour = tiles.ndim == 4
    tile_h, tile_w = height + 2 * pad, width + 2 * pad
    if count == 0:
        return Picture(np.full((tile_h, tile_w, 3), GREY, np.uint8) if colour else np.full((tile_h, tile_w), GREY_INDEX, np.uint8))
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    white, red = (np.array(WHITE, np.uint8), np.array(RED, np.uint8)) if colour else (TOP_LEVEL, RED_INDEX)
    # The grid as (rows, tile rows, columns, tile columns[, 3]); its transposed view is tile-major,
    # so whole rows of tiles are written in place with no copy of the finished grid.
    grid = np.empty((rows, tile_h, columns, tile_w) + tiles.shape[3:], np.uint8)
    grid[:] = white
    by_tile = grid.swapaxes(1, 2)  # (rows, columns, tile_h, tile_w[, 3]) view
    full = count // columns * columns
    if marked is not None and marked.any():
        flat = np.zeros(rows * columns, bool)
        flat[:count] = marked
        by_tile[flat.reshape(rows, columns)] = red
    inner = (slice(pad, pad + height), slice(pad, pad + width))
    if full:
        by_tile[: full // columns, :, inner[0], inner[1]] = tiles[:full].reshape((full // columns, columns) + tiles.shape[1:])
    if count > full:
        by_tile[rows - 1, : count - full, inner[0], inner[1]] = tiles[full:]
    return Picture(grid.reshape((rows * tile_h, columns * tile_w) + tiles.shape[3:]))


def encode_png(rgb: np.ndarray, compress_level: int = 6) -> bytes:
    """A PNG of an (h, w, 3) uint8 array."""
    return Picture(rgb).png(compress_level)


@functools.lru_cache(maxsize=1)
def _font_file() -> str | None:
    """DejaVu Sans as matplotlib ships it (Latin with accents, Greek, Cyrillic, arrows; no CJK)."""
    spec = importlib.util.find_spec("matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder, "mpl-data", "fonts", "ttf", "DejaVuSans.ttf")
        if path.is_file():
            return str(path)
    return None


@functools.lru_cache(maxsize=1)
def _drawable_characters() -> frozenset[int] | None:
    path = _font_file()
    if path is None:
        return None
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(path).get_charmap())


def latin(text: str, fallback: str) -> str:
    """``text`` where the static images' font can draw all of it (no CJK font is assumed), else ``fallback``."""
    characters = _drawable_characters()
    ok = all(ord(ch) < 128 for ch in text) if characters is None else all(ord(ch) in characters or ch.isspace() for ch in text)
    return text if ok else fallback


@functools.lru_cache(maxsize=8)
def _font(size: int):  # noqa: ANN202 - a PIL font
    from PIL import ImageFont

    path = _font_file()
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size=size)


def text_width(text: str, size: int = 12) -> int:
    """Width in pixels of ``text`` in the static images' font."""
    return int(math.ceil(_font(size).getlength(text)))


def caption(text: str, width: int, *, size: int = 12) -> np.ndarray:
    """One line of dark text on a white strip at least ``width`` pixels wide, as palette indices."""
    from PIL import Image, ImageDraw

    strip = Image.new("L", (max(width, text_width(text, size) + 4), size + 6), 255)
    ImageDraw.Draw(strip).text((2, 2), text, fill=36, font=_font(size))
    return LEVELS[np.asarray(strip)]


def draw_text(canvas: np.ndarray, items: Sequence[tuple[tuple[float, float], str, tuple[int, int, int], str]], size: int = 12) -> np.ndarray:
    """Text drawn onto a copy of an RGB array: ((x, y), text, colour, PIL anchor such as "mm") per item."""
    from PIL import Image, ImageDraw

    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    font = _font(size)
    for (x, y), text, colour, anchor in items:
        draw.text((x, y), text, fill=colour, font=font, anchor=anchor)
    return np.asarray(image)


def compose(panels: Sequence[tuple[np.ndarray, np.ndarray]], *, zoom: int = 1, head: np.ndarray | None = None,
            max_width: int = 1400, gap: int = 10) -> Picture:
    """One picture of captioned panels: (caption from :func:`caption`, picture pixels) each,
    left to right, wrapping at ``max_width``, under an optional ``head`` caption.

    Pictures are enlarged ``zoom`` times straight into the canvas, so the only big
    array made is the result (palette indices, or RGB if any picture is in colour).
    """
    colour = any(picture.ndim == 3 for _, picture in panels)
    boxes = [(max(c.shape[1], p.shape[1] * zoom), c.shape[0] + p.shape[0] * zoom) for c, p in panels]
    places, x, y, line_height = [], 0, 0 if head is None else head.shape[0] + gap // 2, 0
    for width, height in boxes:
        if x and x + width > max_width:
            x, y, line_height = 0, y + line_height + gap, 0
        places.append((x, y))
        x, line_height = x + width + gap, max(line_height, height)
    total_width = max([px + w for (px, _), (w, _) in zip(places, boxes)] + [0 if head is None else head.shape[1]])
    total_height = max(py + h for (_, py), (_, h) in zip(places, boxes))
    canvas = np.empty((total_height, total_width, 3) if colour else (total_height, total_width), np.uint8)
    canvas[:] = WHITE if colour else TOP_LEVEL

    def put(part: np.ndarray, top: int, left: int, step: int = 1) -> None:
        if colour and part.ndim == 2:
            part = PALETTE[part]
        height, width = part.shape[0] * step, part.shape[1] * step
        for dy in range(step):  # each of the zoom x zoom copies is one strided write into the canvas
            for dx in range(step):
                canvas[top + dy:top + height:step, left + dx:left + width:step] = part

    if head is not None:
        put(head, 0, 0)
    for (px, py), (label, picture) in zip(places, panels):
        put(label, py, px)
        put(picture, py + label.shape[0], px, zoom)
    return Picture(canvas)
