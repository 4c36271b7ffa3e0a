"""Accueil's Textual themes and its one stylesheet.

The app registers every theme in ``THEMES`` and starts on ``DEFAULT_THEME``. ``accueil.tcss``
uses only theme variables (``$primary``, ``$surface``…), so a theme is a palette and nothing
else: the high-contrast and low-colour themes (TU-4) will be more entries here. Colours are
picked from the xterm 256-colour cube, so a thin client on ``TERM=xterm-256color`` shows
exactly these colours and each colour change costs the fewest bytes on the wire.
"""

from __future__ import annotations

from pathlib import Path

from textual.theme import Theme

STYLESHEET = Path(__file__).with_name("accueil.tcss")

ACCUEIL_DARK = Theme(
    name="accueil-dark",
    primary="#0087af",
    secondary="#005f87",
    accent="#d7af5f",
    warning="#d7af00",
    error="#d75f5f",
    success="#5faf5f",
    foreground="#d0d0d0",
    background="#121212",
    surface="#1c1c1c",
    panel="#262626",
    dark=True,
)

THEMES: tuple[Theme, ...] = (ACCUEIL_DARK,)
DEFAULT_THEME = ACCUEIL_DARK.name

__all__ = ["ACCUEIL_DARK", "DEFAULT_THEME", "STYLESHEET", "THEMES"]
