"""The Import queue screen (EM-5) and the chart in the patient view: items made by real replies and a
real worker pass, listed with counts and reasons, filtered, retried one or all; snapshots EN/FR."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from textual.pilot import Pilot
from textual.widgets import DataTable

from core.bootstrap import Accueil
from core.db.models import ImportItem, Patient
from core.emr.jobs import run_emr_import
from core.emr.settings import read_settings, save_settings
from core.i18n import set_language
from screens.confirm import ConfirmScreen
from screens.import_queue import ImportQueueScreen
from screens.outbox import OutboxScreen
from screens.patient_view import PatientViewScreen
from tests import emr_files
from tests.tui.conftest import NOW, low_colour, screen_text, settle
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]
SIZE = (80, 24)


@pytest.fixture
def imports(clinic: Accueil) -> dict[str, int]:
    """Marie Côté replied with text, a damaged PDF and a photo; Accuro with no folder set yet."""
    with clinic.uow() as uow:
        marie = uow.session.scalar(select(Patient.id).where(Patient.chart_id == "100101"))
        settings = read_settings(uow.session)
    with clinic.uow(write=True) as uow:
        save_settings(uow, replace(settings, profile="accuro", consult_notes_as="completed"))
    message_id = emr_files.add_message(clinic, marie)
    emr_files.reply(clinic, message_id, "Merci, je me sens mieux depuis lundi.",
                    (("résultats.pdf", emr_files.corrupt_pdf()), ("genou.png", emr_files.png_with_alpha())),
                    now=NOW - timedelta(hours=2))
    run_emr_import(clinic, NOW - timedelta(hours=1))
    with clinic.uow() as uow:
        states = dict(uow.session.execute(select(ImportItem.kind, ImportItem.state)).all())
    assert states == {"reply": "imported", "attachment": "waiting"}  # no folder yet: both files wait
    with clinic.uow(write=True) as uow:
        save_settings(uow, replace(read_settings(uow.session), folder="Patient", subfolder="Messagerie"))
    run_emr_import(clinic, NOW - timedelta(minutes=30))
    with clinic.uow() as uow:
        return {f"{kind}-{source}": item for item, kind, source in uow.session.execute(
            select(ImportItem.id, ImportItem.kind, ImportItem.source_id))}


def rows(app: AccueilApp) -> list[list[str]]:
    table = app.screen.query_one("#import-items", DataTable)
    return [[str(cell).strip() for cell in table.get_row_at(row)] for row in range(table.row_count)]


def notices(app: AccueilApp) -> list[str]:
    return [notification.message for notification in app._notifications]


async def open_queue(pilot: Pilot[int]) -> None:
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    assert isinstance(pilot.app.screen, OutboxScreen)
    await pilot.press("i")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ImportQueueScreen)


async def test_the_queue_lists_items_with_counts_and_the_reason(make_app: AppFactory,
                                                                imports: dict[str, int]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_queue(pilot)
        shown = screen_text(pilot)
        assert "Pending 0 · Waiting 0 · Imported 2 · Failed 1" in shown
        listed = rows(app)
        assert [row[1] for row in listed] == ["imported", "failed", "imported"]
        assert [row[2] for row in listed] == ["file", "file", "reply"]
        assert all("Côté, Marie (100101)" in row[5] for row in listed)
        await pilot.press("down")
        await settle(pilot)
        assert "Reason: The PDF is damaged and cannot be read." in screen_text(pilot)
        await pilot.press("f")  # pending (and waiting): none
        await settle(pilot)
        assert rows(app) == []
        await pilot.press("f")
        await settle(pilot)
        assert [row[1] for row in rows(app)] == ["failed"]
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)


async def test_retry_one_then_all_failed_items(make_app: AppFactory, imports: dict[str, int],
                                               clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_queue(pilot)
        await pilot.press("t")  # the newest item is imported: not retried
        await settle(pilot)
        assert "Only a failed item can be retried." in notices(app)
        await pilot.press("down", "t")
        await settle(pilot)
        assert "Pending 1 · Waiting 0 · Imported 2 · Failed 0" in screen_text(pilot)
        run_emr_import(clinic, NOW)  # the worker tries it again: still damaged
        await pilot.press("r")
        await settle(pilot)
        assert "Failed 1" in screen_text(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert "Pending 1 · Waiting 0 · Imported 2 · Failed 0" in screen_text(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert "No failed item to retry." in notices(app)
    with clinic.uow() as uow:
        assert uow.session.scalar(select(ImportItem.attempts).where(ImportItem.state == "pending")) == 2


async def test_the_palette_opens_the_import_queue(make_app: AppFactory, imports: dict[str, int]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"emr: import", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ImportQueueScreen)
        assert app.current_mode == "messages"


async def test_the_patient_view_shows_the_chart(make_app: AppFactory, imports: dict[str, int]) -> None:
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"cote", "down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, PatientViewScreen)
        shown = screen_text(pilot)
    assert "EMR chart" in shown
    assert "Task (completed)  Reply from the patient" in shown
    assert "Document  File from the patient  [Patient / Messagerie]" in shown
    assert "Task (active)  Review the file sent by the patient" in shown


# -- snapshots ---------------------------------------------------------------------------------
async def _queue_second_row(pilot: Pilot[int]) -> None:
    await open_queue(pilot)
    await pilot.press("down")
    await settle(pilot)


def test_import_queue_screen(snap_compare: Callable[..., bool], make_app: AppFactory,
                             imports: dict[str, int]) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_queue_second_row)


def test_import_queue_screen_in_french(snap_compare: Callable[..., bool], make_app: AppFactory,
                                       imports: dict[str, int]) -> None:
    set_language("fr")
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_queue_second_row)


def test_import_queue_screen_low_colour_in_french(snap_compare: Callable[..., bool], make_app: AppFactory,
                                                  imports: dict[str, int]) -> None:
    set_language("fr")
    assert snap_compare(low_colour(make_app()), terminal_size=SIZE, run_before=_queue_second_row)
