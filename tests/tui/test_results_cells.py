"""The results table shows cells as plain text: square brackets in a name are not Rich markup."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from textual.widgets import DataTable

from core.bootstrap import Accueil
from core.db.models import Patient
from core.patients.keys import fold
from tests.tui.conftest import screen_text, settle
from tui.app import AccueilApp


async def test_brackets_in_names_are_shown_as_typed_and_never_break_the_table(
        make_app: Callable[..., AccueilApp], clinic: Accueil) -> None:
    with clinic.uow(write=True) as uow:
        for chart, last, first in (("900001", "Roy", "Anne [jumelle]"), ("900002", "Roy", "Luc [/]")):
            uow.session.add(Patient(chart_id=chart, last_name=last, first_name=first, last_key=fold(last),
                                    first_key=fold(first), date_of_birth=date(1990, 1, 1)))
        uow.commit()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"roy")
        await settle(pilot)
        table = app.screen.query_one("#results", DataTable)
        assert [str(table.get_row_at(row)[0]) for row in range(table.row_count)] == [
            "ROY, Anne [jumelle]", "ROY, Luc [/]"]
        text = screen_text(pilot)
        assert "ROY, Anne [jumelle]" in text and "ROY, Luc [/]" in text
        await pilot.press("down", "space")  # a mark redraws the name cell
        await settle(pilot)
        assert str(table.get_row_at(1)[0]) == "✓ ROY, Luc [/]"
