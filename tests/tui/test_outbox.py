"""Pilot tests of the Outbox screen: items queued here, delivered to the local mailbox by a real
worker run, listed with their counts, filtered, opened as the patient sees them, resent."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

import pytest
from sqlalchemy import select, update
from textual.widgets import DataTable

from core.bootstrap import Accueil
from core.outbox.queue import OUTBOX, enqueue
from core.outbox.worker import email_payload, worker_for
from screens.confirm import ConfirmScreen
from screens.email_view import EmailViewScreen
from screens.outbox import OutboxScreen
from tests.tui.conftest import screen_text, settle
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]
SENDER = "no-reply@clinique-plateau.example"


def queue_email(clinic: Accueil, number: int, to: str, subject: str) -> int:
    message = EmailMessage()
    message["From"] = f"Clinique synthétique du Plateau <{SENDER}>"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = "Mon, 10 Mar 2025 09:00:00 -0400"
    message["Message-ID"] = f"<test-{number}@clinique-plateau.example>"
    message.set_content(f"Bonjour,\n\nVous avez un nouveau message sécurisé ({number}).\n")
    with clinic.uow(write=True) as uow:
        item_id = enqueue(uow.session, kind="email", idempotency_key=f"test-{number}",
                          payload=email_payload(sender=SENDER, to=to, message_bytes=message.as_bytes(),
                                                cipher=clinic.cipher))
        uow.commit()
    return item_id


def set_state(clinic: Accueil, item_id: int, state: str, error: str | None = None) -> None:
    with clinic.uow(write=True) as uow:
        uow.session.execute(update(OUTBOX).where(OUTBOX.c.id == item_id).values(state=state, last_error=error))
        uow.commit()


@pytest.fixture
def outbox(clinic: Accueil) -> dict[str, int]:
    """Two emails delivered to the mailbox, one failed, one uncertain, one still pending."""
    ids = {"marie": queue_email(clinic, 1, "marie.cote@example.com", "Votre message de la clinique"),
           "patrick": queue_email(clinic, 2, "patrick.oneil@example.net", "A message from your clinic")}
    worker = worker_for(clinic, worker_id="test-worker")
    assert worker.run_once() == 2
    ids["failed"] = queue_email(clinic, 3, "nobody@example.org", "Refused")
    set_state(clinic, ids["failed"], "failed", "550 5.1.1 <address>: mailbox unavailable")
    ids["uncertain"] = queue_email(clinic, 4, "jf.cote@example.org", "Lost reply")
    set_state(clinic, ids["uncertain"], "uncertain", "connection lost after the message content was sent")
    ids["pending"] = queue_email(clinic, 5, "linh.nguyen@example.com", "Waiting")
    return ids


def rows(app: AccueilApp) -> list[list[str]]:
    table = app.screen.query_one("#outbox-items", DataTable)
    return [[str(cell) for cell in table.get_row_at(row)] for row in range(table.row_count)]


async def open_outbox(pilot) -> None:  # type: ignore[no-untyped-def]
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    assert isinstance(pilot.app.screen, OutboxScreen)


async def test_the_outbox_lists_items_newest_first_with_counts(make_app: AppFactory, outbox: dict[str, int]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_outbox(pilot)
        listed = rows(app)
        assert [row[0] for row in listed] == [str(outbox[k]) for k in ("pending", "uncertain", "failed", "patrick",
                                                                         "marie")]
        assert [row[1] for row in listed] == ["pending", "uncertain", "failed", "sent", "sent"]
        assert listed[-1][5] == "marie.cote@example.com"
        shown = screen_text(pilot)
        assert "Pending 1 · Sending 0 · Sent 2 · Failed 1 · Uncertain 1" in shown
        assert "Last error" not in shown.splitlines()[-3]  # the pending item has none
        await pilot.press("down", "down")
        await settle(pilot)
        assert "Last error: 550 5.1.1 <address>: mailbox unavailable" in screen_text(pilot)


async def test_the_filter_shows_one_state_at_a_time(make_app: AppFactory, outbox: dict[str, int]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_outbox(pilot)
        await pilot.press("f")  # pending
        await settle(pilot)
        assert [row[1] for row in rows(app)] == ["pending"]
        await pilot.press("f", "f")  # failed, then uncertain
        await settle(pilot)
        assert [row[0] for row in rows(app)] == [str(outbox["uncertain"])]
        assert "Showing: uncertain · 1 listed" in screen_text(pilot)
        await pilot.press("f")  # sent
        await settle(pilot)
        assert [row[5] for row in rows(app)] == ["patrick.oneil@example.net", "marie.cote@example.com"]


async def test_refresh_shows_what_the_worker_did_meanwhile(make_app: AppFactory, clinic: Accueil,
                                                           outbox: dict[str, int]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_outbox(pilot)
        assert worker_for(clinic, worker_id="test-worker-2").run_once() == 1
        await pilot.press("r")
        await settle(pilot)
        assert rows(app)[0][1] == "sent"
        assert "Pending 0 · Sending 0 · Sent 3" in screen_text(pilot)


async def test_opening_a_delivered_item_shows_the_email_as_the_patient_gets_it(
        make_app: AppFactory, outbox: dict[str, int]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_outbox(pilot)
        await pilot.press("down", "down", "down", "down", "enter")  # Marie's, the oldest
        await settle(pilot)
        assert isinstance(app.screen, EmailViewScreen)
        shown = screen_text(pilot)
        assert "From     Clinique synthétique du Plateau <no-reply@clinique-plateau.example>" in shown
        assert "To       marie.cote@example.com" in shown
        assert "Subject  Votre message de la clinique" in shown
        assert "Date     Mon, 10 Mar 2025 09:00:00 -0400" in shown
        assert "Vous avez un nouveau message sécurisé (1)." in shown
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)
        await pilot.press("up", "up", "up", "up", "enter")  # the pending one: not in the mailbox yet
        await settle(pilot)
        assert "not in the local mailbox" in screen_text(pilot)


async def test_resending_an_uncertain_item_asks_first(make_app: AppFactory, clinic: Accueil,
                                                      outbox: dict[str, int]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_outbox(pilot)
        await pilot.press("s")  # on the pending item: refused with a word
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("down", "s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "may already have reached the patient" in screen_text(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)
        assert rows(app)[1][1] == "uncertain"
        await pilot.press("s", "y")
        await settle(pilot)
        assert rows(app)[1][1] == "pending"
        with clinic.uow() as uow:
            state = uow.session.execute(select(OUTBOX.c.state).where(OUTBOX.c.id == outbox["uncertain"])).scalar()
        assert state == "pending"


async def test_f1_on_the_outbox_explains_the_list_and_its_keys(make_app: AppFactory, outbox: dict[str, int]) -> None:
    from screens.help import HelpScreen

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_outbox(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        topic = app.screen.topic
        assert topic.focus_text == "The newest outbox items first. Enter opens the email as the patient received it."
        assert ("s", "Resend", "Send an uncertain item again, after confirmation.") in \
            [(key.key, key.description, key.tooltip) for key in topic.screen_keys]
        assert "outbox holds every email" in screen_text(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)


async def test_the_palette_command_for_uncertain_emails_filters_the_outbox(make_app: AppFactory,
                                                                          outbox: dict[str, int]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"uncertain")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)
        assert [row[0] for row in rows(app)] == [str(outbox["uncertain"])]
