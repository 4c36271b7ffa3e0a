"""Accueil's Textual themes and its one stylesheet (TU-4).

The app registers every theme in ``THEMES`` and starts on the one the ``theme`` setting names
(``resolve_theme``); the palette's "app: theme" command switches at run time. ``accueil.tcss``
uses only theme variables (``$primary``, ``$surface``…), so a theme is a palette and nothing else.

- dark (the default) and light: colours from the xterm 256-colour cube, so a thin client on
  ``TERM=xterm-256color`` shows exactly these colours and each colour change costs few bytes.
- high-contrast: white on black, bright yellow and cyan accents, for low vision and glare.
- low-colour: every colour is one of the 16 ANSI colours as Rich's standard palette defines
  them, so ``TEXTUAL_COLOR_SYSTEM=standard`` (or a 16-colour terminal) maps each to itself
  instead of to a near miss; the shades Textual derives stay on black or on the base colour.
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

ACCUEIL_LIGHT = Theme(
    name="accueil-light",
    primary="#005f87",
    secondary="#0087af",
    accent="#875f00",
    warning="#875f00",
    error="#af0000",
    success="#005f00",
    foreground="#1c1c1c",
    background="#eeeeee",
    surface="#ffffff",
    panel="#d0d0d0",
    dark=False,
)

ACCUEIL_HIGH_CONTRAST = Theme(
    name="accueil-high-contrast",
    primary="#ffff00",
    secondary="#00ffff",
    accent="#00ffff",
    warning="#ffff00",
    error="#ff5f5f",
    success="#00ff00",
    foreground="#ffffff",
    background="#000000",
    surface="#000000",
    panel="#303030",
    boost="#ffffff",
    dark=True,
    variables={"text-muted": "#ffffff", "block-cursor-background": "#ffff00",
               "block-cursor-foreground": "#000000", "footer-key-foreground": "#ffff00",
               "input-selection-background": "#00ffff 60%"},
)

# Rich's standard 16-colour palette: the exact values the "standard" colour system maps to.
ACCUEIL_LOW_COLOUR = Theme(
    name="accueil-low-colour",
    primary="#000080",  # blue
    secondary="#008080",  # cyan
    accent="#808000",  # yellow
    warning="#808000",
    error="#800000",  # red
    success="#008000",  # green
    foreground="#c0c0c0",  # white
    background="#000000",  # black
    surface="#000000",
    panel="#000080",
    dark=True,
    variables={"text-muted": "#808080", "text-disabled": "#808080", "block-cursor-background": "#008080",
               "block-cursor-foreground": "#ffffff", "block-cursor-text-style": "bold",
               "footer-key-foreground": "#ffff00", "footer-background": "#000080",
               "footer-description-foreground": "#ffffff", "input-cursor-background": "#c0c0c0",
               "input-selection-background": "#008080", "scrollbar": "#808080",
               "scrollbar-background": "#000000", "text-accent": "#ffff00", "text-error": "#ff0000"},
)

THEMES: tuple[Theme, ...] = (ACCUEIL_DARK, ACCUEIL_LIGHT, ACCUEIL_HIGH_CONTRAST, ACCUEIL_LOW_COLOUR)
DEFAULT_THEME = ACCUEIL_DARK.name
LOW_COLOUR_THEME = ACCUEIL_LOW_COLOUR.name
THEME_NAMES = {"dark": ACCUEIL_DARK.name, "light": ACCUEIL_LIGHT.name,
               "high-contrast": ACCUEIL_HIGH_CONTRAST.name, "low-colour": ACCUEIL_LOW_COLOUR.name}
"""What the ``theme`` setting accepts (the full names are accepted too; ``low-color`` as well)."""


def resolve_theme(name: str) -> str | None:
    """The registered theme the setting ``name`` means, or None if there is no such theme."""
    key = name.strip().lower().removeprefix("accueil-").replace("color", "colour").replace("_", "-")
    return THEME_NAMES.get(key)


__all__ = ["ACCUEIL_DARK", "DEFAULT_THEME", "LOW_COLOUR_THEME", "STYLESHEET", "THEMES", "THEME_NAMES",
           "resolve_theme"]
