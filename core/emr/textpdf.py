"""A plain-text file as a real PDF (EM-3: Accuro takes pdf, jpg and jpeg only).

Written by hand, no font to download: the standard Courier font with WinAnsiEncoding, which
covers French (é, è, ç, à, œ, «, », ’ …), so text extraction gives the input back. A character
outside that encoding becomes "?". Lines are wrapped at the page width (Courier is monospaced:
every character is 0.6 em) and pages follow one another as long as there is text.
"""

from __future__ import annotations

import zlib

from core.emr.pdfwrite import PdfFile, page_tree

PAGE_WIDTH, PAGE_HEIGHT = 612, 792  # US Letter, points
MARGIN = 54
FONT_SIZE = 10
LEADING = 12
CHARS_PER_LINE = int((PAGE_WIDTH - 2 * MARGIN) / (FONT_SIZE * 0.6))
LINES_PER_PAGE = int((PAGE_HEIGHT - 2 * MARGIN) / LEADING)
TAB = "    "


def wrap(text: str, width: int = CHARS_PER_LINE) -> list[str]:
    """The text's lines, each at most ``width`` characters, broken at a space when there is one."""
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = "".join(ch for ch in raw.replace("\t", TAB) if ch.isprintable()).rstrip()
        while len(line) > width:
            cut = line.rfind(" ", 1, width + 1)
            if cut <= 0:
                cut = width
            lines.append(line[:cut].rstrip())
            line = line[cut:].lstrip(" ")
        lines.append(line)
    while len(lines) > 1 and not lines[-1]:
        lines.pop()
    return lines


def _encode(line: str) -> bytes:
    return b"<" + line.encode("cp1252", errors="replace").hex().encode("ascii") + b">"


def _page_stream(lines: list[str]) -> bytes:
    top = PAGE_HEIGHT - MARGIN - FONT_SIZE
    parts = [f"BT /F1 {FONT_SIZE} Tf {LEADING} TL {MARGIN} {top} Td".encode("ascii")]
    for index, line in enumerate(lines):
        if index:
            parts.append(b"T*")
        if line:
            parts.append(_encode(line) + b" Tj")
    parts.append(b"ET")
    return b"\n".join(parts)


def text_to_pdf(text: str, *, title: str = "") -> bytes:
    """A PDF holding ``text`` over as many pages as it needs (one empty page for an empty text)."""
    lines = wrap(text)
    pages = [lines[i:i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]
    pdf = PdfFile()
    catalog, tree = pdf.reserve(), pdf.reserve()
    font = pdf.add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>")
    info = pdf.add(b"<< /Producer (Accueil) /Title " + _encode(title) + b" >>")
    kids = []
    for page_lines in pages:
        contents = pdf.add_stream(b"/Filter /FlateDecode", zlib.compress(_page_stream(page_lines)))
        kids.append(pdf.add(f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
                            f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {contents} 0 R >>"
                            .encode("ascii")))
    pdf.write(catalog, f"<< /Type /Catalog /Pages {tree} 0 R >>".encode("ascii"))
    pdf.write(tree, page_tree(kids))
    return pdf.finish(catalog, info)
