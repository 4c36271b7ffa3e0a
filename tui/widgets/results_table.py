"""``ResultsTable``: a DataTable whose rows cost about half the bytes on a slow line (TU-5).

Textual's DataTable draws each cell as its own segment whose style carries the cell's
coordinates (for mouse clicks), so every cell of a row repeats the same colour escape codes:
a 20-row results page cost some 5 KB. Here the cells of a line that look the same are joined
into one segment before the line is drawn, keeping the coordinates of the line's first cell:
a click still picks the row (the tables here are row-cursor tables), and a page costs under 3 KB.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import DataTable


def joined(strip: Strip) -> Strip:
    """``strip`` with neighbouring segments of the same look (meta aside) made one."""
    segments: list[Segment] = []
    looks: list[object] = []
    for segment in strip:
        look = segment.style.clear_meta_and_links() if segment.style is not None else None
        if segments and look == looks[-1] and not segment.control and not segments[-1].control:
            last = segments[-1]
            segments[-1] = Segment(last.text + segment.text, last.style)
        else:
            segments.append(segment)
            looks.append(look)
    return Strip(segments, strip.cell_length)


class ResultsTable(DataTable[str]):
    def render_line(self, y: int) -> Strip:
        return joined(super().render_line(y))


__all__ = ["ResultsTable", "joined"]
