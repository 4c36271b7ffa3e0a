"""Small text helpers every screen shares, so a patient looks the same everywhere."""

from __future__ import annotations

from rich.cells import cell_len


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


__all__ = ["display_name", "fit"]
