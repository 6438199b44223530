"""Reading still images as upright RGB arrays.

Handles what phone and scanner photos bring: EXIF orientation, grayscale,
palette, CMYK, 16-bit and alpha channels, and very large pictures (scaled
down so that the longer side is at most ``max_side`` pixels; faces stay far
larger than the models need).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from livecert.arrays import Image
from livecert.config import LimitsConfig
from livecert.errors import ErrorCode, InputError
from livecert.io.files import as_path, check_file

if TYPE_CHECKING:
    from PIL import Image as PILImage

#: Longer side, in pixels, that large images are reduced to.
DEFAULT_MAX_SIDE = 2048

#: Pixels decoded from one image unless the caller says otherwise
#: (:attr:`livecert.config.LimitsConfig.max_photo_pixels`).
DEFAULT_MAX_PIXELS = LimitsConfig().max_photo_pixels

# Pillow refuses images above ~179 Mpx as a decompression-bomb guard.  A header
# may say up to this many pixels: JPEGs are decoded at a reduced size, and what
# is actually decoded is checked against ``max_pixels``.
_MAX_HEADER_PIXELS = 400_000_000

# Modes Pillow resizes directly, so a large image is reduced before it is converted.
_RESIZABLE = frozenset({"L", "LA", "RGB", "RGBA", "RGBX", "La", "RGBa", "I", "F", "CMYK", "YCbCr"})


def read_image_rgb(
    path: str | Path, *, max_side: int = DEFAULT_MAX_SIDE, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Image:
    """Read an image file as an upright RGB array.

    Parameters
    ----------
    path : str or Path
    max_side : int
        Images whose longer side exceeds this are scaled down (aspect kept).
    max_pixels : int
        Most pixels to decode (a JPEG counts at the reduced size it is
        decoded at); checked from the header, before decoding.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)

    Raises
    ------
    InputError
        Missing, empty, unreadable or damaged files (``NOT_AN_IMAGE``, ...),
        images with more than ``max_pixels`` pixels (``IMAGE_TOO_LARGE``), and a
        ``path`` that is not a str or path (``BAD_ARGUMENT``).
    """
    from PIL import Image as PILImage, ImageOps, UnidentifiedImageError

    p = check_file(as_path(path, "an image"))
    if p.is_dir():
        raise InputError(f"{p}: is a folder, expected an image file", code=ErrorCode.NOT_AN_IMAGE)
    host_limit = PILImage.MAX_IMAGE_PIXELS  # Pillow's limit is process-wide: put the caller's back afterwards
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            PILImage.MAX_IMAGE_PIXELS = _MAX_HEADER_PIXELS
            with PILImage.open(p) as opened:
                opened.draft("RGB", (max_side, max_side))  # cheap JPEG downscale while decoding
                w, h = opened.size
                if w * h > max_pixels:
                    raise InputError(
                        f"{p}: the image is {w}x{h} pixels ({w * h / 1e6:.0f} Mpx), more than the "
                        f"{max_pixels / 1e6:.0f} Mpx livecert decodes; send a smaller copy (a face photo "
                        "needs no more than 2000 pixels a side)",
                        code=ErrorCode.IMAGE_TOO_LARGE,
                    )
                if max(w, h) > max_side and opened.mode in _RESIZABLE:
                    # reduce before transposing and converting: each of those copies the picture
                    opened.thumbnail((max_side, max_side), PILImage.Resampling.LANCZOS)
                img = _to_rgb(ImageOps.exif_transpose(opened))
                if max(img.size) > max_side:
                    img.thumbnail((max_side, max_side), PILImage.Resampling.LANCZOS)
                return np.asarray(img, dtype=np.uint8).copy()
    except (UnidentifiedImageError, PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise InputError(
            f"{p}: not an image that can be read ({exc}); give a photo file (JPEG, PNG, WebP, BMP or TIFF)",
            code=ErrorCode.NOT_AN_IMAGE,
        ) from None
    except OSError as exc:
        raise InputError(
            f"{p}: the image is truncated or damaged ({exc}); take or copy the photo again",
            code=ErrorCode.NOT_AN_IMAGE,
        ) from None
    finally:
        PILImage.MAX_IMAGE_PIXELS = host_limit


def _to_rgb(img: PILImage.Image) -> PILImage.Image:
    from PIL import Image as PILImage

    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
        return PILImage.alpha_composite(background, rgba).convert("RGB")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = arr.max() if arr.size and arr.max() > 0 else 1.0
        return PILImage.fromarray((arr * (255.0 / top)).astype(np.uint8)).convert("RGB")
    return img.convert("RGB")
