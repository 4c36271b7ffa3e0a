"""The EMR settings screen: read, change, save (checked, audited), refused values named; snapshots EN/FR."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from textual.pilot import Pilot
from textual.widgets import Input, Select

from core.bootstrap import Accueil
from core.db.models import AuditEntry
from core.emr.settings import read_settings
from core.i18n import set_language
from screens.emr_settings import EmrSettingsScreen
from screens.import_queue import ImportQueueScreen
from tests.tui.conftest import low_colour, screen_text, settle
from tests.tui.test_import_queue import open_queue
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]
SIZE = (80, 24)


async def open_settings(pilot: Pilot[int]) -> EmrSettingsScreen:
    await open_queue(pilot)
    await pilot.press("e")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, EmrSettingsScreen)
    return screen


async def test_settings_are_saved_and_audited(make_app: AppFactory, clinic: Accueil, tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        assert screen.query_one("#emr-profile", Select).value == "generic"
        assert screen.query_one("#emr-retention_days", Input).value == "30"
        screen.query_one("#emr-profile", Select).value = "accuro"
        screen.query_one("#emr-consult_notes_as", Select).value = "completed"
        screen.query_one("#emr-folder", Input).value = "Résultats"
        screen.query_one("#emr-subfolder", Input).value = "Messagerie"
        screen.query_one("#emr-retention_days", Input).value = ""
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Saved." in screen_text(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ImportQueueScreen)
    with clinic.uow() as uow:
        saved = read_settings(uow.session)
        audited = uow.session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "emr.settings")).all()
    assert (saved.profile, saved.consult_notes_as, saved.folder, saved.subfolder, saved.retention_days) == (
        "accuro", "completed", "Résultats", "Messagerie", None)
    assert audited[-1]["changed"]["profile"] == "accuro"


async def test_a_refused_value_is_named_and_nothing_is_saved(make_app: AppFactory, clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        screen.query_one("#emr-destination", Select).value = "folder"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Not saved: The import folder destination needs the folder's path." in screen_text(pilot)
        screen.query_one("#emr-import_path", Input).value = "relative/path"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Not saved: The import folder must be an absolute path." in screen_text(pilot)
    with clinic.uow() as uow:
        assert read_settings(uow.session).destination == "chart"


def test_emr_settings_screen(snap_compare: Callable[..., bool], make_app: AppFactory) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=open_settings)


def test_emr_settings_screen_in_french(snap_compare: Callable[..., bool], make_app: AppFactory) -> None:
    set_language("fr")
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=open_settings)


def test_emr_settings_screen_low_colour_in_french(snap_compare: Callable[..., bool], make_app: AppFactory) -> None:
    set_language("fr")
    assert snap_compare(low_colour(make_app()), terminal_size=SIZE, run_before=open_settings)
