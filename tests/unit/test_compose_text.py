"""Core's problem sentences shown in French piece by piece, and the path completion of the attachment field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import InvalidInput
from core.i18n import set_language
from core.licences import NotAllowedToSend
from tui.core_text import core_text
from tui.widgets.path_suggester import suggest_path


@pytest.fixture
def french() -> Iterator[None]:
    set_language("fr")
    yield
    set_language("en")


def test_a_composed_core_sentence_is_translated_piece_by_piece(french: None) -> None:
    error = InvalidInput("This template cannot be saved: the subject is empty; eForm 'intake_2' does not exist; "
                         "@ptPrenom.")
    assert core_text(error) == ("Ce modèle ne peut pas être enregistré : l'objet est vide; le formulaire « intake_2 » "
                                "n'existe pas; variable inconnue @ptPrenom.")


def test_sentences_with_values_keep_the_value(french: None) -> None:
    refused = NotAllowedToSend("This support staff member is not enabled by any licence: each provider's licence "
                               "enables up to 3 support staff.")
    assert core_text(refused) == ("Ce membre du personnel de soutien n'est activé par aucune licence : la licence de "
                                  "chaque professionnel active jusqu'à 3 membres du personnel de soutien.")
    assert core_text(InvalidInput("The content of 'scan.pdf' is not a pdf file.")) == (
        "Le contenu de « scan.pdf » n'est pas un fichier pdf.")


def test_an_unknown_sentence_is_shown_as_it_is(french: None) -> None:
    assert core_text(InvalidInput("Something new went wrong.")) == "Something new went wrong."


def test_path_completion(tmp_path: Path) -> None:
    (tmp_path / "résultats.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "radiographies").mkdir()
    (tmp_path / ".cache").mkdir()
    base = str(tmp_path)
    assert suggest_path(base + "/rés") == base + "/résultats.pdf"
    assert suggest_path(base + "/rad") == base + "/radiographies/"
    assert suggest_path(base + "/r") == base + "/radiographies/"  # the first name in order
    assert suggest_path(base + "/") == base + "/radiographies/"  # hidden entries only when asked for
    assert suggest_path(base + "/.c") == base + "/.cache/"
    assert suggest_path(base + "/zzz") is None
    assert suggest_path(base + "/résultats.pdf") is None
    assert suggest_path(base + "/missing-folder/x") is None


def test_licence_refusals_naming_the_licence_are_translated(french: None) -> None:
    full = NotAllowedToSend("The licence of Dre Zoé Côté already enables 3 support staff, the most one licence "
                            "allows: use another licence or free a place first.")
    assert core_text(full) == ("La licence de Dre Zoé Côté active déjà 3 membres du personnel de soutien, le maximum "
                               "permis par licence : utilisez une autre licence ou libérez d'abord une place.")
    idle = NotAllowedToSend("The licence of Dr Owen Lee, which enables this support staff member, belongs to a "
                            "disabled account: enable that account or use another licence.")
    assert core_text(idle).startswith("La licence de Dr Owen Lee, qui active ce membre")
