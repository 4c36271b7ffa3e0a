"""Snapshots at 80×24 (EN and FR) of the Reports section: a month of messages, its daily chart,
and the export dialog. Update with ``pytest tests/tui --snapshot-update`` and read the SVGs first."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from core.bootstrap import Accueil
from core.i18n import set_language
from tests.tui.conftest import low_colour, settle
from tests.tui.test_reports import add_report_events
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]
SIZE = (80, 24)


@pytest.fixture
def month_of_messages(clinic: Accueil) -> None:
    add_report_events(clinic, extra_links=60, spread_minutes=397)  # a chart with ups and downs


async def _open_links_report(pilot: Pilot[int]) -> None:
    await settle(pilot)
    await pilot.press("f5")
    await settle(pilot)
    from textual.widgets import Select, Static

    pilot.app.screen.query_one("#report-name", Select).value = "links-created"
    await settle(pilot)
    # The chart is read only after the rows are painted (a refresh later): on a busy machine that can
    # come after settle() has seen no worker running, so wait for the caption it writes.
    caption = pilot.app.screen.query_one("#report-caption", Static)
    for _round in range(200):
        if str(caption.content):
            break
        await pilot.pause(0.02)
        await settle(pilot)
    assert str(caption.content), "the daily chart never arrived"


async def _export_dialog(pilot: Pilot[int]) -> None:
    await _open_links_report(pilot)
    await pilot.press("e")
    await settle(pilot)
    from textual.widgets import Input

    pilot.app.screen.query_one("#export-path", Input).value = "/srv/exports/links-created-2025-02-09-2025-03-10.csv"
    await settle(pilot)


def test_reports_screen(snap_compare: Callable[..., bool], make_app: AppFactory, month_of_messages: None) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_open_links_report)


def test_reports_screen_in_french(snap_compare: Callable[..., bool], make_app: AppFactory,
                                  month_of_messages: None) -> None:
    set_language("fr")
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_open_links_report)


def test_report_export_dialog(snap_compare: Callable[..., bool], make_app: AppFactory,
                              month_of_messages: None) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_export_dialog)


def test_report_export_dialog_in_french(snap_compare: Callable[..., bool], make_app: AppFactory,
                                        month_of_messages: None) -> None:
    set_language("fr")
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_export_dialog)


def test_reports_screen_low_colour_in_french(snap_compare: Callable[..., bool], make_app: AppFactory,
                                             month_of_messages: None) -> None:
    set_language("fr")
    assert snap_compare(low_colour(make_app()), terminal_size=SIZE, run_before=_open_links_report)
