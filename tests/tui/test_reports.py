"""Pilot tests of the Reports section (F5): pick a report, days and filters, page, sort, search, export."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from textual.widgets import DataTable, Input, ProgressBar, Select

from core import events
from core.bootstrap import Accueil
from core.db.models import AuditEntry, Message, Patient, Provider, User
from screens.report_export import ReportExportScreen
from screens.reports import SEARCH_SETTLE, ReportsScreen
from tests.tui.conftest import screen_text, settle
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]
FIRST_DAY = datetime(2025, 2, 9, 15, 0, tzinfo=UTC)  # the first day of the last 30 days before 2025-03-10


def add_report_events(clinic: Accueil, *, extra_links: int = 0, spread_minutes: int = 1) -> None:
    """A month of messages from two senders to the fixed patients: some plain, some with two forms."""
    with clinic.uow(write=True) as uow:
        session = uow.session
        session.add_all([User(username="tremblay", display_name="Dre Anne Tremblay", role="provider"),
                         User(username="lise", display_name="Lise Gagnon", role="moa")])
        session.flush()
        users = list(session.scalars(select(User.id).where(User.username.in_(("lise", "tremblay")))
                                     .order_by(User.username)))  # lise, tremblay
        patients = list(session.execute(select(Patient.id, Patient.primary_provider_id).order_by(Patient.chart_id)))
        rows = []
        for number in range(24):
            patient_id, provider_id = patients[number % len(patients)]
            at = FIRST_DAY + timedelta(days=number % 28, hours=number % 5)
            message = Message(patient_id=patient_id, kind="secure_message", to_address="x@example.com",
                              subject="Sujet", body_html="", body_text="", message_id_header=f"<r{number}@x>",
                              sender_user_id=users[number % 2], provider_id=provider_id, created_at=at)
            session.add(message)
            session.flush()
            common = {"at": at, "patient_id": patient_id, "message_id": message.id, "user_id": users[number % 2],
                      "provider_id": provider_id}
            rows.append({"kind": events.LINK_CREATED, **common})
            if number % 3:
                rows.append({"kind": events.MESSAGE_SENT, **common})
            else:
                rows += [{"kind": events.FORM_SENT, **common}, {"kind": events.FORM_SENT, **common}]
        patient_id, provider_id = patients[0]
        rows += [{"kind": events.LINK_CREATED, "at": FIRST_DAY + timedelta(minutes=i * spread_minutes),
                  "patient_id": patient_id,
                  "user_id": users[0], "provider_id": provider_id} for i in range(extra_links)]
        events.record_events(session, rows)
        uow.commit()


@pytest.fixture
def report_clinic(clinic: Accueil) -> Accueil:
    add_report_events(clinic)
    return clinic


async def settle_search(pilot) -> None:  # type: ignore[no-untyped-def]
    """Past the search box's pause (the report is read once typing settles), then every read done."""
    await pilot.pause(SEARCH_SETTLE + 0.2)
    await settle(pilot)


def report_views(clinic: Accueil) -> int:
    with clinic.uow() as uow:
        return int(uow.session.scalar(select(func.count()).where(AuditEntry.action == "report.view")) or 0)


def table_rows(app: AccueilApp) -> list[list[str]]:
    table = app.screen.query_one("#report-rows", DataTable)
    return [[str(cell) for cell in table.get_row_at(row)] for row in range(table.row_count)]


def notes(app: AccueilApp) -> list[str]:
    return [notification.message for notification in app._notifications]


async def open_reports(pilot) -> ReportsScreen:  # type: ignore[no-untyped-def]
    await settle(pilot)
    await pilot.press("f5")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ReportsScreen)
    return pilot.app.screen


async def test_f5_opens_the_last_30_days_of_secure_messages(make_app: AppFactory, report_clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_reports(pilot)
        shown = screen_text(pilot)
        assert "One row per secure message sent to a patient without an eForm" in shown
        assert "Rows 1–16 of 16" in shown  # 24 messages, 8 of them with forms
        assert "Per day, 2025-02-09 to 2025-03-10: 16 in all" in shown
        rows = table_rows(app)
        assert len(rows) == 16 and rows[0][0] >= rows[-1][0]  # newest first
        assert rows[0][0] == "03-04 13:00"  # within one year, no year in the table
        assert {row[4][:4] for row in rows} == {"Dre ", "Lise"}  # the sender column, narrowed at 80 columns
    with report_clinic.uow() as uow:  # opened once, audited once
        assert uow.session.scalar(select(func.count()).where(AuditEntry.action == "report.view")) == 1


async def test_report_filters_search_and_sort(make_app: AppFactory, report_clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_reports(pilot)
        screen.query_one("#report-name", Select).value = "forms-sent"
        await settle(pilot)
        assert "Rows 1–16 of 16" in screen_text(pilot)  # 8 messages with two forms each
        with report_clinic.uow() as uow:
            lise = uow.session.scalar(select(User.id).where(User.username == "lise"))
            okafor = uow.session.scalar(select(Provider.id).where(Provider.emr_id == "PR101"))
            tremblay = uow.session.scalar(select(Provider.id).where(Provider.emr_id == "PR100"))
        screen.query_one("#report-sender", Select).value = lise
        await settle(pilot)
        assert {row[5][:4] for row in table_rows(app)} == {"Lise"}
        lises = table_rows(app)
        assert "Rows 1–8 of 8" in screen_text(pilot) and len(lises) == 8  # her four messages with forms
        screen.query_one("#report-provider", Select).value = tremblay
        await settle(pilot)
        assert table_rows(app) == lises  # every patient is Dr Tremblay's
        screen.query_one("#report-provider", Select).value = okafor
        await settle(pilot)
        assert "No rows for these days and filters." in screen_text(pilot)  # every patient is Dr Tremblay's
        screen.query_one("#report-provider", Select).clear()
        screen.query_one("#report-sender", Select).clear()
        await settle(pilot)
        await pilot.press("slash", *"oneil")
        await settle_search(pilot)
        assert {row[3] for row in table_rows(app)} == {"O'NEIL, Patrick"}
        screen.query_one("#report-search", Input).value = ""
        await settle_search(pilot)
        screen.query_one("#report-rows").focus()
        await pilot.press("s")  # next sortable column after the date: the chart
        await settle(pilot)
        charts = [row[2] for row in table_rows(app)]
        assert charts == sorted(charts) and "Chart ↑" in screen_text(pilot)
        await pilot.press("o")
        await settle(pilot)
        assert [row[2] for row in table_rows(app)] == sorted(charts, reverse=True)


async def test_typing_a_search_is_one_view_in_the_audit_trail(make_app: AppFactory, report_clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_reports(pilot)
        assert report_views(report_clinic) == 1
        await pilot.press("slash", *"cote")
        await settle_search(pilot)
        assert {row[3][:11] for row in table_rows(app)} == {"CÔTÉ, Marie", "COTÉ, Jean-"}
        assert report_views(report_clinic) == 2  # "cote": one view, not one per letter
        screen.query_one("#report-rows").focus()
        await pilot.press("s", "o")  # the same rows in another order: already audited
        await settle(pilot)
        assert report_views(report_clinic) == 2
        await pilot.press("slash", "end", "backspace", "enter")  # Enter reads at once: "cot" is another view
        await settle(pilot)
        assert report_views(report_clinic) == 3
    with report_clinic.uow() as uow:
        searched = uow.session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "report.view")
                                       .order_by(AuditEntry.id)).all()
    assert [detail["searched"] for detail in searched] == [False, True, True]


async def test_pages_of_a_large_report(make_app: AppFactory, clinic: Accueil,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    add_report_events(clinic, extra_links=226)  # 24 + 226 = 250 link rows
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_reports(pilot)
        screen.query_one("#report-name", Select).value = "links-created"
        await settle(pilot)
        assert "Rows 1–100 of 250" in screen_text(pilot)
        first_page = table_rows(app)
        assert len(first_page) == 100  # never more than a page in the table
        await pilot.press("n")
        await settle(pilot)
        assert "Rows 101–200 of 250" in screen_text(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert "Rows 201–250 of 250" in screen_text(pilot) and len(table_rows(app)) == 50
        await pilot.press("n")  # no page after the last
        await settle(pilot)
        assert "Rows 201–250 of 250" in screen_text(pilot)
        await pilot.press("p", "p")
        await settle(pilot)
        assert table_rows(app) == first_page


async def test_date_presets_and_custom_days(make_app: AppFactory, report_clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_reports(pilot)
        screen.query_one("#report-range", Select).value = "today"
        await settle(pilot)
        assert screen.query_one("#report-from", Input).value == "2025-03-10"
        assert "No rows for these days and filters." in screen_text(pilot)
        for preset, first, rows in (("last7", "2025-03-04", "Rows 1–1 of 1"), ("month", "2025-03-01", "Rows 1–3 of 3"),
                                    ("last30", "2025-02-09", "Rows 1–16 of 16")):
            screen.query_one("#report-range", Select).value = preset
            await settle(pilot)
            assert screen.query_one("#report-from", Input).value == first, preset
            assert screen.query_one("#report-to", Input).value == "2025-03-10" and rows in screen_text(pilot), preset
        screen.query_one("#report-range", Select).value = "today"
        await settle(pilot)
        screen.query_one("#report-from", Input).value = "2025-02-09"
        screen.query_one("#report-to", Input).value = "2025-02-09"
        screen.query_one("#report-from", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert screen.query_one("#report-range", Select).value == "custom"
        assert "No rows for these days and filters." in screen_text(pilot)  # the 9th: a message with forms
        screen.query_one("#report-to", Input).value = "2025-02-10"
        await pilot.press("enter")
        await settle(pilot)
        assert "Rows 1–1 of 1" in screen_text(pilot)
        screen.query_one("#report-to", Input).value = "09/02/2025"
        await pilot.press("enter")
        await settle(pilot)
        assert "Dates are written YYYY-MM-DD" in screen_text(pilot)


async def test_export_writes_the_csv_and_is_audited(make_app: AppFactory, report_clinic: Accueil,
                                                    tmp_path: Path) -> None:
    app = make_app()
    target = tmp_path / "messages.csv"
    async with app.run_test(size=(80, 24)) as pilot:
        await open_reports(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, ReportExportScreen)
        assert "16 rows" in screen_text(pilot)
        app.screen.query_one("#export-path", Input).value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReportsScreen)
        assert f"16 rows written to {target}" in notes(app)
    with target.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Date", "Msg", "Chart", "Patient", "Sender", "Provider"] and len(rows) == 17
    with report_clinic.uow() as uow:  # who, which report, which days, how many rows; no patient
        [(actor, detail, patient_id)] = uow.session.execute(select(
            AuditEntry.actor, AuditEntry.detail, AuditEntry.patient_id).where(AuditEntry.action == "report.export"))
    assert actor == report_clinic.actor and patient_id is None
    assert detail == {"report": "messages-sent", "from": "2025-02-09", "to": "2025-03-10", "rows": 16,
                      "sender_id": None, "provider_id": None, "searched": False}


async def test_esc_cancels_an_export_and_leaves_no_file(make_app: AppFactory, clinic: Accueil, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import core.reports.export

    monkeypatch.setattr(core.reports.export, "PROGRESS_EVERY", 1)  # a progress call (and a check) every row
    # The export streams 3,000 rows faster than a key press can land: it is held after ten rows until
    # Esc has been pressed, so the test does not race it (the rows and the file are the real ones).
    real_cells, writing, pressed = core.reports.export.iter_cells, threading.Event(), threading.Event()

    def held_cells(*args, **kwargs):  # type: ignore[no-untyped-def]
        for number, cells in enumerate(real_cells(*args, **kwargs)):
            if number == 10:
                writing.set()
                pressed.wait(10)
            yield cells

    monkeypatch.setattr(core.reports.export, "iter_cells", held_cells)
    add_report_events(clinic, extra_links=3000)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_reports(pilot)
        screen.query_one("#report-name", Select).value = "links-created"
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        app.screen.query_one("#export-path", Input).value = str(tmp_path / "gros.csv")
        await pilot.press("enter")
        while not writing.is_set():
            await pilot.pause(0.01)
        assert [p.suffix for p in tmp_path.iterdir() if p.suffix in (".csv", ".part")] == [".part"]  # in progress
        bar = app.screen.query_one("#export-progress", ProgressBar)
        assert bar.display and (bar.progress, bar.total) == (10, 3024)  # ten rows written of 24 + 3,000
        await pilot.press("escape")
        pressed.set()
        await settle(pilot)
        assert isinstance(app.screen, ReportsScreen)
        assert "Export cancelled: no file was written." in notes(app)
    assert [p.name for p in tmp_path.iterdir() if p.suffix in (".csv", ".part")] == []


async def test_esc_before_starting_closes_and_an_existing_file_is_refused(make_app: AppFactory,
                                                                          report_clinic: Accueil,
                                                                          tmp_path: Path) -> None:
    app = make_app()
    existing = tmp_path / "deja.csv"
    existing.write_text("garder")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_reports(pilot)
        await pilot.press("e")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ReportsScreen)
        await pilot.press("e")
        await settle(pilot)
        app.screen.query_one("#export-path", Input).value = str(existing)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReportExportScreen)
        assert "Not exported: A file with that name exists already" in screen_text(pilot)
    assert existing.read_text() == "garder"


async def test_the_palette_opens_reports(make_app: AppFactory, report_clinic: Accueil) -> None:
    from tests.tui.test_sections import _palette_titles

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        titles = await _palette_titles(pilot, "report:")
        assert titles[0] == "report: open" and "report: export to CSV" in titles
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReportsScreen)
