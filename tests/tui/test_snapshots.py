"""Snapshots at 80×24 of the Patients screen with results and of the patient view (EN and FR).

Update with ``pytest tests/tui --snapshot-update`` and read the SVGs' text before committing.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot

from core.i18n import set_language
from tests.tui.conftest import settle
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]
SIZE = (80, 24)


async def _search_cote(pilot: Pilot[int]) -> None:
    await settle(pilot)
    await pilot.press(*"cote", "down")
    await settle(pilot)


async def _open_marie_cote(pilot: Pilot[int]) -> None:
    await _search_cote(pilot)
    await pilot.press("enter")
    await settle(pilot)


def test_patients_screen_with_results(snap_compare: Callable[..., bool], make_app: AppFactory) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_search_cote)


def test_patient_view(snap_compare: Callable[..., bool], make_app: AppFactory) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_open_marie_cote)


def test_patient_view_in_french(snap_compare: Callable[..., bool], make_app: AppFactory) -> None:
    set_language("fr")
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_open_marie_cote)
