"""``DailyChart``: a report's count per day as a bar chart a few lines high, one colour.

Bars are drawn with the eight block heights (▁ … █) stacked over the widget's height, all in
the one theme colour: what carries the figure is the bar's height, never a colour gradient, so
the chart reads the same in 16 colours, in a low-colour theme and in a screen reader's text
dump. The colour is the theme's accent, not its primary: the low-colour theme's primary is
ANSI blue, which on a black background is barely visible (1.3:1); its accent is ANSI yellow. When there are more days than columns, neighbouring days are summed into one column; when
there are fewer, each day gets several columns with a one-column gap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from textual.app import RenderResult
from textual.content import Content
from textual.widget import Widget

BLOCKS = " ▁▂▃▄▅▆▇█"


def columns_for(counts: Sequence[int], width: int) -> list[int]:
    """One value per column: days summed into ``width`` buckets, or each day repeated to fill."""
    if not counts or width <= 0:
        return []
    days = len(counts)
    if days > width:
        buckets = [0] * width
        for index, value in enumerate(counts):
            buckets[index * width // days] += value
        return buckets
    per_day = width // days
    bar = per_day - 1 if per_day >= 3 else per_day  # a gap between wide bars
    values: list[int] = []
    for value in counts:
        values += [value] * bar + [-1] * (per_day - bar)  # -1: a gap column
    return values


def chart_lines(counts: Sequence[int], width: int, height: int) -> list[str]:
    values = columns_for(counts, width)
    peak = max(values, default=0)
    levels = height * 8
    lines = []
    for row in range(height):
        floor = (height - 1 - row) * 8
        cells = []
        for value in values:
            level = 0 if value <= 0 or peak <= 0 else max(1, math.ceil(value / peak * levels))
            cells.append(BLOCKS[min(8, max(0, level - floor))])
        lines.append("".join(cells).ljust(width))
    return lines


class DailyChart(Widget):
    DEFAULT_CSS = """
    DailyChart { height: 3; color: $accent; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's own name
        super().__init__(id=id)
        self._counts: tuple[int, ...] = ()

    def show(self, counts: Sequence[int]) -> None:
        if tuple(counts) != self._counts:  # an unchanged chart is not sent again
            self._counts = tuple(counts)
            self.refresh()

    def render(self) -> RenderResult:
        return Content("\n".join(chart_lines(self._counts, self.size.width, self.size.height)))


__all__ = ["DailyChart", "chart_lines", "columns_for"]
