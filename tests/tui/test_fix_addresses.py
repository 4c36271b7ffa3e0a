"""Pilot tests of the "fix this address" list: a 5.1.1 bounce puts the patient on it; Enter corrects
the address and sends the bounced email again; ``o`` opens the record; reachable from the Outbox and
the palette."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from textual.widgets import Checkbox, DataTable, Input

from core.bootstrap import Accueil
from core.db.models import Message, OutboxItem, Patient
from core.licences import grant_licence
from core.messaging.compose import Draft, send_draft
from core.outbox import queue
from core.users import add_user
from screens.fix_addresses import AddressDialog, FixAddressesScreen
from screens.patient_view import PatientViewScreen
from tests.tui.conftest import screen_text, settle
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]


@pytest.fixture
def patrick_bounced(clinic: Accueil) -> int:
    """A message to Patrick O'Neil bounced with 550 5.1.1 (Marie Côté's address was flagged before)."""
    with clinic.uow(write=True) as uow:
        patrick = uow.session.scalars(select(Patient).where(Patient.chart_id == "100104")).one()
        patrick.email_consent = True
        patient_id = patrick.id
        uow.commit()
    with clinic.uow(write=True) as uow:  # an EMR sender needs an active licence in the clinic (MS-7)
        add_user(uow, username="drgagne", display_name="Dre Lucie Gagné", role="provider", password=None)
    with clinic.uow(write=True) as uow:
        grant_licence(uow, "drgagne")
    with clinic.uow(write=True) as uow:
        result = send_draft(uow, Draft(patient_ids=(patient_id,), subject="Vaccination reminder", salutation="Hello,",
                                       body_html="<p>[weblink]</p>", sender_emr_name="front.desk"),
                            settings=clinic.settings, cipher=clinic.cipher)
    [item] = queue.claim(clinic, worker_id="test", limit=5)
    queue.mark_failed(clinic, item, "550 5.1.1 <patrick.oneil@example.net>: user unknown", address_bad=True)
    return result.message_ids[0]


def rows(app: AccueilApp) -> list[list[str]]:
    table = app.screen.query_one("#addresses-list", DataTable)
    return [[str(cell) for cell in table.get_row_at(row)] for row in range(table.row_count)]


async def open_list(pilot) -> None:  # type: ignore[no-untyped-def]
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    await pilot.press("a")
    await settle(pilot)
    assert isinstance(pilot.app.screen, FixAddressesScreen)


async def test_a_bounced_patient_is_listed_and_fixed(make_app: AppFactory, clinic: Accueil,
                                                     patrick_bounced: int) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_list(pilot)
        listed = rows(app)
        assert [row[1] for row in listed] == ["100104", "100101"]  # the newest bounce first
        assert listed[0][2] == "patrick.oneil@example.net"
        assert "Vaccination reminder" in screen_text(pilot) and "5.1.1" in screen_text(pilot)
        await pilot.press("enter")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, AddressDialog)
        assert dialog.query_one("#address-resend", Checkbox).value is True
        dialog.query_one("#address-input", Input).value = "patrick.oneil@example.com"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FixAddressesScreen)
        assert [row[1] for row in rows(app)] == ["100101"]
    with clinic.uow() as uow:
        message = uow.session.get(Message, patrick_bounced)
        assert message is not None and message.to_address == "patrick.oneil@example.com"
        states = list(uow.session.scalars(select(OutboxItem.state).where(OutboxItem.message_id == patrick_bounced)
                                          .order_by(OutboxItem.id)))
        assert states == ["failed", "pending"]


async def test_a_wrong_address_is_refused_and_the_patient_can_be_opened(make_app: AppFactory, clinic: Accueil,
                                                                         patrick_bounced: int) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_list(pilot)
        await pilot.press("enter")
        await settle(pilot)
        app.screen.query_one("#address-input", Input).value = "patrick at example"
        await pilot.press("enter")
        await settle(pilot)
        assert [row[1] for row in rows(app)] == ["100104", "100101"]  # nothing changed
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, PatientViewScreen)
        text = screen_text(pilot)
        assert "O'NEIL, Patrick" in text


async def test_the_palette_opens_the_list(make_app: AppFactory, clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"bounced")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FixAddressesScreen)
        assert [row[1] for row in rows(app)] == ["100101"]
