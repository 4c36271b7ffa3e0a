"""MS-8 attachment rules, for files going either way (staff → patient, patient → clinic).

Any number of files; at most 10 MB each and 50 MB for one message; only the listed types, and
the content must be what the extension says (a zip renamed `.pdf` is refused). Deeper checks
of images and PDFs (pixel limits, encryption) belong to the code that opens them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath

from core.errors import InvalidInput

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_MESSAGE_BYTES = 50 * 1024 * 1024
CONTENT_TYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "tiff": "image/tiff", "tif": "image/tiff",
    "bmp": "image/bmp", "mp3": "audio/mpeg", "mp4": "video/mp4", "txt": "text/plain", "pdf": "application/pdf",
    "avi": "video/x-msvideo", "mov": "video/quicktime",
}
ALLOWED_EXTENSIONS = tuple(CONTENT_TYPES)


class AttachmentRefused(InvalidInput):
    title = "File refused"


@dataclass(frozen=True, slots=True)
class CheckedFile:
    display_name: str
    extension: str
    content_type: str
    data: bytes


def extension_of(name: str) -> str:
    return PurePath(name).suffix.lower().lstrip(".")


def sniff_matches(extension: str, head: bytes) -> bool:
    """Does the start of the file look like ``extension``? ``head``: the first 64 bytes or more."""
    if extension in ("jpg", "jpeg"):
        return head.startswith(b"\xff\xd8\xff")
    if extension == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if extension in ("tif", "tiff"):
        return head[:4] in (b"II*\x00", b"MM\x00*")
    if extension == "bmp":
        return head.startswith(b"BM") and len(head) >= 14
    if extension == "pdf":
        return b"%PDF-" in head[:1024]
    if extension == "mp3":
        return head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)
    if extension in ("mp4", "mov"):
        return len(head) >= 12 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")
    if extension == "avi":
        return head.startswith(b"RIFF") and head[8:12] == b"AVI "
    if extension == "txt":
        return b"\x00" not in head and not head.startswith((b"PK\x03\x04", b"%PDF", b"\x7fELF", b"MZ"))
    return False


def check_file(name: str, data: bytes) -> CheckedFile:
    display = PurePath(name.replace("\\", "/")).name.strip() or "file"
    extension = extension_of(display)
    if extension not in CONTENT_TYPES:
        raise AttachmentRefused(
            f"'{display}' is not an accepted type: accepted types are {', '.join(ALLOWED_EXTENSIONS)}.")
    if len(data) > MAX_FILE_BYTES:
        raise AttachmentRefused(f"'{display}' is larger than 10 MB.")
    if extension == "txt":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                data.decode("cp1252")
            except UnicodeDecodeError:
                raise AttachmentRefused(f"The content of '{display}' is not a txt file.") from None
    if not sniff_matches(extension, data[:1024]):
        raise AttachmentRefused(f"The content of '{display}' is not a {extension} file.")
    return CheckedFile(display, extension, CONTENT_TYPES[extension], data)


def check_files(files: Iterable[tuple[str, bytes]]) -> list[CheckedFile]:
    checked = [check_file(name, data) for name, data in files]
    if sum(len(f.data) for f in checked) > MAX_MESSAGE_BYTES:
        raise AttachmentRefused("The files of one message may not add up to more than 50 MB.")
    return checked
