"""EM-3 TIFF → PDF for Accuro on real TIFF files made here: every page, the right pixels, the right size.

Each PDF is read back by pypdf in strict mode and its page images decoded and compared with the
pixels Pillow reads from the TIFF: exactly for pages copied as stored or kept lossless, within JPEG
error for pages re-encoded.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageDraw
from pypdf import PdfReader

from core.emr.convert import DAMAGED_IMAGE, TOO_MANY_PAGES, ConversionFailed, prepare
from core.emr.tiffpdf import STRIP_BYTE_COUNTS, STRIP_OFFSETS, stored_as_is

ONE_STRIP = 2**31  # Pillow's strip size: one strip per page, as fax software writes them


def drawn_page(mode: str, size: tuple[int, int] = (300, 200), shade: int = 90) -> Image.Image:
    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    draw.rectangle((20, 30, 120, 90), fill=0)
    draw.ellipse((150, 50, 280, 180), fill=shade)
    draw.text((10, 150), "Anaïs Bélanger", fill=0)
    if mode in ("RGB", "RGBA"):
        page = Image.merge("RGB", (page, page.transpose(Image.Transpose.FLIP_LEFT_RIGHT), Image.new("L", size, 40)))
    return page.convert(mode)


def tiff(pages: list[Image.Image], compression: str, **options: object) -> bytes:
    out = io.BytesIO()
    pages[0].save(out, "TIFF", save_all=True, append_images=pages[1:], compression=compression, **options)
    return out.getvalue()


def pdf_pages(data: bytes) -> list[tuple[Image.Image, tuple[float, float]]]:
    """Each page's image and its size in points, as a strict reader sees them."""
    reader = PdfReader(io.BytesIO(data), strict=True)
    return [(page.images[0].image, (float(page.mediabox.width), float(page.mediabox.height)))
            for page in reader.pages]


def tiff_pixels(data: bytes, index: int) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.seek(index)
    image.load()
    return image.copy()


def converted(data: bytes) -> bytes:
    prepared = prepare("accuro", "scan.tiff", "tiff", data)
    assert prepared is not None and prepared.extension == "pdf" and prepared.name == "scan.pdf"
    return prepared.data


@pytest.mark.parametrize(("mode", "compression", "options"), [
    ("1", "group4", {}),  # fax: Pillow writes min-is-black
    ("1", "group4", {"tiffinfo": {262: 0}}),  # fax: min-is-white, as most scanners write it
    ("L", "tiff_lzw", {}),
    ("L", "tiff_adobe_deflate", {}),
    ("RGB", "tiff_lzw", {}),
    ("RGB", "tiff_deflate", {"tiffinfo": {317: 2}}),  # with TIFF's horizontal predictor
])
def test_a_page_stored_in_one_strip_is_copied_as_is_with_the_same_pixels(mode: str, compression: str,
                                                                        options: dict[str, object]) -> None:
    data = tiff([drawn_page(mode), drawn_page(mode, shade=160)], compression, strip_size=ONE_STRIP,
                dpi=(300, 300), **options)
    first = Image.open(io.BytesIO(data))
    stored = stored_as_is(first, data)
    assert stored is not None
    start, length = first.tag_v2[STRIP_OFFSETS][0], first.tag_v2[STRIP_BYTE_COUNTS][0]
    assert bytes(stored.data) == data[start:start + length]  # byte for byte, not re-encoded
    pdf = converted(data)
    assert bytes(stored.data) in pdf
    pages = pdf_pages(pdf)
    assert len(pages) == 2
    for index, (image, size) in enumerate(pages):
        expected = tiff_pixels(data, index)
        assert ImageChops.difference(image.convert(expected.mode), expected).getbbox() is None
        assert size == (72.0, 48.0)  # 300 × 200 pixels at 300 dpi: an inch by two thirds


def test_pages_in_strips_are_decoded_and_stored_as_jpeg_one_page_per_page() -> None:
    data = tiff([drawn_page("L", shade=shade) for shade in (60, 120, 180)], "tiff_lzw", strip_size=4096,
                dpi=(150, 150))
    assert stored_as_is(Image.open(io.BytesIO(data)), data) is None
    pdf = converted(data)
    assert b"/DCTDecode" in pdf
    pages = pdf_pages(pdf)
    assert len(pages) == 3
    for index, (image, size) in enumerate(pages):
        difference = ImageChops.difference(image.convert("L"), tiff_pixels(data, index))
        assert max(difference.getextrema()) < 48  # JPEG error only, shade by shade
        assert size == (144.0, 96.0)


def test_black_and_white_pages_in_strips_stay_lossless() -> None:
    data = tiff([drawn_page("1"), drawn_page("1", shade=200)], "group4", strip_size=1024, dpi=(204, 196))
    pages = pdf_pages(converted(data))
    assert len(pages) == 2
    for index, (image, size) in enumerate(pages):
        assert ImageChops.difference(image.convert("1"), tiff_pixels(data, index)).getbbox() is None
        assert size == pytest.approx((300 * 72 / 204, 200 * 72 / 196), abs=0.01)  # fax: finer down than across


def test_a_page_stored_sideways_is_turned_upright_with_its_resolutions() -> None:
    page = drawn_page("L")
    data = tiff([page], "tiff_lzw", strip_size=ONE_STRIP, dpi=(200, 100), tiffinfo={274: 6})
    [(image, size)] = pdf_pages(converted(data))
    assert image.size == (200, 300)
    upright = page.transpose(Image.Transpose.ROTATE_270)
    assert max(ImageChops.difference(image.convert("L"), upright).getextrema()) < 48
    assert size == (144.0, 108.0)  # the stored rows (300 px at 200 dpi) now run down: 1.5 in; across 2 in


def test_a_transparent_page_is_flattened_on_white() -> None:
    page = drawn_page("RGBA")
    page.paste((0, 0, 0, 0), (150, 0, 300, 200))  # right half transparent black
    [(image, _size)] = pdf_pages(converted(tiff([page], "tiff_lzw")))
    assert all(channel > 240 for channel in image.convert("RGB").getpixel((250, 20)))
    assert image.convert("RGB").getpixel((60, 60))[0] < 20  # the black square stays black


def test_a_page_without_a_real_resolution_is_sized_at_100_dpi() -> None:
    [(_image, size)] = pdf_pages(converted(tiff([drawn_page("L")], "tiff_lzw")))  # Pillow reads 1 dpi here
    assert size == (216.0, 144.0)


def test_a_16_bit_grey_page_keeps_its_greys() -> None:
    page = Image.new("I;16", (64, 32))
    for x in range(64):
        for y in range(32):
            page.putpixel((x, y), x * 1024)
    [(image, _size)] = pdf_pages(converted(tiff([page], "tiff_adobe_deflate")))
    row = [image.convert("L").getpixel((x, 16)) for x in (0, 32, 63)]
    assert abs(row[0] - 0) < 8 and abs(row[1] - 128) < 8 and abs(row[2] - 252) < 8


@pytest.mark.parametrize("compression", ["tiff_lzw", "tiff_adobe_deflate"])
def test_a_damaged_page_fails_with_a_reason(compression: str) -> None:
    data = bytearray(tiff([drawn_page("L"), drawn_page("L")], compression, strip_size=ONE_STRIP))
    second = Image.open(io.BytesIO(bytes(data)))
    second.seek(1)
    start, length = second.tag_v2[STRIP_OFFSETS][0], second.tag_v2[STRIP_BYTE_COUNTS][0]
    data[start + length // 3:start + length] = bytes(length - length // 3)
    with pytest.raises(ConversionFailed) as failure:
        prepare("accuro", "scan.tiff", "tiff", bytes(data))
    assert failure.value.reason == DAMAGED_IMAGE


def test_a_tiff_with_more_than_100_pages_is_refused() -> None:
    pages = [Image.new("1", (8, 8), 1) for _ in range(101)]
    with pytest.raises(ConversionFailed) as failure:
        prepare("accuro", "scan.tiff", "tiff", tiff(pages, "group4"))
    assert failure.value.reason == TOO_MANY_PAGES
    assert len(pdf_pages(converted(tiff(pages[:100], "group4")))) == 100
