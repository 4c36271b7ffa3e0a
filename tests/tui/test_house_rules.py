"""The terminal face's house rules: start-up imports, key bindings, translations."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.dom import DOMNode

from core.i18n import catalogue, set_language
from tests.tui.conftest import screen_text, settle
from tui.app import AccueilApp
from tui.keymap import binding_owners
from tui.widgets.footer import KeyFooter

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED_TREES = ("tui", "screens")


def test_the_app_and_its_screens_import_no_database_layer() -> None:
    probe = (
        "import sys, tui.app, tui.keymap, tui.commands, screens.patients, screens.patient_view, screens.outbox, "
        "screens.email_view, screens.help, screens.confirm, screens.reports, screens.report_export\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy' or m == 'core.bootstrap'))"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("owner", binding_owners(), ids=lambda c: c.__name__)
def test_every_binding_has_an_id_a_description_and_a_tooltip(owner: type[DOMNode]) -> None:
    for binding in owner.BINDINGS:
        assert isinstance(binding, Binding)
        assert binding.id and binding.description and binding.tooltip, binding


def user_visible_messages() -> set[str]:
    """Every literal passed to ``_()`` or ``N_()`` in the terminal face's code."""
    messages: set[str] = set()
    for tree in TRANSLATED_TREES:
        for path in sorted((ROOT / tree).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_")
                        and node.args and isinstance(node.args[0], ast.Constant)
                        and isinstance(node.args[0].value, str)):
                    messages.add(node.args[0].value)
    return messages


def test_every_message_has_a_french_translation() -> None:
    messages = user_visible_messages()
    assert len(messages) > 50  # the scan itself works
    missing = sorted(m for m in messages if not catalogue("fr").get(m))
    assert missing == []


async def test_the_screens_speak_french_when_the_user_does(make_app: Callable[..., AccueilApp]) -> None:
    set_language("fr")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = screen_text(pilot)
    assert "Tapez pour chercher parmi les patients de la clinique." in shown
    assert "Suivant" in shown and "Ouvrir" in shown and "Quitter" in shown


async def test_the_footer_draws_its_keys_once_at_start_up(make_app: Callable[..., AccueilApp],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Each rebuild is a frame sent down a slow line: focus and binding refreshes must not cause one."""
    rebuilds: list[KeyFooter] = []
    original = KeyFooter.recompose

    async def counted(self: KeyFooter) -> None:
        rebuilds.append(self)
        await original(self)

    monkeypatch.setattr(KeyFooter, "recompose", counted)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"cote", "down")
        await settle(pilot)
        shown = screen_text(pilot).splitlines()[-1]
    assert rebuilds == []
    assert "↑ Previous" in shown and "⏎ Open" in shown and "^q Quit" in shown
