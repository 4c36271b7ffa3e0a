"""EM-3 conversions on real files made by the tests: what Accuro takes, what it gets instead."""

from __future__ import annotations

import io
import resource

import pytest
from PIL import Image
from pypdf import PdfReader

from core.emr.convert import (
    DAMAGED_IMAGE,
    DAMAGED_PDF,
    ENCRYPTED_PDF,
    TOO_LARGE,
    ConversionFailed,
    check_pdf,
    prepare,
)
from core.emr.textpdf import CHARS_PER_LINE, text_to_pdf, wrap
from tests import emr_files


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data), strict=True)
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_french_text_becomes_a_pdf_whose_text_reads_back_over_several_pages() -> None:
    prepared = prepare("accuro", "note de Anaïs.txt", "txt", emr_files.FRENCH_TEXT.encode("utf-8"))
    assert prepared is not None and prepared.name == "note de Anaïs.pdf" and prepared.converted_from == "txt"
    pages, text = pdf_text(prepared.data)
    assert pages == 3
    assert text == emr_files.FRENCH_TEXT


def test_long_lines_wrap_at_spaces_and_nothing_is_lost() -> None:
    line = " ".join(["hôpital"] * 40)
    wrapped = wrap(line)
    assert len(wrapped) > 1 and all(len(part) <= CHARS_PER_LINE for part in wrapped)
    assert " ".join(wrapped) == line
    _pages, text = pdf_text(text_to_pdf(line))
    assert " ".join(text.split("\n")) == line


def test_a_text_file_from_an_old_windows_editor_still_converts() -> None:
    prepared = prepare("accuro", "vieux.txt", "txt", "Fièvre à 39 °C".encode("cp1252"))
    assert prepared is not None
    assert pdf_text(prepared.data)[1] == "Fièvre à 39 °C"


def test_png_with_transparency_becomes_a_jpeg_on_white() -> None:
    prepared = prepare("accuro", "photo.png", "png", emr_files.png_with_alpha())
    assert prepared is not None and prepared.extension == "jpg" and prepared.name == "photo.jpg"
    image = Image.open(io.BytesIO(prepared.data))
    assert image.format == "JPEG" and image.size == (64, 48)
    right = image.getpixel((60, 20))
    left = image.getpixel((5, 20))
    assert all(channel > 240 for channel in right)  # transparent → white, not black or red
    assert left[1] > 90 and left[0] < 60


def test_bmp_becomes_a_jpeg() -> None:
    prepared = prepare("accuro", "scan.bmp", "bmp", emr_files.bmp())
    assert prepared is not None and prepared.extension == "jpg"
    assert Image.open(io.BytesIO(prepared.data)).format == "JPEG"


def test_a_multipage_tiff_becomes_one_pdf_page_per_page() -> None:
    prepared = prepare("accuro", "requisition.tiff", "tiff", emr_files.multipage_tiff(3))
    assert prepared is not None and prepared.name == "requisition.pdf"
    assert pdf_text(prepared.data)[0] == 3


def test_a_sideways_photo_is_stored_upright() -> None:
    prepared = prepare("accuro", "genou.jpg", "jpg", emr_files.rotated_jpeg())
    assert prepared is not None
    image = Image.open(io.BytesIO(prepared.data))
    assert image.size == (40, 80)
    assert image.getexif().get(0x0112, 1) == 1


def test_an_upright_jpeg_is_kept_byte_for_byte() -> None:
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (1, 2, 3)).save(out, "JPEG")
    prepared = prepare("accuro", "ok.jpeg", "jpeg", out.getvalue())
    assert prepared is not None and prepared.data == out.getvalue()


@pytest.mark.parametrize("extension", ["mov", "mp4", "avi", "mp3"])
def test_video_and_sound_cannot_be_converted_for_accuro(extension: str) -> None:
    assert prepare("accuro", f"clip.{extension}", extension, emr_files.mov_header()) is None


def test_other_profiles_take_files_as_sent() -> None:
    png = emr_files.png_with_alpha()
    for profile in ("generic", "oscar_pro"):
        prepared = prepare(profile, "photo.png", "png", png)
        assert prepared is not None and prepared.data == png and prepared.converted_from is None


@pytest.mark.parametrize("profile", ["accuro", "oscar_pro", "generic"])
def test_damaged_and_protected_pdfs_fail_with_a_reason(profile: str) -> None:
    with pytest.raises(ConversionFailed) as damaged:
        prepare(profile, "resultats.pdf", "pdf", emr_files.corrupt_pdf())
    assert damaged.value.reason == DAMAGED_PDF
    with pytest.raises(ConversionFailed) as protected:
        prepare(profile, "resultats.pdf", "pdf", emr_files.encrypted_pdf())
    assert protected.value.reason == ENCRYPTED_PDF
    assert prepare(profile, "resultats.pdf", "pdf", emr_files.simple_pdf()) is not None


def test_a_scanner_pdf_with_shifted_xref_offsets_is_accepted() -> None:
    made = text_to_pdf("Résultats de Zoé L'Écuyer-Noël", title="resultats.txt")
    header_end = made.index(b"\n") + 1
    shifted = made[:header_end] + b"%scanner firmware 2.1 padding\n" + made[header_end:]  # every offset off by 31
    prepared = prepare("accuro", "resultats.pdf", "pdf", shifted)
    assert prepared is not None and prepared.data == shifted  # taken as the scanner wrote it
    assert check_pdf(shifted) == 1


def test_a_png_claiming_20000_by_20000_pixels_fails_cleanly_without_the_memory() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ConversionFailed) as failure:
        prepare("accuro", "bombe.png", "png", emr_files.png_claiming())
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert failure.value.reason == TOO_LARGE
    assert grown_kib < 200 * 1024  # decoding it would take 1.6 GB


def test_a_png_just_over_the_pixel_limit_is_refused_before_decoding() -> None:
    with pytest.raises(ConversionFailed) as failure:
        prepare("accuro", "grand.png", "png", emr_files.png_claiming(6001, 4000))
    assert failure.value.reason == TOO_LARGE


def test_a_damaged_image_fails_with_a_reason() -> None:
    with pytest.raises(ConversionFailed):
        prepare("accuro", "photo.png", "png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)


def test_a_sideways_png_with_transparency_is_turned_upright_and_flattened_on_white() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    Image.open(io.BytesIO(emr_files.png_with_alpha(80, 40))).save(out, "PNG", exif=exif)
    prepared = prepare("accuro", "photo.png", "png", out.getvalue())
    assert prepared is not None
    image = Image.open(io.BytesIO(prepared.data))
    assert image.size == (40, 80)
    top, bottom = image.getpixel((20, 10)), image.getpixel((20, 70))
    assert top[1] > 90 and top[0] < 60  # the opaque green half, turned to the top
    assert all(channel > 240 for channel in bottom)


@pytest.mark.parametrize("orientation", [1, 6])
def test_a_cut_off_jpeg_fails_with_a_reason(orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    Image.effect_noise((400, 300), 40).convert("RGB").save(out, "JPEG", exif=exif)
    with pytest.raises(ConversionFailed) as failure:
        prepare("accuro", "genou.jpg", "jpg", out.getvalue()[:len(out.getvalue()) // 2])
    assert failure.value.reason == DAMAGED_IMAGE


def grey_jpeg(size: tuple[int, int], orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    image = Image.new("L", size, 200)
    image.paste(30, (0, 0, size[0] // 2, size[1] // 3))  # a dark block at the top left
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=80)
    return out.getvalue()


def test_an_upright_jpeg_of_up_to_40_megapixels_is_kept_as_sent() -> None:
    photo = grey_jpeg((6100, 4100))  # 25 megapixels: over the decoding limit, under the portal's
    prepared = prepare("accuro", "photo.jpg", "jpg", photo)
    assert prepared is not None and prepared.data == photo
    with pytest.raises(ConversionFailed) as failure:
        prepare("accuro", "photo.jpg", "jpg", grey_jpeg((7000, 6000)))  # 42 megapixels
    assert failure.value.reason == TOO_LARGE


def test_a_large_sideways_jpeg_is_turned_at_half_size() -> None:
    prepared = prepare("accuro", "photo.jpg", "jpg", grey_jpeg((5200, 3900), orientation=6))
    assert prepared is not None
    image = Image.open(io.BytesIO(prepared.data))
    assert image.size == (1950, 2600) and image.getexif().get(0x0112, 1) == 1
    assert image.getpixel((1900, 100)) < 60 and image.getpixel((100, 100)) > 180  # the block turned to the top right


def test_a_large_transparent_png_is_flattened_at_half_size() -> None:
    image = Image.new("P", (5000, 3000), 1)
    image.putpalette([0, 0, 0, 20, 140, 60] + [0] * 762)
    image.paste(0, (2500, 0, 5000, 3000))  # the right half is colour 0, transparent
    out = io.BytesIO()
    image.save(out, "PNG", transparency=0)
    prepared = prepare("accuro", "plan.png", "png", out.getvalue())
    assert prepared is not None
    result = Image.open(io.BytesIO(prepared.data))
    assert result.size == (2500, 1500)
    assert all(channel > 240 for channel in result.getpixel((2000, 700)))  # transparent → white
    left = result.getpixel((500, 700))
    assert left[1] > 110 and left[0] < 50
