"""Snapshots at 80×24: the login and lock screens (EN, FR), every screen in the low-colour theme
in French, and the Patients screen in the light and high-contrast themes.

Update with ``pytest tests/tui --snapshot-update`` and read the SVGs' text before committing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from core.bootstrap import Accueil
from core.i18n import set_language
from screens.lock import LockScreen
from screens.login import LoginScreen
from tests.tui.conftest import STAFF_USER, settle
from tests.tui.test_identity import sign_in, unmap_os_user, wait_for
from tests.tui.test_snapshots import (
    _help_on_search,
    _open_marie_cote,
    _open_outbox,
    _search_cote,
    queued_outbox,  # noqa: F401 - a fixture
)
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]
SIZE = (80, 24)


async def _wrong_password(pilot: Pilot[int]) -> None:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, LoginScreen))
    await sign_in(pilot, STAFF_USER, "not my password")


async def _locked_over_a_record(pilot: Pilot[int]) -> None:
    await _open_marie_cote(pilot)
    app = pilot.app
    assert isinstance(app, AccueilApp)
    app.command_lock()
    await wait_for(pilot, lambda: isinstance(app.screen, LockScreen))


def themed(make_app: AppFactory, theme: str) -> AccueilApp:
    app = make_app()
    app.theme = theme
    return app


@pytest.mark.parametrize("language", ["en", "fr"])
def test_login_screen_after_a_wrong_password(snap_compare: Callable[..., bool], make_app: AppFactory,
                                             clinic: Accueil, language: str) -> None:
    unmap_os_user(clinic)
    set_language(language)
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_wrong_password)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_lock_screen(snap_compare: Callable[..., bool], make_app: AppFactory, language: str) -> None:
    set_language(language)
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_locked_over_a_record)


LOW_COLOUR_SCREENS: dict[str, Callable[[Pilot[int]], Awaitable[None]]] = {
    "patients": _search_cote,
    "patient_view": _open_marie_cote,
    "outbox": _open_outbox,
    "help": _help_on_search,
    "login": _wrong_password,
    "lock": _locked_over_a_record,
}


@pytest.mark.usefixtures("queued_outbox")
@pytest.mark.parametrize("screen", sorted(LOW_COLOUR_SCREENS))
def test_low_colour_in_french(snap_compare: Callable[..., bool], make_app: AppFactory, clinic: Accueil,
                              screen: str) -> None:
    if screen == "login":
        unmap_os_user(clinic)
    set_language("fr")
    app = themed(make_app, "accueil-low-colour")
    assert snap_compare(app, terminal_size=SIZE, run_before=LOW_COLOUR_SCREENS[screen])


@pytest.mark.parametrize("theme", ["accueil-light", "accueil-high-contrast"])
def test_patients_screen_in_theme(snap_compare: Callable[..., bool], make_app: AppFactory, theme: str) -> None:
    assert snap_compare(themed(make_app, theme), terminal_size=SIZE, run_before=_search_cote)


async def test_an_unknown_theme_is_named_and_the_default_used(make_app: AppFactory, tui_settings: object) -> None:
    from dataclasses import replace

    from tests.tui.conftest import CLOCK

    base = make_app()
    app = AccueilApp(replace(base.settings, theme="solarized"), base._opener, clock=CLOCK)
    assert app.theme == "accueil-dark"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        messages = [str(n.message) for n in app._notifications]
        assert any("solarized" in m and "low-colour" in m for m in messages)


async def test_the_palette_switches_the_theme(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"high contrast")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.theme == "accueil-high-contrast"


# -- the import screen (TU-6) at the end of an import with problems -------------------------------
async def _import_export_csv(pilot: Pilot[int]) -> None:
    from tests.tui.test_import_screen import open_import

    screen = await open_import(pilot, Path("export.csv"))  # relative: the test runs in tmp_path
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen.result is not None)


@pytest.mark.parametrize(("language", "theme"), [("en", "accueil-dark"), ("fr", "accueil-dark"),
                                                 ("fr", "accueil-low-colour")])
def test_import_screen(snap_compare: Callable[..., bool], make_app: AppFactory, tmp_path: Path,
                       monkeypatch: pytest.MonkeyPatch, language: str, theme: str) -> None:
    from tests.tui.test_import_screen import write_export

    write_export(tmp_path / "export.csv", [
        ["C2001", "Bélanger", "Zoé", "1984-03-12", "F", "BELZ 8453 1212", "QC"],
        ["C2002", "O'Brien", "Seán", "31/02/1990", "M", "", ""],
        ["", "Sans", "Dossier", "1970-01-01", "F", "", ""],
    ])
    monkeypatch.chdir(tmp_path)
    set_language(language)
    assert snap_compare(themed(make_app, theme), terminal_size=SIZE, run_before=_import_export_csv)
