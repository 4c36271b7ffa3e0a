"""Table columns that fill the terminal: fixed-width columns, then one that takes what is left.

The Outbox and the Import queue lay out their tables this way, and lay them out again only when
the widths really change (a new layout clears the table, which costs a redraw on a slow link).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.widgets import DataTable

from core.i18n import _


@dataclass(frozen=True, slots=True)
class FillColumns:
    fixed: Sequence[tuple[str, str, int]]
    """(key, English label, width) of each fixed column, in order."""
    last: tuple[str, str]
    """(key, English label) of the column that takes the rest of the width."""
    minimum: int
    """The last column's width however narrow the terminal."""
    cell_padding: int

    def widths(self, width: int) -> list[int]:
        fixed = [column_width for _key, _label, column_width in self.fixed]
        padding = 2 * self.cell_padding * (len(fixed) + 1)
        return [*fixed, max(self.minimum, width - sum(fixed) - padding)]

    def lay_out(self, table: DataTable[str], width: int) -> bool:
        """Give ``table`` the columns for ``width``; False (and nothing touched) if they are already so."""
        widths = self.widths(width)
        if [column.width for column in table.columns.values()] == widths:
            return False
        table.clear(columns=True)
        for (key, label, _width), column_width in zip(self.fixed, widths, strict=False):
            table.add_column(_(label), width=column_width, key=key)
        key, label = self.last
        table.add_column(_(label), width=widths[-1], key=key)
        return True


__all__ = ["FillColumns"]
