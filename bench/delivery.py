"""Bench MS-5: queue N messages (default 5,000), then deliver them with one worker over SMTP.

Run ``python -m bench.delivery [--messages N] [--backend sqlite|postgres]``: by default on
SQLite (the embedded set-up) and then on PostgreSQL when a server is reachable (``bench.common``
says where), each in a throw-away clinic. On each, the bench

1. sends one draft (a template with placeholders and a secure message) to N synthetic patients
   through compose's real path, ``send_draft``: each patient's rendering, link token, email and
   encrypted outbox payload, and the messages, secure contents, events, outbox items and audit
   entries in one transaction. The *queue* figure is that whole call;
2. starts an aiosmtpd server on loopback in its own process (so it does not share the GIL with
   the client being measured) that counts the Message-IDs it receives;
3. sends the N messages with raw smtplib over one connection (``sendmail`` per message), and
   lets one ``Worker`` with an ``SmtpTransport`` deliver the N queued items, taking turns a tenth
   at a time so that a busy machine slows both alike: the *raw* and *deliver* rates. The worker's
   includes claiming, the durable 'transmitting' mark before DATA and recording each result.

Goals: queue ≤ 2 s, deliver ≥ 50 % of raw. Each backend prints its own line
(``sqlite: queue … ; deliver …``); the last line is the figure, the slower backend's: the
longest queue and the lowest share of raw. A run where the server did not receive every message
exactly once, or the outbox does not say all sent, stops with an error instead of a figure.
"""

from __future__ import annotations

import argparse
import multiprocessing
import re
import smtplib
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy import insert, select

from bench.common import BACKENDS, BackendUnavailable, temp_clinic
from core.bootstrap import Accueil
from core.db.models import OutboxItem, Patient, User, utcnow
from core.licences import grant_licence
from core.messaging.compose import Draft, send_draft
from core.outbox import staff
from core.outbox.transports import SmtpTransport
from core.outbox.worker import Worker, decode_email_payload
from core.settings import SmtpSettings
from core.users import add_user

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

SUBJECT = "Un message de @clinicName"
SALUTATION = "Bonjour @ptPreferredOrFirstName,"
BODY = ("<p>Vous avez un <b>message sécurisé</b> de votre équipe soignante.</p>"
        "<p>Ouvrez-le avec ce lien personnel : [weblink]</p>")


def add_patients(app: Accueil, count: int) -> tuple[list[int], int]:
    """Minimal synthetic patients and a licensed provider to send as; not timed."""
    now = utcnow()
    rows = [dict(chart_id=f"B{n:07d}", last_name=f"Tremblay{n}", first_name="Zoé", last_key=f"tremblay{n}",
                 first_key="zoe", language="fr" if n % 2 else "en", email=f"patient{n}@example.test",
                 email_consent=True, created_at=now, updated_at=now) for n in range(count)]
    with app.uow(write=True) as uow:
        uow.session.execute(insert(Patient), rows)
        uow.commit()
    with app.uow(write=True) as uow:
        add_user(uow, username="drbench", display_name="Dre Banc d'Essai", role="provider", password=None)
    with app.uow(write=True) as uow:
        grant_licence(uow, "drbench")
    with app.uow() as uow:
        ids = list(uow.session.scalars(select(Patient.id).order_by(Patient.id)))
        sender = uow.session.scalar(select(User.id).where(User.username == "drbench"))
    return ids, sender


def queue_messages(app: Accueil, patient_ids: list[int], sender: int) -> float:
    """Compose's real path (``send_draft``): render, build and queue one email per patient; seconds taken."""
    draft = Draft(patient_ids=tuple(patient_ids), subject=SUBJECT, salutation=SALUTATION, body_html=BODY,
                  secure_message="Vos résultats sont normaux.", sender_user_id=sender)
    started = time.perf_counter()
    with app.uow(write=True) as uow:
        result = send_draft(uow, draft, settings=app.settings, cipher=app.cipher)
    seconds = time.perf_counter() - started
    if len(result.message_ids) != len(patient_ids):
        raise RuntimeError(f"only {len(result.message_ids)} of {len(patient_ids)} messages were queued")
    return seconds


def queued_emails(app: Accueil) -> list[tuple[str, bytes]]:
    """(recipient, bytes) of every queued email, for raw smtplib to send the very same; not timed."""
    with app.uow() as uow:
        payloads = uow.session.scalars(select(OutboxItem.payload).order_by(OutboxItem.id)).all()
    found = []
    for payload in payloads:
        _sender, to, raw = decode_email_payload(payload, app.cipher)
        # smtplib sends bytes as given: CRLF line ends, as on the wire (the worker converts its own).
        found.append((to, re.sub(rb"\r?\n", b"\r\n", raw)))
    return found


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


def run(backend: str, total: int) -> tuple[float, float]:
    """One backend's figures: (seconds to queue, the worker's rate as a fraction of raw smtplib's)."""
    with temp_clinic(backend) as app, smtp_server() as server:
        patient_ids, sender = add_patients(app, total)
        queue_seconds = queue_messages(app, patient_ids, sender)
        messages = queued_emails(app)

        raw_seconds, deliver_seconds, claimed = compare(app, server.port, messages)
        raw_received = server.count(RAW_SENDER)
        delivered = server.count(app.settings.noreply_address)  # the envelope sender compose uses
        states = staff.counts(app)
    raw_rate = total / raw_seconds
    rate = total / deliver_seconds
    print(f"[{backend}] {total} messages rendered, built and queued by send_draft (compose)")
    print(f"[{backend}] raw smtplib: {raw_received[0]} received in {raw_seconds:.2f} s = {raw_rate:.0f} msg/s")
    print(f"[{backend}] worker: claimed {claimed}, server received {delivered[0]} ({delivered[1]} distinct "
          f"Message-IDs), outbox {', '.join(f'{k} {v}' for k, v in states.items() if v)}")
    if delivered != (total, total) or states.get("sent") != total:
        raise SystemExit(f"[{backend}] not every message was delivered exactly once")
    print(f"{backend}: queue {total} in {queue_seconds:.2f} s; deliver {rate:.0f} msg/s = "
          f"{100 * rate / raw_rate:.0f} % of raw", flush=True)
    return queue_seconds, rate / raw_rate, rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000, help="messages to queue and deliver (default 5000)")
    parser.add_argument("--backend", choices=BACKENDS, action="append", help="database (default: both)")
    args = parser.parse_args(argv)
    total = args.messages
    figures: list[tuple[float, float, float]] = []
    for backend in args.backend or BACKENDS:
        try:
            figures.append(run(backend, total))
        except BackendUnavailable as exc:
            print(f"[{backend}] skipped: {exc}", file=sys.stderr)
    if not figures:
        print("no backend available")
        return 1
    # The figure is the slower backend's: the longest queue and the lowest share of raw.
    queue_seconds = max(figure[0] for figure in figures)
    _, share, rate = min(figures, key=lambda figure: figure[1])
    print(f"queue {total} in {queue_seconds:.2f} s; deliver {rate:.0f} msg/s = {100 * share:.0f} % of raw")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
