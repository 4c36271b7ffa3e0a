"""Pictures made ready for Accuro (EM-3): opened safely, turned upright, flattened on white, as JPEG.

Images are opened header first and refused above ``MAX_PIXELS`` before any pixel is decoded,
so a small file claiming 20,000 × 20,000 pixels costs no memory. Decoding keeps at most two
copies of a picture's pixels alive at once (the decoded one and its upright or flattened copy):
a 12-megapixel photo with transparency stays near 100 MB. Above ``LARGE_PIXELS`` that second copy
is made at half size (or less), and a JPEG taken sideways is decoded at half size by the JPEG
decoder itself: what the EMR shows stays sharp, and memory stays bounded. An upright JPEG is kept
as sent up to the portal's own limit (40 megapixels): it is only checked, at an eighth of its size. ``ConversionFailed.reason`` is a fixed
English sentence (translated where it is shown).
"""

from __future__ import annotations

import io
import math
import warnings
from typing import TYPE_CHECKING

from core.emr import N_
from core.portal.uploads import MAX_PIXELS as UPLOAD_MAX_PIXELS

if TYPE_CHECKING:
    from PIL.Image import Image

MAX_PIXELS = 24_000_000  # 6000 × 4000: a large phone photo; about 100 MB decoded with transparency
LARGE_PIXELS = 12_600_000  # a 12-megapixel photo (4000 × 3000) keeps its size; two copies stay near 100 MB
FLATTEN_ROWS = 64
MAX_PAGES = 100
JPEG_QUALITY = 90

DAMAGED_IMAGE = N_("The image is damaged or not an image; it cannot be converted.")
TOO_LARGE = N_("The image is too large to convert (more than 24 million pixels).")
TOO_MANY_PAGES = N_("The file has too many pages to convert (more than 100).")

ORIENTATION = 0x0112
# EXIF orientation → the transposition that shows the picture upright (as ImageOps.exif_transpose)
UPRIGHT = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE",
           6: "ROTATE_270", 7: "TRANSVERSE", 8: "ROTATE_90"}


class ConversionFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def open_image(data: bytes, *, max_pixels: int = MAX_PIXELS) -> Image:
    """The image with its header read and its size checked; no pixel decoded yet."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ConversionFailed(TOO_LARGE) from exc
    except Exception as exc:  # noqa: BLE001 - UnidentifiedImageError, truncated headers, …
        raise ConversionFailed(DAMAGED_IMAGE) from exc
    check_size(image, max_pixels)
    return image


def check_size(image: Image, max_pixels: int = MAX_PIXELS) -> None:
    if image.width * image.height > max_pixels:
        raise ConversionFailed(TOO_LARGE)


def shrink_factor(image: Image) -> int:
    """What to divide each side by to bring a picture under ``LARGE_PIXELS`` (1: nothing)."""
    pixels = image.width * image.height
    return 1 if pixels <= LARGE_PIXELS else math.ceil(math.sqrt(pixels / LARGE_PIXELS))


def orientation(image: Image) -> int:
    try:
        value = image.getexif().get(ORIENTATION, 1)
    except Exception:  # noqa: BLE001 - a damaged EXIF block: the picture still opens as stored
        return 1
    return value if value in UPRIGHT else 1


def upright_on_white(image: Image, *, keep_bilevel: bool = False) -> Image:
    """The frame's pixels, upright (EXIF orientation), on white if transparent, as RGB or grey
    (or black and white with ``keep_bilevel``). The frame given is released as soon as it can be."""
    from PIL import Image as PILImage

    try:
        image.load()
        turn = UPRIGHT.get(orientation(image))  # read after loading: Pillow turns TIFF pages itself
        if image.mode == "PA" or image.mode == "P" and "transparency" in image.info:
            image = image.convert("RGBA")
        if image.mode in ("RGBA", "LA"):
            image = _flattened(image, shrink_factor(image))
        elif image.mode in ("I;16", "I;16B", "I;16L"):  # 16-bit grey: scaled to 8 bits, not clipped
            image = image.convert("I").point(lambda value: value / 256).convert("L")
        elif image.mode not in ("RGB", "L") and not (keep_bilevel and image.mode == "1"):
            image = image.convert("L" if image.mode in ("1", "I", "F") else "RGB")
        if turn is not None:
            if image.mode in ("RGB", "L") and shrink_factor(image) > 1:
                image = image.reduce(shrink_factor(image))  # the turned copy at half size
            image = image.transpose(getattr(PILImage.Transpose, turn))
        return image
    except ConversionFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - damaged pixel data
        raise ConversionFailed(DAMAGED_IMAGE) from exc


def _flattened(image: Image, factor: int) -> Image:
    """A transparent picture on white, each side divided by ``factor``, made a band at a time: the
    picture is its own mask (no copy of its alpha channel), colours hidden under transparency never
    bleed into the result, and only the result and one band are held beside the picture."""
    from PIL import Image as PILImage

    grey = image.mode == "LA"
    mode, white = ("L", 255) if grey else ("RGB", (255, 255, 255))
    width, height = image.size
    result = PILImage.new(mode, (math.ceil(width / factor), math.ceil(height / factor)), white)
    rows = FLATTEN_ROWS * factor
    for top in range(0, height, rows):
        piece = image.crop((0, top, width, min(height, top + rows)))
        flat = PILImage.new(mode, piece.size, white)
        flat.paste(piece, mask=piece)
        result.paste(flat.reduce(factor) if factor > 1 else flat, (0, top // factor))
    return result


def jpeg(image: Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def image_to_jpeg(data: bytes) -> bytes:
    return jpeg(upright_on_white(open_image(data)))


def upright_jpeg(data: bytes) -> bytes:
    """A JPEG turned upright if its EXIF says it was taken rotated; otherwise the same bytes."""
    image = open_image(data, max_pixels=UPLOAD_MAX_PIXELS)
    if orientation(image) == 1:
        _prove_decodes(image)
        return data
    factor = shrink_factor(image)
    if factor > 1:  # the decoder scales by 1/2, 1/4 or 1/8 as it decodes: the full size is never held
        image.draft(image.mode, (math.ceil(image.width / factor), math.ceil(image.height / factor)))
    return jpeg(upright_on_white(image))


def _prove_decodes(image: Image) -> None:
    """Decode every byte of a JPEG at an eighth of its size: a damaged file still fails, at 1/64 of
    the memory (the scaled decoder reads all the compressed data)."""
    try:
        image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
        image.load()
    except Exception as exc:  # noqa: BLE001 - damaged pixel data
        raise ConversionFailed(DAMAGED_IMAGE) from exc
