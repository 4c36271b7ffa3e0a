"""Pilot tests of the front desk's key path: search, move, open, come back; start-up failures."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import create_engine, select, text
from textual.widgets import DataTable, Input

from core.bootstrap import Accueil, bootstrap
from core.db.models import AuditEntry
from core.settings import Settings
from screens.patient_view import PatientViewScreen
from screens.patients import PatientsScreen
from tests.tui.conftest import screen_text, settle
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]


def names(app: AccueilApp) -> list[str]:
    table = app.screen.query_one("#results", DataTable)
    return [str(table.get_row_at(row)[0]) for row in range(table.row_count)]


def count_line(app: AccueilApp) -> str:
    return str(app.screen.query_one("#result-count").render())


async def test_typing_lists_both_cotes_whatever_the_accents(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"cote")
        await settle(pilot)
        assert names(app) == ["COTÉ, Jean-François", "CÔTÉ, Marie (Mimi)"]
        assert count_line(app) == "2 patients"


async def test_apostrophes_and_hyphens_are_ignored(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"oneil")
        await settle(pilot)
        assert names(app) == ["O'NEIL, Patrick"]
        assert count_line(app) == "1 patient"
        await pilot.press("escape", *"stp")
        await settle(pilot)
        assert names(app) == ["ST-PIERRE, Hélène"]


async def test_empty_search_shows_no_patient_but_a_hint(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert names(app) == []
        assert count_line(app) == "Type to search the clinic's patients."
        await pilot.press(*"zz")
        await settle(pilot)
        assert names(app) == []
        assert count_line(app) == "No patient found."


async def test_page_size_bounds_the_results_and_says_there_are_more(tui_settings: Settings, clinic: Accueil) -> None:
    app = AccueilApp(tui_settings.with_changes(search_page_size=3), lambda: clinic)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"1001")  # chart-ID prefix: all eight patients match
        await settle(pilot)
        assert len(names(app)) == 3
        assert count_line(app) == "3+ patients"


async def test_arrows_move_in_the_results_while_typing_goes_to_the_box(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"cote")
        await settle(pilot)
        table = app.screen.query_one("#results", DataTable)
        assert table.cursor_row == 0
        await pilot.press("down")
        assert table.cursor_row == 1
        await pilot.press("up")
        assert table.cursor_row == 0
        assert isinstance(app.focused, Input) and app.focused.value == "cote"


async def test_a_longer_query_listing_the_same_patients_keeps_the_highlight(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"cot", "down")
        await settle(pilot)
        await pilot.press("e")  # "cote": the same two patients, so the table is not redrawn
        await settle(pilot)
        assert names(app) == ["COTÉ, Jean-François", "CÔTÉ, Marie (Mimi)"]
        assert app.screen.query_one("#results", DataTable).cursor_row == 1
        await pilot.press(*["backspace"] * 4, *"oneil")  # another patient: a new list, highlight on top
        await settle(pilot)
        assert names(app) == ["O'NEIL, Patrick"]
        assert app.screen.query_one("#results", DataTable).cursor_row == 0


async def test_the_highlight_stays_in_view_when_it_moves_past_the_last_visible_row(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 10)) as pilot:  # room for about four rows of results
        await settle(pilot)
        await pilot.press(*"1001")  # chart-ID prefix: all eight patients
        await settle(pilot)
        table = app.screen.query_one("#results", DataTable)
        await pilot.press(*["down"] * 7)
        await pilot.pause()
        assert table.cursor_row == 7
        assert table.scroll_y > 0
        assert "NGUYEN, Linh" in screen_text(pilot)


async def test_enter_opens_the_record_and_escape_comes_back_to_the_same_results(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"cote", "down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, PatientViewScreen)
        shown = app.screen.query_one("#record-body").render()
        assert "100101" in str(shown)
        assert "CÔTÉ, Marie (Mimi)" in str(shown)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, PatientsScreen)
        assert names(app) == ["COTÉ, Jean-François", "CÔTÉ, Marie (Mimi)"]
        assert app.screen.query_one("#results", DataTable).cursor_row == 1
        assert app.screen.query_one("#search", Input).value == "cote"


async def test_opening_a_record_is_audited(make_app: AppFactory, clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"oneil", "enter")
        await settle(pilot)
    with clinic.uow() as uow:
        views = uow.session.execute(select(AuditEntry.action, AuditEntry.detail)
                                    .where(AuditEntry.action == "patient.view")).all()
    assert [(action, detail) for action, detail in views] == [("patient.view", {"via": "search"})]


async def test_the_record_shows_consents_marks_and_appointments_in_order(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"cote, marie", "enter")
        await settle(pilot)
        shown = str(app.screen.query_one("#record-body").render())
    assert "marie.cote@example.com  bad address" in shown
    assert "yes, May 26, 2023" in shown  # email consent and its date, written for the language
    assert "May 12, 1980 (44 years)" in shown  # the clock is pinned to 2025-03-10
    assert "Patient app" in shown
    upcoming, recent = shown.index("Upcoming appointments"), shown.index("Recent appointments")
    # Local (Toronto) times: 14:30 UTC is 10:30 EDT on 14 March, 15:00 UTC is 10:00 EST on 3 February.
    assert upcoming < shown.index("March 14, 2025 at 10:30 AM") < shown.index("Dr Samuel Okafor", upcoming) < recent
    assert recent < shown.index("February 3, 2025 at 10:00 AM") < shown.index("Dr Anne Tremblay", recent)


async def test_typing_before_the_clinic_is_open_is_searched_once_it_is(make_app: AppFactory,
                                                                        clinic: Accueil) -> None:
    release = threading.Event()

    def slow_opener() -> Accueil:
        release.wait(10)
        return clinic

    app = make_app(opener=slow_opener)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"cote")
        assert app.accueil is None
        assert count_line(app) == "Opening the clinic…"
        assert app.screen.query_one("#search", Input).value == "cote"
        release.set()
        await settle(pilot)
        assert names(app) == ["COTÉ, Jean-François", "CÔTÉ, Marie (Mimi)"]


@pytest.mark.parametrize(("then", "expected"), [
    (["escape", *"cote"], ["COTÉ, Jean-François", "CÔTÉ, Marie (Mimi)"]),
    (["escape"], []),
])
async def test_a_slow_stale_search_never_replaces_what_the_box_now_asks(
        make_app: AppFactory, monkeypatch: pytest.MonkeyPatch, then: list[str], expected: list[str]) -> None:
    from core.patients import search as search_module

    real_search = search_module.search_patients
    gate, stale_done = threading.Event(), threading.Event()

    def search(session: object, query: str, **options: object) -> object:
        if query != "gau":
            return real_search(session, query, **options)  # type: ignore[arg-type]
        gate.wait(10)
        try:
            return real_search(session, query, **options)  # type: ignore[arg-type]
        finally:
            stale_done.set()

    monkeypatch.setattr(search_module, "search_patients", search)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"gau")
        await pilot.pause()
        await pilot.press(*then)
        await pilot.pause()
        gate.set()
        await asyncio.to_thread(stale_done.wait, 10)
        await settle(pilot)
        assert names(app) == expected


async def test_escape_clears_the_search(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"cote")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.query_one("#search", Input).value == ""
        assert names(app) == []


def _future_schema(settings: Settings) -> Settings:
    engine = create_engine(settings.resolved_database_url())
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    engine.dispose()
    return settings


@pytest.mark.parametrize(("breakage", "reason"), [
    (lambda s: s.with_changes(site_key="Another-Valid-Key-99!"), "does not match"),
    (lambda s: s.with_changes(database_url="postgresql+psycopg://nobody@127.0.0.1:9/none"), "Cannot reach"),
    (_future_schema, "newer than this version"),
], ids=["wrong-site-key", "database-unreachable", "schema-newer-than-code"])
async def test_a_clinic_that_cannot_open_ends_with_code_2_and_one_line(
        tui_settings: Settings, clinic: Accueil, breakage: Callable[[Settings], Settings], reason: str) -> None:
    clinic.dispose()
    broken = breakage(tui_settings)
    app = AccueilApp(broken, lambda: bootstrap(broken))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
    assert app.return_code == 2
    assert app.startup_error is not None
    assert reason in app.startup_error
    assert "\n" not in app.startup_error and "Traceback" not in app.startup_error
