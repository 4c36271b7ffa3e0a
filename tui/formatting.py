"""Small text helpers every screen shares, so a patient looks the same everywhere."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text


def display_name(last: str, first: str, preferred: str | None) -> str:
    """``CÔTÉ, Marie (Mimi)``: the last name in capitals, as charts and labels show it."""
    name = f"{last.upper()}, {first}"
    if preferred and preferred != first:
        name += f" ({preferred})"
    return name


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells with an ellipsis, so a long name never hides a column."""
    if cell_len(text) <= width:
        return text
    while text and cell_len(text) > width - 1:
        text = text[:-1]
    return text + "…"


def cell_text(value: str, width: int) -> Text:
    """A table cell as plain text, cut to ``width``: DataTable reads a ``str`` cell as Rich markup, which
    costs a parse per cell on every page and would drop a ``[…]`` in a name (or fail on ``[/]``)."""
    return Text(fit(value, width), no_wrap=True, end="")


__all__ = ["cell_text", "display_name", "fit"]
