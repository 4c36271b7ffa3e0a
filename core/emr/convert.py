"""Files as the EMR takes them (EM-3): Accuro accepts pdf, jpg and jpeg only.

For Accuro: txt → PDF holding the text, png and bmp → jpg (transparency flattened on white),
tiff (every page) → PDF, EXIF orientation applied to photos; mov, mp4, avi, mp3 cannot be
converted (``prepare`` returns ``None``: the importer writes a note instead). Other profiles take
every type as sent. For every profile a PDF must open: a damaged or password-protected PDF fails
with a clear reason, never silently.

Images are opened header first and refused above ``MAX_PIXELS`` before any pixel is decoded,
so a small file claiming 20,000 × 20,000 pixels costs no memory. ``ConversionFailed.reason`` is
a fixed English sentence (translated where it is shown).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import PurePath

from core.emr import N_
from core.emr.textpdf import text_to_pdf

MAX_PIXELS = 24_000_000  # 6000 × 4000: a large phone photo; about 100 MB decoded with transparency
MAX_PAGES = 100
ACCURO_TYPES = ("pdf", "jpg", "jpeg")
UNSUPPORTED_BY_ACCURO = ("mov", "mp4", "avi", "mp3")
JPEG_QUALITY = 90

DAMAGED_IMAGE = N_("The image is damaged or not an image; it cannot be converted.")
TOO_LARGE = N_("The image is too large to convert (more than 24 million pixels).")
DAMAGED_PDF = N_("The PDF is damaged and cannot be read.")
ENCRYPTED_PDF = N_("The PDF is protected by a password; ask the patient for an unprotected copy.")
TOO_MANY_PAGES = N_("The file has too many pages to convert (more than 100).")


class ConversionFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PreparedFile:
    name: str
    extension: str
    data: bytes
    converted_from: str | None = None


def prepare(profile: str, display_name: str, extension: str, data: bytes) -> PreparedFile | None:
    """The file to import for ``profile``, converted if needed; ``None`` if the EMR cannot take it."""
    extension = extension.lower()
    if extension == "pdf":
        check_pdf(data)
    if profile != "accuro" or extension in ("pdf", "jpg", "jpeg"):
        if profile == "accuro" and extension != "pdf":  # a photo taken sideways is stored upright
            data = upright_jpeg(data)
        return PreparedFile(display_name, extension, data)
    stem = PurePath(display_name).stem or "file"
    if extension == "txt":
        return PreparedFile(f"{stem}.pdf", "pdf", text_to_pdf(decode_text(data), title=display_name), "txt")
    if extension in ("png", "bmp"):
        return PreparedFile(f"{stem}.jpg", "jpg", image_to_jpeg(data), extension)
    if extension in ("tif", "tiff"):
        return PreparedFile(f"{stem}.pdf", "pdf", tiff_to_pdf(data), extension)
    return None


def decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:  # an old Windows editor's file
        return data.decode("cp1252", errors="replace")


def check_pdf(data: bytes) -> int:
    """The page count of a PDF that opens, else ConversionFailed (damaged, encrypted).

    Not strict: scanners often write slightly wrong cross-reference offsets, which pypdf repairs;
    the file must still have pages whose contents decode (pypdf caps what a stream may inflate to).
    """
    from pypdf import PdfReader

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                raise ConversionFailed(ENCRYPTED_PDF)
            pages = len(reader.pages)
            for page in reader.pages[:MAX_PAGES]:
                page.get_contents()
    except ConversionFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on a damaged file
        raise ConversionFailed(DAMAGED_PDF) from exc
    if pages == 0:
        raise ConversionFailed(DAMAGED_PDF)
    return pages


def _open_image(data: bytes):  # type: ignore[no-untyped-def]  # -> PIL.Image.Image
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # reads the header only
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ConversionFailed(TOO_LARGE) from exc
    except Exception as exc:  # noqa: BLE001 - UnidentifiedImageError, truncated headers, …
        raise ConversionFailed(DAMAGED_IMAGE) from exc
    _check_size(image)
    return image


def _check_size(image) -> None:  # type: ignore[no-untyped-def]
    if image.width * image.height > MAX_PIXELS:
        raise ConversionFailed(TOO_LARGE)


def _decoded(image):  # type: ignore[no-untyped-def]
    """The frame's pixels, upright (EXIF orientation), on white if transparent, as RGB or grey."""
    from PIL import Image, ImageOps

    try:
        image.load()
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            return flat
        if image.mode in ("RGB", "L"):  # grey scans stay grey: a third of the memory and time
            return image
        return image.convert("L" if image.mode in ("1", "I;16", "I", "F") else "RGB")
    except ConversionFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - damaged pixel data
        raise ConversionFailed(DAMAGED_IMAGE) from exc


def _jpeg(image) -> bytes:  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def image_to_jpeg(data: bytes) -> bytes:
    return _jpeg(_decoded(_open_image(data)))


def upright_jpeg(data: bytes) -> bytes:
    """A JPEG turned upright if its EXIF says it was taken rotated; otherwise the same bytes."""
    image = _open_image(data)
    try:
        orientation = image.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a damaged EXIF block: keep the file, it still opens
        orientation = 1
    if orientation in (None, 1):
        _decoded(image)  # still proves the pixels decode
        return data
    return _jpeg(_decoded(image))


def tiff_to_pdf(data: bytes) -> bytes:
    """Every page of a (multi-page) TIFF as one PDF page each, one decoded page in memory at a time."""
    from PIL import ImageSequence
    from pypdf import PdfReader, PdfWriter

    image = _open_image(data)
    writer = PdfWriter()
    try:
        for number, frame in enumerate(ImageSequence.Iterator(image)):
            if number >= MAX_PAGES:
                raise ConversionFailed(TOO_MANY_PAGES)
            _check_size(frame)
            dpi = frame.info.get("dpi", (100, 100))[0] or 100
            page = _decoded(frame.copy())
            single = io.BytesIO()
            page.save(single, "PDF", resolution=float(dpi))
            del page
            writer.add_page(PdfReader(single).pages[0])
    except ConversionFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged page
        raise ConversionFailed(DAMAGED_IMAGE) from exc
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
