"""A minimal PDF file written object by object (for ``textpdf`` and ``tiffpdf``), no library needed.

Each object goes into the output as soon as it is added, so a page's image is held once, not
once in a list and again in the file; objects whose body is known only at the end (the page tree
with its list of pages) are reserved first and written last. The cross-reference table records
every object's offset, so readers in strict mode accept the file.
"""

from __future__ import annotations

HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"


class PdfFile:
    def __init__(self) -> None:
        self._out = bytearray(HEADER)
        self._offsets: list[int | None] = []  # object n's offset is _offsets[n - 1]

    def reserve(self) -> int:
        """A number for an object written later with ``write``."""
        self._offsets.append(None)
        return len(self._offsets)

    def add(self, body: bytes) -> int:
        return self.write(self.reserve(), body)

    def add_stream(self, dictionary: bytes, data: bytes | memoryview) -> int:
        """A stream object; ``dictionary`` is the inside of its ``<< >>`` without the length."""
        number = self.reserve()
        self._offsets[number - 1] = len(self._out)
        self._out += f"{number} 0 obj\n<< ".encode("ascii") + dictionary
        self._out += f" /Length {len(data)} >>\nstream\n".encode("ascii")
        self._out += data
        self._out += b"\nendstream\nendobj\n"
        return number

    def write(self, number: int, body: bytes) -> int:
        self._offsets[number - 1] = len(self._out)
        self._out += f"{number} 0 obj\n".encode("ascii") + body + b"\nendobj\n"
        return number

    def finish(self, root: int, info: int | None = None) -> bytes:
        if None in self._offsets:
            raise ValueError("an object was reserved but never written")
        size = len(self._offsets) + 1
        xref = len(self._out)
        self._out += f"xref\n0 {size}\n0000000000 65535 f \n".encode("ascii")
        self._out += b"".join(f"{offset:010d} 00000 n \n".encode("ascii") for offset in self._offsets)
        trailer = f"trailer\n<< /Size {size} /Root {root} 0 R"
        if info is not None:
            trailer += f" /Info {info} 0 R"
        self._out += f"{trailer} >>\nstartxref\n{xref}\n%%EOF\n".encode("ascii")
        out, self._out = self._out, bytearray()
        return bytes(out)


def page_tree(kids: list[int]) -> bytes:
    references = " ".join(f"{kid} 0 R" for kid in kids)
    return f"<< /Type /Pages /Kids [{references}] /Count {len(kids)} >>".encode("ascii")
