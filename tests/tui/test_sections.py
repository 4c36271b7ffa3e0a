"""Pilot tests of the app's frame: sections by key, the command palette, F1 help, the keymap."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import update
from textual.command import CommandPalette
from textual.widgets import Input

from core.db.models import User
from core.i18n import set_language
from core.settings import Settings
from screens.help import HelpScreen
from screens.outbox import OutboxScreen
from screens.patient_view import PatientViewScreen
from screens.patients import PatientsScreen
from tests.tui.conftest import CLOCK, screen_text, settle
from tests.tui.test_identity import wait_for
from tui.app import PATIENTS, AccueilApp
from tui.widgets.section_bar import SectionBar, bar_items

AppFactory = Callable[..., AccueilApp]


async def test_function_keys_switch_sections_and_each_keeps_its_place(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        *_rest, bar, keys = screen_text(pilot).splitlines()
        assert bar.split() == ["f2", "Patients", "f3", "Messages", "f5", "Reports", "f6", "Site", "f1", "Help"]
        assert "f2" not in keys and "f3" not in keys and "^q Quit" in keys  # the screen's own keys only
        await pilot.press(*"cote", "enter")
        await settle(pilot)
        assert isinstance(app.screen, PatientViewScreen)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)
        assert app.current_mode == "messages"
        assert "f2 Patients" in screen_text(pilot).splitlines()[-2]
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
        assert "Reports" not in screen_text(pilot).splitlines()[-2]  # F5 opens here: no "f5 Reports"
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


def _bar(pilot) -> list[tuple[str, str, bool]]:  # type: ignore[no-untyped-def]
    """The section bar of the screen shown: (key, label, highlighted) for each section."""
    _language, items, _help = bar_items(pilot.app.screen)
    return [(key, label, current) for label, key, _mode, current in items]


async def test_the_section_bar_highlights_the_section_shown_and_a_click_goes_to_one(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert _bar(pilot) == [("f2", "Patients", True), ("f3", "Messages", False), ("f5", "Reports", False),
                               ("f6", "Site", False)]  # no Campaigns permission: no F4
        await pilot.press("f3")
        await settle(pilot)
        assert [current for _key, _label, current in _bar(pilot)] == [False, True, False, False]
        bar = app.screen.query_one(SectionBar)
        await pilot.click(bar, offset=(3, 0))  # on "f2 Patients"
        await settle(pilot)
        assert app.current_mode == PATIENTS and isinstance(app.screen, PatientsScreen)
        assert app.screen.query_one(SectionBar).region.y == 22  # above the screen's keys, at 80×24


async def test_the_section_bar_follows_the_keymap_and_the_language(tui_settings: Settings, clinic) -> None:  # type: ignore[no-untyped-def]
    with clinic.uow(write=True) as uow:  # the signed-in user reads French
        uow.session.execute(update(User).values(language="fr"))
        uow.commit()
    settings = tui_settings.with_changes(keymap={"app.messages": "f8", "app.help": "f12"})
    app = AccueilApp(settings, lambda: clinic, clock=CLOCK)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "Rapports" in screen_text(pilot))
        bar = screen_text(pilot).splitlines()[-2]
        assert "f8 Messages" in bar and "f3 " not in bar and "f5 Rapports" in bar and bar.rstrip().endswith("f12 Aide")
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)


async def test_no_section_bar_on_dialogs(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert not app.screen.query(SectionBar)
