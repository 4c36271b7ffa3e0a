"""The outbox and its worker against a real SMTP server (aiosmtpd on loopback), on both backends.

The server's replies are scripted per command (MAIL, RCPT, DATA): a reply such as
``451 4.3.0 busy`` or ``550 5.1.1 unknown``, or ``DROP`` to close the connection at that point.
A message whose content reached the server is counted by its Message-ID, so a test can tell
"delivered once" from "lost" and "sent twice". ``ScriptedSmtpServer`` is reused by the crash test.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ipaddress
import logging
import ssl
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import func, select, update

from core.bootstrap import Accueil, bootstrap
from core.crypto import SiteCipher
from core.db.models import Message, OutboxItem, Patient
from core.errors import InvalidInput, NotFound
from core.outbox import queue, staff
from core.outbox.queue import LostClaim, enqueue
from core.outbox.transports import MailboxTransport, SmtpTransport
from core.outbox.worker import Worker, email_payload, worker_for
from core.settings import SmtpSettings

logging.getLogger("mail.log").setLevel(logging.WARNING)


# -- a scripted SMTP server ---------------------------------------------------------------------

class ScriptedHandler:
    """aiosmtpd handler: scripted replies per command, Message-IDs counted as the content arrives."""

    def __init__(self) -> None:
        self.script: dict[str, deque[str]] = {"MAIL": deque(), "RCPT": deque(), "DATA": deque()}
        self.received: Counter[str] = Counter()
        self.changed = threading.Condition()
        # Called in the server's loop thread on every command (name, count received so far).
        self.on_command: Callable[[str, int], None] | None = None

    def _next(self, command: str, server: Any) -> str | None:
        if self.on_command is not None:
            self.on_command(command, sum(self.received.values()))
        reply = self.script[command].popleft() if self.script[command] else None
        if reply == "DROP":
            server.transport.close()
        return reply

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        reply = self._next("MAIL", server)
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        reply = self._next("RCPT", server)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = self._next("DATA", server)
        if reply and reply != "DROP":
            return reply
        # Accepted, or dropped after the content arrived: either way the server holds it now.
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.changed:
            self.received[str(message["Message-ID"])] += 1
            self.last_content = envelope.content
            self.changed.notify_all()
        return "250 OK"

    def wait_received(self, total: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while sum(self.received.values()) < total:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"server received {sum(self.received.values())} of {total} messages")
                self.changed.wait(left)


class _Controller(Controller):
    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]  # bound to port 0: learn the real one
        super()._trigger_server()


class ScriptedSmtpServer:
    def __init__(self, **controller_options: Any) -> None:
        self.handler = ScriptedHandler()
        self.controller = _Controller(self.handler, hostname="127.0.0.1", port=0, **controller_options)

    def __enter__(self) -> ScriptedSmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self.controller.loop

    def settings(self, **changes: Any) -> SmtpSettings:
        return replace(SmtpSettings(host="127.0.0.1", port=self.port, security="none", timeout_seconds=5.0),
                       **changes)


@pytest.fixture
def smtp_server() -> Iterator[ScriptedSmtpServer]:
    with ScriptedSmtpServer() as server:
        yield server


class FakeClock:
    def __init__(self) -> None:
        # Starts a little after the real clock, so items queued just before are due.
        self.now = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


# -- synthetic data -----------------------------------------------------------------------------

def add_patient(session: Any, n: int, email_address: str | None = None) -> int:
    patient = Patient(chart_id=f"T{n:06d}", last_name=f"Patient{n}", first_name="Synth", last_key=f"patient{n}",
                      first_key="synth", email=email_address or f"patient{n}@example.test", email_consent=True)
    session.add(patient)
    session.flush()
    return patient.id


def build_email(to: str, subject: str = "Votre message sécurisé / Your secure message",
                body: str = "Bonjour,\n.une ligne qui commence par un point\nMerci.\n") -> tuple[bytes, str]:
    message = EmailMessage()
    message["From"] = "Clinique synthétique <no-reply@clinic.example.test>"
    message["To"] = to
    message["Subject"] = subject
    message_id = make_msgid(domain="clinic.example.test")
    message["Message-ID"] = message_id
    message.set_content(body)
    return message.as_bytes(policy=email.policy.SMTP), message_id


def plain_email(to: str) -> tuple[bytes, str]:
    """A minimal ASCII message, for tests that queue thousands (EmailMessage costs milliseconds each)."""
    message_id = make_msgid(domain="clinic.example.test")
    raw = (f"From: no-reply@clinic.example.test\r\nTo: {to}\r\nSubject: Secure message\r\n"
           f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n"
           f"\r\nYou have a secure message.\r\n.A line starting with a dot\r\n")
    return raw.encode("ascii"), message_id


def queue_email(session: Any, cipher: SiteCipher, patient_id: int, to: str, key: str, *,
                plain: bool = False) -> tuple[int, int, str]:
    """A Message row and its outbox item in the caller's transaction: (outbox id, message id, Message-ID)."""
    raw, message_id_header = plain_email(to) if plain else build_email(to)
    message = Message(patient_id=patient_id, kind="secure_message", to_address=to, subject="Secure message",
                      body_html="<b>x</b>", body_text="x", message_id_header=message_id_header)
    session.add(message)
    session.flush()
    outbox_id = enqueue(session, kind="email", idempotency_key=key, message_id=message.id,
                        payload=email_payload(sender="no-reply@clinic.example.test", to=to, message_bytes=raw,
                                              cipher=cipher))
    return outbox_id, message.id, message_id_header


def one_email(app: Accueil, address: str = "zoe.cote@example.test") -> tuple[int, int, str]:
    with app.uow(write=True) as uow:
        patient_id = add_patient(uow.session, 1, address)
        ids = queue_email(uow.session, app.cipher, patient_id, address, "message:1")
        uow.commit()
    return ids


def outbox_row(app: Accueil, outbox_id: int) -> Any:
    with app.uow() as uow:
        table = OutboxItem.__table__
        return uow.session.execute(select(table).where(table.c.id == outbox_id)).one()


def delivery_state(app: Accueil, message_id: int) -> str:
    with app.uow() as uow:
        return uow.session.scalar(select(Message.delivery_state).where(Message.id == message_id))


def smtp_worker(app: Accueil, server: ScriptedSmtpServer, clock: FakeClock | None = None, **options: Any) -> Worker:
    return Worker(app, SmtpTransport(server.settings()), worker_id="test-worker", clock=clock or FakeClock(),
                  **options)


# -- enqueue --------------------------------------------------------------------------------------

def test_enqueue_belongs_to_the_callers_transaction(app: Accueil) -> None:
    with app.uow(write=True) as uow:
        patient_id = add_patient(uow.session, 1)
        queue_email(uow.session, app.cipher, patient_id, "a@example.test", "message:1")
        # no commit: the message and its outbox item vanish together
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxItem)) == 0
        assert uow.session.scalar(select(func.count()).select_from(Message)) == 0


def test_duplicate_idempotency_key_gives_one_row(app: Accueil) -> None:
    payload = {"from": "a@example.test", "to": "b@example.test", "raw": ""}
    with app.uow(write=True) as uow:
        first = enqueue(uow.session, kind="email", payload=payload, idempotency_key="campaign:7:patient:3")
        again = enqueue(uow.session, kind="email", payload=payload, idempotency_key="campaign:7:patient:3")
        uow.commit()
    with app.uow(write=True) as uow:
        later = enqueue(uow.session, kind="email", payload=payload, idempotency_key="campaign:7:patient:3")
        uow.commit()
    assert first == again == later
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxItem)) == 1


def test_enqueue_many_returns_ids_in_order_and_skips_known_keys(app: Accueil) -> None:
    payload = {"from": "a@example.test", "to": "b@example.test", "raw": ""}
    with app.uow(write=True) as uow:
        known = enqueue(uow.session, kind="email", payload=payload, idempotency_key="campaign:7:patient:2")
        ids = queue.enqueue_many(uow.session, [
            queue.OutboxRequest("email", payload, f"campaign:7:patient:{n}") for n in (1, 2, 3, 1)])
        uow.commit()
    assert ids[1] == known and ids[0] == ids[3] and len(set(ids)) == 3
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxItem)) == 3


def test_concurrent_duplicate_enqueue_gives_one_row(app: Accueil) -> None:
    """Two staff pressing Send at once: the second waits for the first and gets its row."""
    payload = {"from": "a@example.test", "to": "b@example.test", "raw": ""}
    other = bootstrap(app.settings, actor="second-session")
    results: dict[str, int] = {}
    started = threading.Event()

    def second() -> None:
        started.set()
        with other.uow(write=True) as uow:
            results["second"] = enqueue(uow.session, kind="email", payload=payload, idempotency_key="k")
            uow.commit()

    try:
        with app.uow(write=True) as uow:
            results["first"] = enqueue(uow.session, kind="email", payload=payload, idempotency_key="k")
            thread = threading.Thread(target=second)
            thread.start()
            started.wait(5)
            assert "second" not in results  # it cannot get past our uncommitted row
            uow.commit()
        thread.join(10)
        assert not thread.is_alive()
    finally:
        other.dispose()
    assert results["first"] == results["second"]
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxItem)) == 1


# -- outcomes over real SMTP ---------------------------------------------------------------------

def test_message_is_sent_once_with_its_content_intact(app: Accueil, smtp_server: ScriptedSmtpServer) -> None:
    outbox_id, message_id, header = one_email(app)
    worker = smtp_worker(app, smtp_server)
    assert worker.run_once() == 1
    assert worker.run_once() == 0
    row = outbox_row(app, outbox_id)
    assert (row.state, row.attempts, row.last_error, row.done_at) == ("sent", 1, None, worker.clock())
    assert delivery_state(app, message_id) == "sent"
    with app.uow() as uow:
        assert uow.session.scalar(select(Message.sent_at)) == worker.clock()
    assert smtp_server.handler.received == Counter({header: 1})
    received = email.message_from_bytes(smtp_server.handler.last_content, policy=email.policy.default)
    assert ".une ligne qui commence par un point" in received.get_content()  # dot-stuffing undone
    assert received["Subject"] == "Votre message sécurisé / Your secure message"


@pytest.mark.parametrize(("command", "reply"), [
    ("MAIL", "451 4.3.2 system not accepting messages"),
    ("RCPT", "450 4.2.1 mailbox busy"),
    ("RCPT", "421 4.3.2 closing"),
    ("RCPT", "452 4.5.3 too many recipients"),
    ("DATA", "451 4.3.0 local error in processing"),
    ("RCPT", "DROP"),
])
def test_temporary_failure_is_retried_with_back_off_then_sent(
        app: Accueil, smtp_server: ScriptedSmtpServer, command: str, reply: str) -> None:
    outbox_id, message_id, header = one_email(app)
    clock = FakeClock()
    worker = smtp_worker(app, smtp_server, clock)
    smtp_server.handler.script[command].extend([reply, reply])
    started = clock.now

    assert worker.run_once() == 1
    row = outbox_row(app, outbox_id)
    assert (row.state, row.attempts, row.next_try_at) == ("pending", 1, started + timedelta(seconds=60))
    assert "@" not in (row.last_error or "")
    assert delivery_state(app, message_id) == "queued"

    clock.advance(59)
    assert worker.run_once() == 0  # not due yet
    clock.advance(1)
    assert worker.run_once() == 1  # second failure: the wait doubles
    row = outbox_row(app, outbox_id)
    assert (row.state, row.attempts, row.next_try_at) == ("pending", 2, clock.now + timedelta(seconds=120))

    clock.advance(120)
    assert worker.run_once() == 1  # the server has recovered
    row = outbox_row(app, outbox_id)
    assert (row.state, row.attempts) == ("sent", 3)
    assert delivery_state(app, message_id) == "sent"
    assert smtp_server.handler.received == Counter({header: 1})


@pytest.mark.parametrize("reply", ["DROP", "421 4.4.2 idle too long"])
def test_connection_closed_between_messages_is_reopened(
        app: Accueil, smtp_server: ScriptedSmtpServer, reply: str) -> None:
    """One connection serves many messages; when the server has closed it meanwhile, reconnect, no retry."""
    with app.uow(write=True) as uow:
        patient_id = add_patient(uow.session, 1)
        ids = [queue_email(uow.session, app.cipher, patient_id, "a@example.test", f"m:{n}")[0] for n in range(3)]
        uow.commit()
    transport = SmtpTransport(smtp_server.settings())
    smtp_server.handler.script["MAIL"].extend(["", reply])  # the second message meets a closed connection
    assert Worker(app, transport, worker_id="w", clock=FakeClock()).run_once() == 3
    assert [(outbox_row(app, i).state, outbox_row(app, i).attempts) for i in ids] == [("sent", 1)] * 3
    assert transport.connections == 2
    assert sum(smtp_server.handler.received.values()) == 3


def test_back_off_is_capped_and_gives_up_at_max_attempts(app: Accueil, smtp_server: ScriptedSmtpServer) -> None:
    policy = queue.RetryPolicy(base_seconds=60, factor=2, cap_seconds=3600, max_attempts=9)
    assert [policy.delay(n).total_seconds() for n in range(1, 10)] == [
        60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    outbox_id, message_id, _ = one_email(app)
    clock = FakeClock()
    worker = smtp_worker(app, smtp_server, clock, policy=policy)
    smtp_server.handler.script["RCPT"].extend(["450 4.2.1 busy"] * 9)
    for _ in range(9):
        assert worker.run_once() == 1
        clock.advance(3600)
    row = outbox_row(app, outbox_id)
    assert (row.state, row.attempts) == ("failed", 9)
    assert delivery_state(app, message_id) == "failed"
    assert worker.run_once() == 0


@pytest.mark.parametrize(("command", "reply"), [
    ("MAIL", "553 5.7.1 sender not allowed"),
    ("RCPT", "554 5.7.1 relay access denied"),
    ("DATA", "552 5.3.4 message too big"),
    ("DATA", "554 5.6.0 content rejected"),
])
def test_permanent_failure_is_never_retried(
        app: Accueil, smtp_server: ScriptedSmtpServer, command: str, reply: str) -> None:
    outbox_id, message_id, _ = one_email(app)
    clock = FakeClock()
    worker = smtp_worker(app, smtp_server, clock)
    smtp_server.handler.script[command].append(reply)
    assert worker.run_once() == 1
    row = outbox_row(app, outbox_id)
    assert (row.state, row.attempts) == ("failed", 1)
    assert row.last_error.startswith(reply[:3])
    assert delivery_state(app, message_id) == "failed"
    clock.advance(7 * 86400)
    assert worker.run_once() == 0
    assert sum(smtp_server.handler.received.values()) == 0
    with app.uow() as uow:
        assert uow.session.scalar(select(Patient.email_bad_at)) is None  # not an address problem


def test_unknown_user_fails_and_flags_the_patients_address(app: Accueil, smtp_server: ScriptedSmtpServer) -> None:
    address = "ancienne.adresse@example.test"
    outbox_id, message_id, _ = one_email(app, address)
    smtp_server.handler.script["RCPT"].append(f"550 5.1.1 <{address}>: Recipient address rejected: user unknown")
    worker = smtp_worker(app, smtp_server)
    assert worker.run_once() == 1
    row = outbox_row(app, outbox_id)
    assert row.state == "failed"
    assert "5.1.1" in row.last_error and "@" not in row.last_error  # no address kept in the error
    assert delivery_state(app, message_id) == "failed"
    with app.uow() as uow:
        assert uow.session.scalar(select(Patient.email_bad_at)) == worker.clock()


def test_bounce_for_an_address_since_corrected_leaves_the_new_one_alone(
        app: Accueil, smtp_server: ScriptedSmtpServer) -> None:
    outbox_id, _, _ = one_email(app, "old@example.test")
    with app.uow(write=True) as uow:
        uow.session.execute(update(Patient).values(email="new@example.test"))
        uow.commit()
    smtp_server.handler.script["RCPT"].append("550 5.1.1 user unknown")
    assert smtp_worker(app, smtp_server).run_once() == 1
    assert outbox_row(app, outbox_id).state == "failed"
    with app.uow() as uow:
        assert uow.session.scalar(select(Patient.email_bad_at)) is None


def test_drop_after_data_is_uncertain_never_resent_until_staff_requeue(
        app: Accueil, smtp_server: ScriptedSmtpServer) -> None:
    outbox_id, message_id, header = one_email(app)
    clock = FakeClock()
    worker = smtp_worker(app, smtp_server, clock)
    smtp_server.handler.script["DATA"].append("DROP")
    assert worker.run_once() == 1
    row = outbox_row(app, outbox_id)
    assert row.state == "uncertain"
    assert delivery_state(app, message_id) == "uncertain"
    assert smtp_server.handler.received == Counter({header: 1})  # the server did get it

    clock.advance(7 * 86400)
    assert worker.run_once() == 0  # never re-sent by itself
    with pytest.raises(InvalidInput):
        staff.requeue_uncertain(app, _sent_item(app))  # only an uncertain item can be resent
    with pytest.raises(NotFound):
        staff.requeue_uncertain(app, 999_999)
    staff.requeue_uncertain(app, outbox_id, now=clock.now)
    assert delivery_state(app, message_id) == "queued"
    assert worker.run_once() == 1
    assert outbox_row(app, outbox_id).state == "sent"
    assert smtp_server.handler.received == Counter({header: 2})  # the staff's resend: same Message-ID


def _sent_item(app: Accueil) -> int:
    """An item in another state than uncertain, to show requeue refuses it."""
    with app.uow(write=True) as uow:
        item_id = enqueue(uow.session, kind="email", payload={}, idempotency_key="other")
        uow.session.execute(update(OutboxItem).where(OutboxItem.id == item_id).values(state="sent"))
        uow.commit()
    return item_id


def test_unreachable_server_retries_one_and_releases_the_rest(app: Accueil) -> None:
    with app.uow(write=True) as uow:
        patient_id = add_patient(uow.session, 1)
        ids = [queue_email(uow.session, app.cipher, patient_id, "a@example.test", f"m:{n}")[0] for n in range(3)]
        uow.commit()
    closed_port = SmtpSettings(host="127.0.0.1", port=9, security="none", timeout_seconds=2.0)
    clock = FakeClock()
    worker = Worker(app, SmtpTransport(closed_port), worker_id="w", clock=clock)
    assert worker.run_once() == 3
    rows = [outbox_row(app, outbox_id) for outbox_id in ids]
    assert [(r.state, r.attempts) for r in rows] == [("pending", 1), ("pending", 0), ("pending", 0)]
    assert all(r.next_try_at == clock.now + timedelta(seconds=60) for r in rows)
    assert all(r.claimed_by is None for r in rows)
    assert "could not be reached" in rows[1].last_error


def test_malformed_payload_fails_without_sending(app: Accueil, smtp_server: ScriptedSmtpServer) -> None:
    with app.uow(write=True) as uow:
        item_id = enqueue(uow.session, kind="email", payload={"to": "x@example.test"}, idempotency_key="bad")
        uow.commit()
    assert smtp_worker(app, smtp_server).run_once() == 1
    assert outbox_row(app, item_id).state == "failed"
    assert sum(smtp_server.handler.received.values()) == 0


def test_stop_gives_back_the_rest_of_the_batch_untried(app: Accueil, smtp_server: ScriptedSmtpServer) -> None:
    with app.uow(write=True) as uow:
        patient_id = add_patient(uow.session, 1)
        ids = [queue_email(uow.session, app.cipher, patient_id, "a@example.test", f"m:{n}")[0] for n in range(3)]
        uow.commit()
    stop = threading.Event()
    smtp_server.handler.on_command = lambda command, _received: stop.set() if command == "DATA" else None
    smtp_worker(app, smtp_server).run(stop, idle_sleep=0.01)  # SIGTERM arrives during the first message
    rows = [outbox_row(app, i) for i in ids]
    assert [(r.state, r.attempts, r.claimed_by) for r in rows] == [
        ("sent", 1, rows[0].claimed_by), ("pending", 0, None), ("pending", 0, None)]


# -- crash recovery without a process (the crash test does it with SIGKILL) -----------------------

def test_recover_stale_returns_claimed_and_flags_transmitting(app: Accueil) -> None:
    with app.uow(write=True) as uow:
        patient_id = add_patient(uow.session, 1)
        (a, _, _), (b, message_b, _) = (queue_email(uow.session, app.cipher, patient_id, "a@example.test", f"m:{n}")
                                        for n in range(2))
        uow.commit()
    t0 = FakeClock().now
    first, second = queue.claim(app, worker_id="dead-worker", limit=10, now=t0)
    assert [first.id, second.id] == [a, b]
    assert queue.claim(app, worker_id="other", limit=10, now=t0) == []  # nobody claims twice
    queue.mark_transmitting(app, second, now=t0)

    assert queue.recover_stale(app, timedelta(minutes=5), now=t0 + timedelta(minutes=4)) == queue.Recovery(0, 0)
    assert queue.recover_stale(app, timedelta(minutes=5), now=t0 + timedelta(minutes=5)) == queue.Recovery(1, 1)
    assert outbox_row(app, a).state == "pending"
    assert outbox_row(app, b).state == "uncertain"
    assert delivery_state(app, message_b) == "uncertain"

    # The presumed-dead worker wakes up: it may not transmit or record anything for items it lost.
    again = queue.claim(app, worker_id="new-worker", limit=10, now=t0 + timedelta(minutes=6))
    assert [item.id for item in again] == [a]
    with pytest.raises(LostClaim):
        queue.mark_transmitting(app, first)
    assert not queue.mark_sent(app, first)
    assert outbox_row(app, a).claimed_by == "new-worker"
    assert queue.mark_sent(app, second)  # a late 250 for the uncertain item is good news: recorded
    assert outbox_row(app, b).state == "sent"


def test_lost_claim_is_not_transmitted(app: Accueil, smtp_server: ScriptedSmtpServer) -> None:
    outbox_id, _, _ = one_email(app)
    clock = FakeClock()
    worker = smtp_worker(app, smtp_server, clock)

    def steal(command: str, _received: int) -> None:
        if command == "RCPT":  # between claim and DATA another worker presumes this one dead
            queue.recover_stale(app, timedelta(0), now=clock.now + timedelta(hours=1))
            queue.claim(app, worker_id="thief", limit=1, now=clock.now + timedelta(hours=1))

    smtp_server.handler.on_command = steal
    assert worker.run_once() == 1
    row = outbox_row(app, outbox_id)
    assert (row.state, row.claimed_by) == ("claimed", "thief")
    assert sum(smtp_server.handler.received.values()) == 0


# -- the local mailbox ------------------------------------------------------------------------------

def test_mailbox_transport_writes_readable_eml_files(app: Accueil) -> None:
    with app.uow(write=True) as uow:
        patient_id = add_patient(uow.session, 1)
        headers = [queue_email(uow.session, app.cipher, patient_id, "a@example.test", f"m:{n}")[2] for n in range(3)]
        uow.commit()
    worker = worker_for(app)  # mail_transport defaults to the mailbox
    assert worker.run_once() == 3
    folder = app.data_dir / "mailbox"
    files = sorted(folder.iterdir())
    assert [f.suffix for f in files] == [".eml"] * 3  # no temporary files left behind
    parsed = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]
    assert sorted(str(m["Message-ID"]) for m in parsed) == sorted(headers)
    assert all(m["Subject"] == "Votre message sécurisé / Your secure message" for m in parsed)
    assert all("Merci." in m.get_content() for m in parsed)
    assert all("a@example" not in f.name for f in files)
    assert staff.counts(app)["sent"] == 3


def test_mailbox_write_failure_is_retried(app: Accueil, tmp_path: Path) -> None:
    one_email(app)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the mailbox folder should be")
    clock = FakeClock()
    worker = Worker(app, MailboxTransport(blocked / "mailbox"), worker_id="w", clock=clock)
    assert worker.run_once() == 1
    assert [(e.state, e.attempts) for e in staff.list_items(app)] == [("pending", 1)]


# -- several workers on PostgreSQL ------------------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_four_workers_share_2000_messages_without_double_claims(
        app: Accueil, smtp_server: ScriptedSmtpServer) -> None:
    total = 2000
    with app.uow(write=True) as uow:
        patients = [add_patient(uow.session, n) for n in range(100)]
        headers = {queue_email(uow.session, app.cipher, patients[n % 100], f"p{n}@example.test", f"m:{n}", plain=True)[2]
                   for n in range(total)}
        uow.commit()
    apps = [bootstrap(app.settings, actor=f"worker-{n}") for n in range(4)]  # own engines, own connections
    workers = [Worker(a, SmtpTransport(smtp_server.settings()), worker_id=f"w{n}", batch=25)
               for n, a in enumerate(apps)]
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,), kwargs={"idle_sleep": 0.05}) for w in workers]
    try:
        for thread in threads:
            thread.start()
        smtp_server.handler.wait_received(total, timeout=120)
        _wait_for(lambda: staff.counts(app)["sent"] == total, timeout=30)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        for a in apps:
            a.dispose()
    claimed = [item_id for w in workers for item_id in w.claimed_ids]
    assert len(claimed) == len(set(claimed)) == total  # none claimed twice
    assert all(w.claimed_ids for w in workers)  # the work really was shared
    assert set(smtp_server.handler.received) == headers
    assert set(smtp_server.handler.received.values()) == {1}
    assert staff.counts(app) == {**dict.fromkeys(queue.STATES, 0), "sent": total}
    with app.uow() as uow:
        assert set(uow.session.scalars(select(Message.delivery_state))) == {"sent"}


def _wait_for(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


# -- TLS and login ------------------------------------------------------------------------------------

def tls_contexts(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server, client) contexts for a throw-away self-signed certificate valid for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "server.pem", folder / "server.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    return server, ssl.create_default_context(cafile=str(cert_file))


def _clinic_login(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"clinic", b"s3cret")
    return AuthResult(success=ok, handled=False)


@pytest.mark.parametrize(("password", "trusted", "outcome"), [
    ("s3cret", True, "sent"),
    ("wrong", True, "pending"),  # refused login: a connection failure, retried, not a failed message
    ("s3cret", False, "pending"),  # a certificate we do not trust: nothing is sent in the clear
])
def test_starttls_with_login(app: Accueil, tmp_path: Path, password: str, trusted: bool, outcome: str) -> None:
    server_context, client_context = tls_contexts(tmp_path)
    outbox_id, _, header = one_email(app)
    with ScriptedSmtpServer(tls_context=server_context, require_starttls=True, auth_required=True,
                            authenticator=_clinic_login) as server:
        settings = server.settings(security="starttls", username="clinic", password=password)
        transport = SmtpTransport(settings, ssl_context=client_context if trusted else ssl.create_default_context())
        assert Worker(app, transport, worker_id="w", clock=FakeClock()).run_once() == 1
        row = outbox_row(app, outbox_id)
        assert (row.state, row.attempts) == (outcome, 1)
        assert server.handler.received == (Counter({header: 1}) if outcome == "sent" else Counter())
        assert password not in (row.last_error or "")


def test_implicit_tls(app: Accueil, tmp_path: Path) -> None:
    server_context, client_context = tls_contexts(tmp_path)
    outbox_id, _, header = one_email(app)
    with ScriptedSmtpServer(ssl_context=server_context) as server:
        transport = SmtpTransport(server.settings(security="tls"), ssl_context=client_context)
        assert Worker(app, transport, worker_id="w").run_once() == 1
        assert outbox_row(app, outbox_id).state == "sent"
        assert server.handler.received == Counter({header: 1})
