"""Snapshots at 80×24 of the Campaigns section, in English and French: the list, the detail of a new
invitation, a campaign's patients and the condition builder."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot

from core.i18n import set_language
from tests.tui import campaign_clinic as fixtures
from tests.tui.conftest import low_colour, settle

campaign_clinic = fixtures.campaign_clinic
campaign_app = fixtures.campaign_app
SIZE = (80, 24)


async def _campaigns(pilot: Pilot[int]) -> None:
    await settle(pilot)
    await pilot.press("f4")
    await settle(pilot)


async def _new_invitation(pilot: Pilot[int]) -> None:
    await _campaigns(pilot)
    await pilot.press("n")
    await settle(pilot)


async def _invitation_patients(pilot: Pilot[int]) -> None:
    await _campaigns(pilot)
    screen = pilot.app.screen
    screen.table.move_cursor(row=[c.name for c in screen.campaigns].index("Invitation à l'application"))
    await pilot.press("enter")
    await settle(pilot)


async def _conditions(pilot: Pilot[int]) -> None:
    await _invitation_patients(pilot)
    await pilot.press("a")
    await settle(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)


def test_campaign_list(snap_compare: Callable[..., bool], campaign_app) -> None:
    assert snap_compare(campaign_app(), terminal_size=SIZE, run_before=_campaigns)


def test_campaign_list_in_french(snap_compare: Callable[..., bool], campaign_app) -> None:
    set_language("fr")
    assert snap_compare(campaign_app(), terminal_size=SIZE, run_before=_campaigns)


def test_new_invitation(snap_compare: Callable[..., bool], campaign_app) -> None:
    assert snap_compare(campaign_app(), terminal_size=SIZE, run_before=_new_invitation)


def test_new_invitation_in_french(snap_compare: Callable[..., bool], campaign_app) -> None:
    set_language("fr")
    assert snap_compare(campaign_app(), terminal_size=SIZE, run_before=_new_invitation)


def test_campaign_patients(snap_compare: Callable[..., bool], campaign_app) -> None:
    assert snap_compare(campaign_app(), terminal_size=SIZE, run_before=_invitation_patients)


def test_campaign_patients_in_french(snap_compare: Callable[..., bool], campaign_app) -> None:
    set_language("fr")
    assert snap_compare(campaign_app(), terminal_size=SIZE, run_before=_invitation_patients)


def test_condition_builder(snap_compare: Callable[..., bool], campaign_app) -> None:
    assert snap_compare(campaign_app(), terminal_size=SIZE, run_before=_conditions)


def test_condition_builder_in_french(snap_compare: Callable[..., bool], campaign_app) -> None:
    set_language("fr")
    assert snap_compare(campaign_app(), terminal_size=SIZE, run_before=_conditions)


def test_campaign_list_low_colour_in_french(snap_compare: Callable[..., bool], campaign_app) -> None:
    set_language("fr")
    assert snap_compare(low_colour(campaign_app()), terminal_size=SIZE, run_before=_campaigns)


def test_condition_builder_low_colour_in_french(snap_compare: Callable[..., bool], campaign_app) -> None:
    set_language("fr")
    assert snap_compare(low_colour(campaign_app()), terminal_size=SIZE, run_before=_conditions)
