"""Files a patient sends with a reply (PO-3, MS-8): limits while the upload streams, then a deep check.

``UploadBudget`` is fed each chunk as it arrives, so a file over 10 MB (or a message over 50 MB
with what the patient already sent) is refused at the first byte too many, before the rest is
read. ``inspect`` then checks the finished file: extension and content must agree
(``core.messaging.attachments``), images are opened by Pillow with a pixel limit that raises
(a decompression bomb is refused from its header, before any pixel is decoded), PDFs are parsed
by pypdf in strict mode with every page's content decoded under lowered output limits, and
encrypted PDFs are refused, and a text file holding a NUL byte anywhere is refused (a binary
file renamed ``.txt``). ``server_name`` gives the name the file is stored under: the
patient's own file name is never used for anything but its extension.
"""

from __future__ import annotations

import io
import warnings
from datetime import datetime

from core.messaging.attachments import (
    MAX_FILE_BYTES,
    MAX_MESSAGE_BYTES,
    AttachmentRefused,
    CheckedFile,
    check_file,
    extension_of,
)

MAX_PIXELS = 40_000_000  # 40 megapixels: any phone photo, never a bomb
MAX_PDF_PAGES = 500
MAX_PDF_STREAM_BYTES = 20_000_000  # one page's content, decompressed: a bomb stops here
PILLOW_FORMATS = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "tif": "TIFF", "tiff": "TIFF", "bmp": "BMP"}


class UploadBudget:
    """Counts bytes as they stream; raises ``AttachmentRefused`` at the first byte over a limit."""

    def __init__(self, already_sent: int = 0) -> None:
        self.total = already_sent
        self.current = 0

    def start_file(self) -> None:
        self.current = 0

    def feed(self, size: int) -> None:
        self.current += size
        self.total += size
        if self.current > MAX_FILE_BYTES:
            raise AttachmentRefused("A file is larger than 10 MB.")
        if self.total > MAX_MESSAGE_BYTES:
            raise AttachmentRefused("The files of one message may not add up to more than 50 MB.")


def server_name(extension: str, number: int, now: datetime) -> str:
    return f"reply-{now:%Y%m%d-%H%M%S}-{number}.{extension}"


def _check_image(data: bytes, pillow_format: str) -> None:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Only the decoder the extension names: Pillow never guesses (a FITS, PSD or other
            # exotic image dressed as a .png is refused, not decoded).
            with Image.open(io.BytesIO(data), formats=[pillow_format]) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise AttachmentRefused("The image is too large (too many pixels).")
                image.verify()
    except AttachmentRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise AttachmentRefused("The image is too large (too many pixels).") from None
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for a damaged file
        raise AttachmentRefused("The image cannot be read: it may be damaged.") from None


def _check_pdf(data: bytes) -> None:
    from pypdf import PdfReader, apply_configuration

    limits = {name: MAX_PDF_STREAM_BYTES for name in (
        "zlib_maximum_output_length", "lzw_maximum_output_length", "run_length_maximum_output_length",
        "jbig2_maximum_output_length", "brotli_maximum_output_length", "maximum_declared_stream_length",
        "array_based_stream_maximum_output_length", "image_maximum_buffer_size")}
    try:
        with warnings.catch_warnings(), apply_configuration(**limits):  # per thread (a context variable)
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=True)
            if reader.is_encrypted:
                raise AttachmentRefused("Password-protected PDF files cannot be accepted.")
            if len(reader.pages) > MAX_PDF_PAGES:
                raise AttachmentRefused("The PDF has too many pages.")
            for page in reader.pages:
                contents = page.get_contents()
                if contents is not None:
                    contents.get_data()
    except AttachmentRefused:
        raise
    except Exception:  # noqa: BLE001 - pypdf's errors (damaged, truncated, limit reached) all mean: refused
        raise AttachmentRefused("The PDF cannot be read: it may be damaged or incomplete.") from None


def inspect(name: str, data: bytes) -> CheckedFile:
    """The MS-8 checks and the deep ones; raises ``AttachmentRefused`` with the reason."""
    checked = check_file(name, data)
    extension = extension_of(checked.display_name)
    if extension in PILLOW_FORMATS:
        _check_image(data, PILLOW_FORMATS[extension])
    elif extension == "pdf":
        _check_pdf(data)
    elif extension == "txt" and b"\x00" in data:  # text has no NUL byte: a binary file (a FITS image...) renamed
        raise AttachmentRefused("The content of the file is not text.")
    return checked


__all__ = ["MAX_PIXELS", "UploadBudget", "inspect", "server_name"]
