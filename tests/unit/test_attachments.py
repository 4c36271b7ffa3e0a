"""MS-8: types, sizes and content that matches the extension."""

from __future__ import annotations

import pytest

from core.messaging.attachments import (
    MAX_FILE_BYTES,
    AttachmentRefused,
    check_file,
    check_files,
)

SAMPLES = {
    "photo.jpg": b"\xff\xd8\xff\xe0" + b"\x00" * 60,
    "scan.PNG": b"\x89PNG\r\n\x1a\n" + b"\x00" * 60,
    "page.tif": b"II*\x00" + b"\x00" * 60,
    "old.bmp": b"BM" + b"\x00" * 60,
    "result.pdf": b"%PDF-1.7\n" + b"\x00" * 60,
    "voice.mp3": b"ID3\x04" + b"\x00" * 60,
    "clip.mp4": b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 60,
    "clip.mov": b"\x00\x00\x00\x14ftypqt  " + b"\x00" * 60,
    "clip.avi": b"RIFF\x00\x00\x00\x00AVI LIST" + b"\x00" * 60,
    "note.txt": "Réponse : j'ai pris mes médicaments.".encode(),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_accepted_type_passes(name: str) -> None:
    checked = check_file(name, SAMPLES[name])
    assert checked.extension == name.rsplit(".", 1)[1].lower()


@pytest.mark.parametrize(
    ("name", "data", "fragment"),
    [
        ("archive.zip", b"PK\x03\x04", "not an accepted type"),
        ("renamed.pdf", b"PK\x03\x04" + b"\x00" * 60, "not a pdf file"),
        ("fake.jpg", b"%PDF-1.4", "not a jpg file"),
        ("binary.txt", b"MZ\x90\x00", "not a txt file"),
        ("big.pdf", b"%PDF-" + b"\x00" * MAX_FILE_BYTES, "larger than 10 MB"),
        ("noext", b"hello", "not an accepted type"),
    ],
)
def test_refusals_name_the_file_and_reason(name: str, data: bytes, fragment: str) -> None:
    with pytest.raises(AttachmentRefused, match=fragment):
        check_file(name, data)


def test_a_path_never_survives_as_the_name() -> None:
    assert check_file("../../etc/note.txt", b"ok").display_name == "note.txt"
    assert check_file("C:\\Users\\x\\note.txt", b"ok").display_name == "note.txt"


def test_fifty_megabytes_per_message() -> None:
    chunk = b"%PDF-" + b"\x00" * (MAX_FILE_BYTES - 10)
    assert len(check_files([(f"f{n}.pdf", chunk) for n in range(5)])) == 5
    with pytest.raises(AttachmentRefused, match="50 MB"):
        check_files([(f"f{n}.pdf", chunk) for n in range(6)])
