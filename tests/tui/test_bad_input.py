"""The issue's bad input, each told in the user's language and never a traceback: a keymap key
that no keyboard sends or that takes another action's key, an unknown theme name, a terminal
smaller than 80×24 (wrong passwords and locked accounts: ``test_identity``)."""

from __future__ import annotations

from dataclasses import replace

from core.bootstrap import Accueil
from core.i18n import set_language
from core.settings import Settings
from screens.outbox import OutboxScreen
from screens.patient_view import PatientViewScreen
from screens.patients import PatientsScreen
from tests.tui.conftest import CLOCK, screen_text, settle
from tui.app import AccueilApp
from tui.keymap import bad_keys, is_key, usable_keymap


def _messages(app: AccueilApp) -> list[str]:
    return [str(notification.message) for notification in app._notifications]


def test_keys_no_keyboard_sends_are_found() -> None:
    assert all(is_key(key) for key in ("f5", "ctrl+p", "escape", "a", "comma", "shift+tab", "pageup", "f24"))
    assert not any(is_key(key) for key in ("", " ", "f99", "bogus-key", "ctrl+opne", "hyper+"))
    keymap = {"patients.open": "bogus-key", "app.messages": "f8, ,f9", "app.help": "f12"}
    assert bad_keys(keymap) == [("app.messages", ""), ("patients.open", "bogus-key")]
    assert usable_keymap(keymap) == {"app.messages": "f8,f9", "app.help": "f12"}


async def test_a_keymap_key_no_keyboard_sends_is_named_in_french_and_the_usual_key_kept(
        tui_settings: Settings, clinic: Accueil) -> None:
    set_language("fr")
    settings = tui_settings.with_changes(keymap={"patients.open": "bogus-key", "app.messages": ",,"})
    app = AccueilApp(settings, lambda: clinic, clock=CLOCK)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        messages = _messages(app)
        assert any("patients.open" in m and "« bogus-key »" in m and "aucun clavier" in m for m in messages)
        assert any("app.messages" in m and "aucun clavier" in m for m in messages)
        await pilot.press(*"oneil", "enter")  # Enter still opens
        await settle(pilot)
        assert isinstance(app.screen, PatientViewScreen)
        await pilot.press("f3")  # and F3 still goes to Messages
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)


async def test_a_keymap_key_taken_from_another_action_is_named_once(tui_settings: Settings, clinic: Accueil) -> None:
    settings = tui_settings.with_changes(keymap={"app.messages": "f2"})
    app = AccueilApp(settings, lambda: clinic, clock=CLOCK)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"cote", "down", "up")
        await settle(pilot)
        told = [m for m in _messages(app) if "app.patients" in m]
        assert told == ["The keymap setting gives f2 to another action: app.patients has lost that key."]
        assert screen_text(pilot).splitlines()[-2].split()[:2] == ["f2", "Messages"]
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)


async def test_an_unknown_theme_is_named_in_french(tui_settings: Settings, clinic: Accueil) -> None:
    set_language("fr")
    app = AccueilApp(replace(tui_settings, theme="solarized"), lambda: clinic, clock=CLOCK)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.theme == "accueil-dark"
        assert any(m.startswith("Le réglage theme nomme un thème inconnu : solarized.") for m in _messages(app))


async def test_a_small_terminal_is_told_once_per_size_and_nothing_breaks(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app()
    async with app.run_test(size=(40, 10)) as pilot:
        await settle(pilot)
        await pilot.press(*"cote", "enter", "f1", "escape", "f3", "f2", "ctrl+p", "escape")
        await settle(pilot)
        assert [m for m in _messages(app) if "needs at least 80×24" in m] == [
            "This terminal is 40×10: Accueil needs at least 80×24, so some columns and keys are hidden. "
            "Enlarge the window."]
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        await pilot.resize_terminal(40, 10)
        await settle(pilot)
        assert len([m for m in _messages(app) if "40×10" in m]) == 2  # shrunk again: told again
        app.command_lock()
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        assert app.return_code is None and isinstance(app.screen_stack[0], PatientsScreen)
