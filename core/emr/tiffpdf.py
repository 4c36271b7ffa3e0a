"""A (multi-page) TIFF as a PDF with one page per TIFF page (EM-3: Accuro takes pdf, jpg and jpeg).

Pages are handled one at a time: the TIFF reader decodes each page into the same buffer and the
page's compressed image goes straight into the PDF being written, so memory holds the file, one
decoded page and the PDF so far. A page already stored in a form PDF can show as is (a single
strip of CCITT Group 4 fax data, or of LZW or Deflate 8-bit grey or RGB data, upright, no alpha;
not LZW with a predictor, which some readers, pypdf among them, decode wrongly)
is copied into the PDF byte for byte: no quality lost and no re-encoding. It is still checked
(Deflate data inflated with its checksum, other data decoded once), so a damaged page fails here
with a clear reason instead of reaching the chart. Other pages
are turned upright, flattened on white and stored as JPEG (grey or colour) or, for black and white
pages, as lossless Flate data at one bit per pixel.

Each page is the TIFF page's size at its resolution (different across and down for fax pages).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.emr.images import (
    DAMAGED_IMAGE,
    MAX_PAGES,
    TOO_MANY_PAGES,
    ConversionFailed,
    check_size,
    jpeg,
    open_image,
    orientation,
    upright_on_white,
)
from core.emr.pdfwrite import PdfFile, page_tree

if TYPE_CHECKING:
    from PIL.Image import Image

DEFAULT_DPI = 100.0
MIN_DPI = 50  # below, the resolution is a placeholder (Pillow reads 1 dpi when a TIFF has none)
MAX_PAGE_INCHES = 200  # a PDF page is at most 14,400 points across

# TIFF tags
COMPRESSION, PHOTOMETRIC, FILL_ORDER, STRIP_OFFSETS = 259, 262, 266, 273
SAMPLES_PER_PIXEL, ROWS_PER_STRIP, STRIP_BYTE_COUNTS, PLANAR_CONFIG = 277, 278, 279, 284
T6_OPTIONS, PREDICTOR, TILE_WIDTH, EXTRA_SAMPLES, BITS_PER_SAMPLE = 293, 317, 322, 338, 258
GROUP4, LZW, DEFLATE, ADOBE_DEFLATE = 4, 5, 8, 32946
MIN_IS_WHITE, MIN_IS_BLACK, RGB = 0, 1, 2


@dataclass(frozen=True)
class PageImage:
    """A page's image as the PDF stores it: its dictionary entries (without the length) and data."""

    width: int
    height: int
    entries: str
    data: bytes | memoryview


def tiff_to_pdf(data: bytes) -> bytes:
    image = open_image(data)
    try:
        if getattr(image, "n_frames", 1) > MAX_PAGES:
            raise ConversionFailed(TOO_MANY_PAGES)
        pdf = PdfFile()
        catalog, tree = pdf.reserve(), pdf.reserve()
        kids = []
        for number in range(getattr(image, "n_frames", 1)):
            image.seek(number)
            check_size(image)
            kids.append(_add_page(pdf, tree, image, data))
        pdf.write(catalog, f"<< /Type /Catalog /Pages {tree} 0 R >>".encode("ascii"))
        pdf.write(tree, page_tree(kids))
        info = pdf.add(b"<< /Producer (Accueil) >>")
        return pdf.finish(catalog, info)
    except ConversionFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged page or page directory
        raise ConversionFailed(DAMAGED_IMAGE) from exc
    finally:
        image.close()


def _add_page(pdf: PdfFile, tree: int, frame: Image, data: bytes) -> int:
    across, down = _resolution(frame)
    stored = stored_as_is(frame, data)
    if stored is not None and "/FlateDecode" in stored.entries:
        _prove_inflates(stored)
    elif stored is not None:
        frame.load()  # proves the page decodes; the decoded pixels are not used
    else:
        if orientation(frame) in (5, 6, 7, 8):  # turned a quarter: the resolutions swap too
            across, down = down, across
        stored = _encoded(upright_on_white(frame, keep_bilevel=True))
    picture = pdf.add_stream(stored.entries.encode("ascii"), stored.data)
    width = stored.width * 72 / max(across, stored.width / MAX_PAGE_INCHES)
    height = stored.height * 72 / max(down, stored.height / MAX_PAGE_INCHES)
    contents = pdf.add_stream(b"", f"q {width:.2f} 0 0 {height:.2f} 0 0 cm /P Do Q".encode("ascii"))
    return pdf.add(f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 {width:.2f} {height:.2f}] "
                   f"/Resources << /XObject << /P {picture} 0 R >> >> /Contents {contents} 0 R >>".encode("ascii"))


def _prove_inflates(stored: PageImage) -> None:
    """A Deflate strip inflates, checksum included, to exactly the page's bytes (a little at a time)."""
    samples = 3 if "/DeviceRGB" in stored.entries else 1
    expected, inflated = stored.width * stored.height * samples, 0
    inflater = zlib.decompressobj()
    pending = bytes(stored.data)
    while pending and not inflater.eof:
        inflated += len(inflater.decompress(pending, 1 << 20))
        pending = inflater.unconsumed_tail
    inflated += len(inflater.flush())
    if not inflater.eof or inflated != expected:
        raise ConversionFailed(DAMAGED_IMAGE)


def _resolution(frame: Image) -> tuple[float, float]:
    dpi = frame.info.get("dpi") or (DEFAULT_DPI, DEFAULT_DPI)
    try:
        across, down = float(dpi[0]), float(dpi[1])
    except (TypeError, ValueError, IndexError):
        return DEFAULT_DPI, DEFAULT_DPI
    across = across if across >= MIN_DPI else DEFAULT_DPI
    return across, down if down >= MIN_DPI else across


def _image_entries(width: int, height: int, colours: str, bits: int, filters: str) -> str:
    return (f"/Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace {colours} "
            f"/BitsPerComponent {bits} {filters}")


def _encoded(page: Image) -> PageImage:
    width, height = page.size
    if page.mode == "1":  # Pillow's bits are 1 for white, as DeviceGray at one bit per pixel
        return PageImage(width, height, _image_entries(width, height, "/DeviceGray", 1, "/Filter /FlateDecode"),
                         zlib.compress(page.tobytes()))
    colours = "/DeviceGray" if page.mode == "L" else "/DeviceRGB"
    return PageImage(width, height, _image_entries(width, height, colours, 8, "/Filter /DCTDecode"), jpeg(page))


def stored_as_is(frame: Image, data: bytes) -> PageImage | None:
    """The page's compressed data as PDF can show it, if it can: one strip, upright, no alpha."""
    tags = frame.tag_v2  # type: ignore[attr-defined]  # TiffImageFile
    offsets, counts = tags.get(STRIP_OFFSETS), tags.get(STRIP_BYTE_COUNTS)
    if TILE_WIDTH in tags or EXTRA_SAMPLES in tags or not offsets or not counts:
        return None
    if len(offsets) != 1 or len(counts) != 1 or orientation(frame) != 1:
        return None
    if tags.get(FILL_ORDER, 1) != 1 or tags.get(PLANAR_CONFIG, 1) != 1:
        return None
    start, length = int(offsets[0]), int(counts[0])
    if tags.get(ROWS_PER_STRIP, frame.height) < frame.height:
        return None
    if start <= 0 or length <= 0 or start + length > len(data):
        return None
    strip = memoryview(data)[start:start + length]
    width, height = frame.size
    compression, photometric = tags.get(COMPRESSION, 1), tags.get(PHOTOMETRIC)
    bits = tuple(tags.get(BITS_PER_SAMPLE, (1,)))
    if compression == GROUP4 and frame.mode == "1" and photometric in (MIN_IS_WHITE, MIN_IS_BLACK):
        if tags.get(T6_OPTIONS, 0) & 2:  # uncompressed runs allowed: not every PDF reader has them
            return None
        # the fax code's "white" runs are 0 bits; stored min-is-black, 0 is black: say so to the reader
        black_is_1 = " /BlackIs1 true" if photometric == MIN_IS_BLACK else ""
        filters = f"/Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns {width} /Rows {height}{black_is_1} >>"
        return PageImage(width, height, _image_entries(width, height, "/DeviceGray", 1, filters), strip)
    if compression not in (LZW, DEFLATE, ADOBE_DEFLATE) or any(bit != 8 for bit in bits):
        return None
    samples = tags.get(SAMPLES_PER_PIXEL, 1)
    if (samples, photometric) not in ((1, MIN_IS_WHITE), (1, MIN_IS_BLACK), (3, RGB)):
        return None
    if compression == LZW and bytes(strip[:1]) != b"\x80":  # old-style (pre-1991) LZW is not PDF's LZW
        return None
    predictor = tags.get(PREDICTOR, 1)
    if predictor not in (1, 2) or predictor == 2 and compression == LZW:  # pypdf skips LZW's predictor
        return None
    filters = "/Filter /LZWDecode" if compression == LZW else "/Filter /FlateDecode"
    if predictor == 2:  # TIFF's horizontal differencing is PDF's predictor 2
        filters += f" /DecodeParms << /Predictor 2 /Colors {samples} /BitsPerComponent 8 /Columns {width} >>"
    if photometric == MIN_IS_WHITE:
        filters += " /Decode [1 0]"
    colours = "/DeviceRGB" if samples == 3 else "/DeviceGray"
    return PageImage(width, height, _image_entries(width, height, colours, 8, filters), strip)
