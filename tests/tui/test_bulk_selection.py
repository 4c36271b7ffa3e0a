"""Pilot tests of TU-7 on the Patients screen: marks by keyboard, the count line, select all
matching from the palette, and result pages fetched as the highlight nears the end."""

from __future__ import annotations

from collections.abc import Callable

from core.bootstrap import Accueil
from core.db.models import Patient
from core.patients.keys import fold
from screens.patients import PatientsScreen
from tests.tui.conftest import screen_text, settle
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]


def patients_screen(app: AccueilApp) -> PatientsScreen:
    assert isinstance(app.screen, PatientsScreen)
    return app.screen


async def test_space_marks_after_the_arrows_and_shift_extends(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"marie", "space")  # before the arrows, Space is typed
        await settle(pilot)
        screen = patients_screen(app)
        assert screen.search_input.value == "marie " and screen.selected_patient_ids == set()
        await pilot.press("backspace", *"co")  # "marieco": nothing; then a fresh search
        await pilot.press(*["backspace"] * 7, *"cote")
        await settle(pilot)
        await pilot.press("down", "space")
        await settle(pilot)
        shown = screen_text(pilot)
        assert "2 patients · 1 marked" in shown and "✓ CÔTÉ, Marie (Mimi)" in shown
        await pilot.press("space")
        await settle(pilot)
        assert screen.selected_patient_ids == set() and "marked" not in screen_text(pilot)
        await pilot.press("shift+up")
        await settle(pilot)
        assert len(screen.selected_patient_ids) == 2 and "2 patients · 2 marked" in screen_text(pilot)
        await pilot.press("a")  # typing again: the marks stay, the search changes
        await settle(pilot)
        assert screen.search_input.value == "cotea" and len(screen.selected_patient_ids) == 2
        assert "No patient found. · 2 marked" in screen_text(pilot)
        app.command_patients("clear_marks")
        await settle(pilot)
        assert screen.selected_patient_ids == set()


async def test_mark_every_patient_matching_and_pages_fetched_on_the_way_down(make_app: AppFactory,
                                                                            clinic: Accueil) -> None:
    with clinic.uow(write=True) as uow:
        uow.session.add_all(Patient(chart_id=f"T{n:04d}", last_name="Tremblay", first_name=f"Élise {n:03d}",
                                    last_key="tremblay", first_key=fold(f"Élise {n:03d}"))
                            for n in range(130))
        uow.commit()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"tremblay")
        await settle(pilot)
        screen = patients_screen(app)
        assert screen.results.row_count == 50 and "50+ patients" in screen_text(pilot)
        for _page in range(6):
            await pilot.press("pagedown")
            await settle(pilot)
        assert screen.results.row_count == 131 and "131 patients" in screen_text(pilot)
        app.command_patients("select_all_matching")
        await settle(pilot)
        assert len(screen.selected_patient_ids) == 131
        assert "131 patients · 131 marked" in screen_text(pilot)
