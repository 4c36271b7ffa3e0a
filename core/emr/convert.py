"""Files as the EMR takes them (EM-3): Accuro accepts pdf, jpg and jpeg only.

For Accuro: txt → PDF holding the text (``textpdf``), png and bmp → jpg (transparency flattened on
white) and photos turned upright per their EXIF orientation (``images``), tiff (every page) → PDF
(``tiffpdf``); mov, mp4, avi, mp3 cannot be converted (``prepare`` returns ``None``: the importer
writes a note instead). Other profiles take every type as sent. For every profile a PDF must open:
a damaged or password-protected PDF fails with a clear reason, never silently.
``ConversionFailed.reason`` is a fixed English sentence (translated where it is shown).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import PurePath

from core.emr import N_
from core.emr.images import (
    DAMAGED_IMAGE,
    MAX_PAGES,
    MAX_PIXELS,
    TOO_LARGE,
    TOO_MANY_PAGES,
    ConversionFailed,
    image_to_jpeg,
    upright_jpeg,
)
from core.emr.textpdf import text_to_pdf
from core.emr.tiffpdf import tiff_to_pdf

__all__ = ["ACCURO_TYPES", "DAMAGED_IMAGE", "DAMAGED_PDF", "ENCRYPTED_PDF", "MAX_PIXELS", "TOO_LARGE",
           "TOO_MANY_PAGES", "UNSUPPORTED_BY_ACCURO", "ConversionFailed", "PreparedFile", "check_pdf", "prepare"]

ACCURO_TYPES = ("pdf", "jpg", "jpeg")
UNSUPPORTED_BY_ACCURO = ("mov", "mp4", "avi", "mp3")

DAMAGED_PDF = N_("The PDF is damaged and cannot be read.")
ENCRYPTED_PDF = N_("The PDF is protected by a password; ask the patient for an unprotected copy.")


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
