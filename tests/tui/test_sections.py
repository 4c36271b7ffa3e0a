"""Pilot tests of the app's frame: sections by key, the command palette, F1 help, the keymap."""

from __future__ import annotations

from collections.abc import Callable

from textual.command import CommandPalette
from textual.widgets import Input

from core.i18n import set_language
from core.settings import Settings
from screens.help import HelpScreen
from screens.outbox import OutboxScreen
from screens.patient_view import PatientViewScreen
from screens.patients import PatientsScreen
from tests.tui.conftest import CLOCK, screen_text, settle
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]


async def test_function_keys_switch_sections_and_each_keeps_its_place(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        footer = screen_text(pilot).splitlines()[-1]
        assert "f3 Messages" in footer and "f2 Patients" not in footer  # the section shown has no key
        await pilot.press(*"cote", "enter")
        await settle(pilot)
        assert isinstance(app.screen, PatientViewScreen)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)
        assert app.current_mode == "messages"
        assert "f2 Patients" in screen_text(pilot).splitlines()[-1]
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, PatientViewScreen)  # the Patients section as it was left
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, PatientsScreen)
        assert app.screen.search_input.value == "cote"


async def test_no_section_without_a_screen(make_app: AppFactory) -> None:
    app = make_app()
    # Patients is the default mode (its screen comes from get_default_screen); the others are MODES.
    assert set(app.MODES) == {"messages", "campaigns", "reports", "site"}
    assert isinstance(app.get_default_screen(), PatientsScreen)


async def _palette_titles(pilot, query: str) -> list[str]:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+p")
    await settle(pilot)
    assert CommandPalette.is_open(pilot.app)
    await pilot.press(*query)
    await settle(pilot)
    palette = pilot.app.screen
    from textual.command import CommandList

    commands = palette.query_one(CommandList)
    titles = [str(commands.get_option_at_index(i).prompt).split("\n")[0] for i in range(commands.option_count)]
    return titles


async def test_the_palette_finds_commands_by_area(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        titles = await _palette_titles(pilot, "patient:")
        assert any(title.startswith("patient: search") for title in titles), titles
        await pilot.press("escape")
        await settle(pilot)
        titles = await _palette_titles(pilot, "messages:")
        assert any(title.startswith("messages: outbox") for title in titles), titles
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)


async def test_the_palette_speaks_french(make_app: AppFactory) -> None:
    set_language("fr")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        titles = await _palette_titles(pilot, "messages")
        assert any(title.startswith("messages : boîte d'envoi") for title in titles), titles


async def test_f1_shows_help_for_the_focused_widget_and_esc_closes_it(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.focused, Input)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        shown = screen_text(pilot)
        assert "accents, apostrophes and hyphens do not matter" in shown  # the search box's help
        assert "Open the highlighted patient's record." in shown  # a screen key's tooltip
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, PatientsScreen)
        assert isinstance(app.focused, Input)


async def test_a_remapped_key_opens_the_patient(tui_settings: Settings, clinic) -> None:  # type: ignore[no-untyped-def]
    settings = tui_settings.with_changes(keymap={"patients.open": "f5"})
    app = AccueilApp(settings, lambda: clinic, clock=CLOCK)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"oneil")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PatientsScreen)  # Enter no longer opens
        assert list(app._notifications) == []  # a known id: nothing to warn about
        assert "f5 Open" in screen_text(pilot).splitlines()[-1]
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(app.screen, PatientViewScreen)


async def test_an_unknown_binding_id_in_the_keymap_is_named_not_fatal(tui_settings: Settings, clinic) -> None:  # type: ignore[no-untyped-def]
    set_language("fr")
    settings = tui_settings.with_changes(keymap={"patient.open": "f5"})
    app = AccueilApp(settings, lambda: clinic, clock=CLOCK)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        messages = [notification.message for notification in app._notifications]
        assert len(messages) == 1 and "patient.open" in messages[0]
        assert "n'existe pas" in messages[0]
        await pilot.press(*"oneil", "enter")
        await settle(pilot)
        assert isinstance(app.screen, PatientViewScreen)  # the rest of the app works as usual
