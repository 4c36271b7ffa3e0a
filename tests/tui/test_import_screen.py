"""Pilot tests of the import screen and the LongWork widget (TU-6): progress, row-numbered
problems, the palette path, and a cancel that leaves whole batches only."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from textual.pilot import Pilot
from textual.widgets import Input

from core.bootstrap import Accueil
from core.db.models import AuditEntry, Patient
from core.i18n import set_language
from screens.import_patients import ImportPatientsScreen
from tests.tui.conftest import STAFF_USER, screen_text, settle
from tests.tui.test_identity import wait_for
from tui.app import AccueilApp
from tui.widgets.long_work import LongWork

AppFactory = Callable[..., AccueilApp]
HEADER = ["Chart ID", "Last Name", "First Name", "Date of Birth", "Sex", "Health Number", "Province"]


def write_export(path: Path, rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def patient_count(clinic: Accueil) -> int:
    with clinic.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Patient)) or 0)


async def open_import(pilot: Pilot[int], path: Path) -> ImportPatientsScreen:
    app = pilot.app
    assert isinstance(app, AccueilApp)
    await settle(pilot)
    app.command_patient_import()
    await wait_for(pilot, lambda: isinstance(app.screen, ImportPatientsScreen))
    field = app.screen.query_one("#import-path", Input)
    field.value = str(path)
    await pilot.pause()
    return cast_screen(app)


def cast_screen(app: AccueilApp) -> ImportPatientsScreen:
    assert isinstance(app.screen, ImportPatientsScreen)
    return app.screen


async def test_import_shows_counts_and_row_numbered_problems(make_app: AppFactory, clinic: Accueil,
                                                             tmp_path: Path) -> None:
    export = write_export(tmp_path / "export.csv", [
        ["C2001", "Bélanger", "Zoé", "1984-03-12", "F", "BELZ 8453 1212", "QC"],
        ["C2002", "O'Brien", "Seán", "31/02/1990", "M", "", ""],
        ["C2003", "Lévesque-Roy", "Élodie", "2001-07-09", "F", "", ""],
        ["", "Sans", "Dossier", "1970-01-01", "F", "", ""],
    ])
    before = patient_count(clinic)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_import(pilot, export)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.result is not None)
        shown = screen_text(pilot)
        assert "Import finished." in shown
        assert "4 rows read: 2 added, 0 updated, 2 not imported." in shown
        assert "Row 3, Date of Birth" in shown and "Row 5" in shown
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ImportPatientsScreen)
    assert patient_count(clinic) == before + 2
    with clinic.uow() as uow:
        actors = uow.session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "patients.import")).all()
    assert actors == [STAFF_USER]


async def test_a_missing_file_is_told_in_french(make_app: AppFactory, tmp_path: Path) -> None:
    set_language("fr")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_import(pilot, tmp_path / "absent.csv")
        await pilot.press("enter")
        await pilot.pause()
        assert "Aucun fichier à cet emplacement" in screen_text(pilot)


async def test_cancel_stops_after_whole_batches(make_app: AppFactory, clinic: Accueil, tmp_path: Path) -> None:
    rows = [[f"B{n:05d}", "Tremblay", f"Patient {n}", "1980-01-01", "F", "", ""] for n in range(3000)]
    export = write_export(tmp_path / "big.csv", rows)
    before = patient_count(clinic)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_import(pilot, export)
        screen.batch_size = 100
        work = screen.query_one(LongWork)
        reports: list[tuple[int, int]] = []
        original = work.report

        def report_and_cancel(done: int, total: int) -> None:  # the user presses Esc after the 5th batch
            reports.append((done, total))
            if done >= 500:
                work.cancel_event.set()
            original(done, total)

        work.report = report_and_cancel  # type: ignore[method-assign]
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.result is not None)
        assert screen.result is not None and screen.result.cancelled
        assert "Import cancelled" in screen_text(pilot)
    added = patient_count(clinic) - before
    assert added == screen.result.inserted and added % 100 == 0 and 500 <= added < 3000
    assert reports[0] == (0, 3000)


async def test_esc_while_importing_asks_the_work_to_stop(make_app: AppFactory, tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_import(pilot, tmp_path / "unused.csv")
        work = screen.query_one(LongWork)
        event = work.start()
        await pilot.press("escape")
        assert event.is_set() and isinstance(app.screen, ImportPatientsScreen)
        assert "Cancelling after the batch being written" in screen_text(pilot)
        work.finish()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ImportPatientsScreen)
