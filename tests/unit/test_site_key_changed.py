"""The refusal of a commit made with a replaced site key reads as one sentence in the user's language."""

from __future__ import annotations

from core.crypto import SiteKeyChanged
from core.i18n import set_language
from tui.core_text import core_text
from tui.errors import error_text


def test_the_tui_tells_it_in_french_and_in_english() -> None:
    try:
        set_language("fr")
        assert core_text(SiteKeyChanged()) == error_text(SiteKeyChanged()) == (
            "La clé de chiffrement du site vient d'être changée : votre travail n'a pas été enregistré. "
            "Veuillez réessayer.")
    finally:
        set_language("en")
    assert core_text(SiteKeyChanged()) == (
        "The site encryption key was just changed: your work was not saved. Please try again.")
