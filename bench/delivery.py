"""Bench MS-5: queue N messages (default 5,000), then deliver them with one worker over SMTP.

Run ``python -m bench.delivery [--messages N] [--backend sqlite|postgres]``. In a throw-away
clinic (SQLite by default, the embedded set-up), the bench

1. renders each patient's email (``core.messaging.render`` when present, else a plain body),
   builds it with ``email.message.EmailMessage``, then writes the N Message rows and their
   outbox items in one transaction: the *queue* figure is that write (rendering and building
   are timed apart and shown on the line before, since they belong to compose, not the outbox);
2. starts an aiosmtpd server on loopback in its own process (so it does not share the GIL with
   the client being measured) that counts the Message-IDs it receives;
3. sends the N messages with raw smtplib over one connection (``sendmail`` per message), and
   lets one ``Worker`` with an ``SmtpTransport`` deliver the N queued items, taking turns a tenth
   at a time so that a busy machine slows both alike: the *raw* and *deliver* rates. The worker's
   includes claiming, the durable 'transmitting' mark before DATA and recording each result.

Goals: queue ≤ 2 s, deliver ≥ 50 % of raw. The last line printed is the figure.
"""

from __future__ import annotations

import argparse
import email.policy
import multiprocessing
import re
import smtplib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy import insert

from bench.common import BACKENDS, temp_clinic
from core.bootstrap import Accueil
from core.db.models import Message, Patient, utcnow
from core.outbox import staff
from core.outbox.queue import OutboxRequest, enqueue_many
from core.outbox.transports import SmtpTransport
from core.outbox.worker import Worker, email_payload
from core.settings import SmtpSettings

SENDER = "no-reply@clinic.example.test"
RAW_SENDER = "raw-smtplib@bench.example.test"  # so the server can tell the two senders' messages apart
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


# -- the SMTP server, in its own process -----------------------------------------------------------

class _CountingHandler:
    """Counts messages and distinct Message-IDs per envelope sender (raw and worker use different ones)."""

    def __init__(self) -> None:
        self.total: dict[str, int] = {}
        self.ids: dict[str, set[bytes]] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        sender = envelope.mail_from
        self.total[sender] = self.total.get(sender, 0) + 1
        found = _MESSAGE_ID.search(envelope.content)
        if found:
            self.ids.setdefault(sender, set()).add(found.group(1))
        return "250 OK"


def _serve(pipe: Connection) -> None:
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)

    class _Controller(Controller):
        def _trigger_server(self) -> None:
            self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()

    handler = _CountingHandler()
    controller = _Controller(handler, hostname="127.0.0.1", port=0)
    controller.start()
    pipe.send(controller.port)
    try:
        while True:
            command = pipe.recv()
            if isinstance(command, tuple) and command[0] == "count":
                sender = command[1]
                pipe.send((handler.total.get(sender, 0), len(handler.ids.get(sender, ()))))
            else:
                break
    finally:
        controller.stop()


@dataclass
class SmtpServer:
    port: int
    pipe: Connection

    def count(self, sender: str) -> tuple[int, int]:
        """(messages, distinct Message-IDs) received from this envelope sender."""
        self.pipe.send(("count", sender))
        return self.pipe.recv()


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve, args=(theirs,), daemon=True)
    process.start()
    try:
        if not ours.poll(30):
            raise RuntimeError("the SMTP server process did not start")
        yield SmtpServer(port=ours.recv(), pipe=ours)
    finally:
        ours.send("stop")
        process.join(10)
        if process.is_alive():
            process.kill()


# -- the messages ---------------------------------------------------------------------------------

def _renderer() -> Any:
    try:
        from core.messaging.render import RenderContext, render_message
    except ImportError:  # the compose issue's renderer is not there yet: a plain body will do
        return None

    def render(n: int, first: str, last: str, language: str, link: str) -> tuple[str, str, str]:
        rendered = render_message(
            "Message de @clinicName" if language == "fr" else "A message from @clinicName",
            "Bonjour @ptPreferredOrFirstName," if language == "fr" else "Hello @ptPreferredOrFirstName,",
            "<p>Vous avez un <b>message sécurisé</b> de la clinique.</p><p>[weblink]</p>" if language == "fr"
            else "<p>You have a <b>secure message</b> from the clinic.</p><p>[weblink]</p>",
            RenderContext(first_name=first, last_name=last, clinic_name="Clinique synthétique du Plateau",
                          language=language, weblink=link, weblink_french=link),
        )
        return rendered.subject, rendered.text, rendered.html

    return render


def _plain(n: int, first: str, last: str, language: str, link: str) -> tuple[str, str, str]:
    text = f"Bonjour {first},\n\nVous avez un message sécurisé : {link}\n"
    return "Message de la clinique", text, f"<p>Bonjour {first},</p><p><a href=\"{link}\">{link}</a></p>"


def add_patients(app: Accueil, count: int) -> list[tuple[int, str, str, str, str]]:
    """Minimal synthetic patients (id, first, last, language, email); not timed."""
    now = utcnow()
    rows = [dict(chart_id=f"B{n:07d}", last_name=f"Tremblay{n}", first_name="Zoé", last_key=f"tremblay{n}",
                 first_key="zoe", language="fr" if n % 2 else "en", email=f"patient{n}@example.test",
                 email_consent=True, created_at=now, updated_at=now) for n in range(count)]
    with app.uow(write=True) as uow:
        uow.session.execute(insert(Patient), rows)
        uow.commit()
        found = uow.session.execute(
            Patient.__table__.select().with_only_columns(
                Patient.id, Patient.first_name, Patient.last_name, Patient.language, Patient.email
            ).order_by(Patient.id)
        ).all()
    return [tuple(row) for row in found]  # type: ignore[misc]


@dataclass
class QueueTimes:
    render: float = 0.0
    build: float = 0.0
    rows: float = 0.0

    @property
    def total(self) -> float:
        return self.render + self.build + self.rows


def queue_messages(app: Accueil, patients: list[tuple[int, str, str, str, str]],
                   times: QueueTimes) -> list[tuple[str, bytes]]:
    """Render, build and enqueue one email per patient in one transaction; returns (to, bytes).

    The three steps are timed apart so the figure shows where the time goes.
    """
    render = _renderer() or _plain
    clock = time.perf_counter
    built: list[tuple[str, bytes]] = []
    rows: list[dict[str, Any]] = []
    now = utcnow()
    for n, (patient_id, first, last, language, address) in enumerate(patients):
        started = clock()
        subject, text, html = render(n, first, last, language, f"https://portal.example.test/m/{n:064x}")
        rendered = clock()
        mail = EmailMessage()
        mail["From"] = f"Clinique synthétique du Plateau <{SENDER}>"
        mail["To"] = address
        mail["Subject"] = subject
        message_id = make_msgid(domain="clinic.example.test")
        mail["Message-ID"] = message_id
        mail.set_content(text)
        mail.add_alternative(html, subtype="html")
        raw = mail.as_bytes(policy=email.policy.SMTP)
        built.append((address, raw))
        rows.append({"patient_id": patient_id, "kind": "secure_message", "to_address": address, "subject": subject,
                     "body_html": html, "body_text": text, "message_id_header": message_id, "options": {},
                     "delivery_state": "queued", "failed_checks": 0, "created_at": now})
        times.render += rendered - started
        times.build += clock() - rendered
    started = clock()
    with app.uow(write=True) as uow:
        # One multi-row INSERT … RETURNING for the messages (the ORM's unit of work is ~3× slower here).
        message_ids = uow.session.execute(
            insert(Message).returning(Message.id, sort_by_parameter_order=True), rows).scalars().all()
        enqueue_many(uow.session, [
            OutboxRequest(kind="email", idempotency_key=f"message:{message_id}", message_id=message_id,
                          payload=email_payload(sender=SENDER, to=to, message_bytes=raw, cipher=app.cipher))
            for message_id, (to, raw) in zip(message_ids, built, strict=True)
        ])
        uow.commit()
    times.rows = clock() - started
    return built


# -- the two senders ------------------------------------------------------------------------------

def compare(app: Accueil, port: int, messages: list[tuple[str, bytes]], rounds: int = 10) -> tuple[float, float, int]:
    """Seconds taken by raw smtplib and by the worker for the same messages, and items claimed.

    The two take turns, a tenth of the messages at a time, so a busy machine slows both alike.
    Both keep one connection open throughout.
    """
    settings = SmtpSettings(host="127.0.0.1", port=port, security="none", timeout_seconds=30)
    worker = Worker(app, SmtpTransport(settings), worker_id="bench", batch=50)
    chunk = max(1, -(-len(messages) // rounds))
    raw_seconds = worker_seconds = 0.0
    claimed = 0
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as raw:
        try:
            for start in range(0, len(messages), chunk):
                began = time.perf_counter()
                for to, message in messages[start:start + chunk]:
                    raw.sendmail(RAW_SENDER, [to], message)
                raw_seconds += time.perf_counter() - began
                began = time.perf_counter()
                target = min(len(messages), start + chunk)
                while claimed < target and (n := worker.run_once()) > 0:
                    claimed += n
                worker_seconds += time.perf_counter() - began
        finally:
            worker.transport.close()
    return raw_seconds, worker_seconds, claimed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000, help="messages to queue and deliver (default 5000)")
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite", help="database (default sqlite)")
    args = parser.parse_args(argv)
    total = args.messages
    with temp_clinic(args.backend) as app, smtp_server() as server:
        patients = add_patients(app, total)
        times = QueueTimes()
        messages = queue_messages(app, patients, times)

        raw_seconds, deliver_seconds, claimed = compare(app, server.port, messages)
        raw_received = server.count(RAW_SENDER)
        delivered = server.count(SENDER)
        states = staff.counts(app)
    raw_rate = total / raw_seconds
    rate = total / deliver_seconds
    renderer = "core.messaging.render" if _renderer() else "plain bodies"
    print(f"backend {args.backend}; {total} messages rendered with {renderer}, built with EmailMessage")
    print(f"compose (not the outbox's): render {times.render:.2f} s, build MIME {times.build:.2f} s; "
          f"render + build + queue {times.total:.2f} s")
    print(f"raw smtplib: {raw_received[0]} received in {raw_seconds:.2f} s = {raw_rate:.0f} msg/s")
    print(f"worker: claimed {claimed}, server received {delivered[0]} ({delivered[1]} distinct Message-IDs), "
          f"outbox {', '.join(f'{k} {v}' for k, v in states.items() if v)}")
    print(f"queue {total} in {times.rows:.2f} s; deliver {rate:.0f} msg/s = {100 * rate / raw_rate:.0f} % of raw")


if __name__ == "__main__":
    main()
