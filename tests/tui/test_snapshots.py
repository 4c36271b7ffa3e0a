"""Snapshots at 80×24 (EN and FR): the Patients screen with results, the patient view, the Outbox
screen and the F1 help modal.

Update with ``pytest tests/tui --snapshot-update`` and read the SVGs' text before committing.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import update
from textual.pilot import Pilot

from core.bootstrap import Accueil
from core.i18n import set_language
from core.outbox.queue import OUTBOX
from tests.tui.conftest import NOW, settle
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


# -- the Outbox screen and the F1 help (sections, help) ------------------------------------------
@pytest.fixture
def queued_outbox(clinic: Accueil) -> None:
    from core.outbox.worker import worker_for
    from tests.tui.test_outbox import queue_email, set_state

    queue_email(clinic, 1, "marie.cote@example.com", "Votre message de la clinique")
    queue_email(clinic, 2, "patrick.oneil@example.net", "A message from your clinic")
    worker_for(clinic, worker_id="snapshot-worker").run_once()
    set_state(clinic, queue_email(clinic, 3, "nobody@example.org", "Refused"), "failed",
              "550 5.1.1 <address>: mailbox unavailable")
    set_state(clinic, queue_email(clinic, 4, "jf.cote@example.org", "Lost reply"), "uncertain",
              "connection lost after the message content was sent")
    item_id = queue_email(clinic, 5, "linh.nguyen@example.com", "Waiting")
    with clinic.uow(write=True) as uow:  # a fixed next try, so the snapshot does not follow the clock
        uow.session.execute(update(OUTBOX).where(OUTBOX.c.id == item_id).values(next_try_at=NOW))
        uow.commit()


async def _open_outbox(pilot: Pilot[int]) -> None:
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    await pilot.press("down", "down")  # the failed item: its error line
    await settle(pilot)


async def _help_on_search(pilot: Pilot[int]) -> None:
    await settle(pilot)
    await pilot.press("f1")
    await settle(pilot)


@pytest.mark.usefixtures("queued_outbox")
def test_outbox_screen(snap_compare: Callable[..., bool], make_app: AppFactory) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_open_outbox)


@pytest.mark.usefixtures("queued_outbox")
def test_outbox_screen_in_french(snap_compare: Callable[..., bool], make_app: AppFactory) -> None:
    set_language("fr")
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_open_outbox)


def test_help_modal(snap_compare: Callable[..., bool], make_app: AppFactory) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_help_on_search)


def test_help_modal_in_french(snap_compare: Callable[..., bool], make_app: AppFactory) -> None:
    set_language("fr")
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_help_on_search)
