"""The outbox worker: claims due email items, hands them to a transport, records each outcome.

``accueil worker`` (and the demo, in a thread) runs :meth:`Worker.run`; tests and the bench
drive :meth:`Worker.run_once`. Several workers may share one database: each claim is exclusive
(see ``core.outbox.queue``), and each worker's claims carry a per-run token so a restarted
worker with the same name never mistakes an old claim for its own.

An email item's payload is the finished message as the composing code built it::

    {"from": envelope sender, "to": envelope recipient, "raw": base64 of the RFC 5322 bytes}

The worker transmits it as is (the Message-ID header is the composer's, so a resend after an
uncertain delivery carries the same one). Outcomes: 250 → sent; 4xx or a connection failure
before the content went out → retried with back-off; 5xx → failed, never retried, and for a
5.1.1 the patient's address is flagged (``Patient.email_bad_at``: the "fix this address" list);
a connection lost after the content → uncertain. Logs carry outbox ids and states only.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from core.bootstrap import Accueil
from core.crypto import SiteCipher, SiteKeyError
from core.db.models import utcnow
from core.outbox import queue
from core.outbox.queue import DEFAULT_POLICY, ClaimedItem, LostClaim, Recovery, RetryPolicy
from core.outbox.scheduler import Scheduler
from core.outbox.transports import (
    ConnectionFailure,
    DeliveryUncertain,
    EmailTransport,
    MailboxTransport,
    PermanentFailure,
    SmtpTransport,
    TemporaryFailure,
)
from core.settings import Settings

log = logging.getLogger("accueil.outbox")

EMAIL = "email"
OUTBOX_CONTEXT = "outbox-email"
# A worker presumed dead after holding an item this long. Must exceed one SMTP conversation
# (settings.smtp.timeout_seconds) by a wide margin: see queue.recover_stale.
DEFAULT_STALE_AFTER = timedelta(minutes=5)
RECOVER_EVERY = timedelta(minutes=1)
IDLE_CLOSE_SECONDS = 30.0


class Worker:
    """One sender: one transport (one SMTP connection), one batch at a time. Not thread-safe."""

    def __init__(self, app: Accueil, transport: EmailTransport, *, worker_id: str, batch: int = 50,
                 policy: RetryPolicy = DEFAULT_POLICY, stale_after: timedelta = DEFAULT_STALE_AFTER,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.app = app
        self.transport = transport
        self.name = worker_id
        # The claim token stored in claimed_by: the name plus a per-run nonce (column is 100 chars).
        self.worker_id = f"{worker_id[:88]}#{secrets.token_hex(4)}"
        self.batch = batch
        self.policy = policy
        self.stale_after = stale_after
        self.clock = clock
        self._next_recovery: datetime | None = None
        self.claimed_ids: list[int] = []  # every id this worker claimed (tests check exclusivity)
        # Accepted by the server (250), not yet recorded: recorded with the next item's
        # 'transmitting' commit (one commit per message instead of two), or on their own before
        # any other outcome and at the batch's end, whichever comes first.
        self._accepted: list[ClaimedItem] = []
        self._stop: threading.Event | None = None  # set by run(): a batch gives back what it has not started
        self._recorder = queue.TransmitRecorder(app)  # its connection is kept for one batch
        self.scheduler = Scheduler()

    def _mark(self, item: ClaimedItem, accepted: list[ClaimedItem]) -> None:
        try:
            self._recorder.mark_transmitting(item, now=self.clock(), sent=accepted)
        except LostClaim:
            raise  # the accepted items were recorded all the same
        except BaseException:
            self._accepted = accepted + self._accepted  # rolled back: still to record
            raise

    def close(self) -> None:
        """Close the transport (``run`` does this when it ends)."""
        self.transport.close()
        self._recorder.close()

    def recover(self) -> Recovery:
        now = self.clock()
        self._next_recovery = now + RECOVER_EVERY
        return queue.recover_stale(self.app, self.stale_after, now=now)

    def run_once(self) -> int:
        """Claim one batch of due email items and deliver them; returns how many were claimed."""
        now = self.clock()
        if self._next_recovery is None or now >= self._next_recovery:
            self.recover()
        items = queue.claim(self.app, worker_id=self.worker_id, limit=self.batch, now=now, kinds=(EMAIL,))
        self.claimed_ids.extend(item.id for item in items)
        try:
            # Every email of the batch decrypted now, not between one message's 250 and the next MAIL.
            emails = [self._decode(item) for item in items]
            for index, item in enumerate(items):
                if self._stop is not None and self._stop.is_set():
                    # Shutting down: give the rest back untried, due at once for the next worker.
                    queue.release(self.app, items[index:], next_try_at=self.clock())
                    break
                try:
                    self._deliver(item, emails[index])
                except ConnectionFailure:
                    # The server is unreachable: give the rest back untried, no attempt counted.
                    rest = items[index + 1:]
                    queue.release(self.app, rest, next_try_at=self.clock() + self.policy.delay(1),
                                  reason="not tried: the mail server could not be reached")
                    log.warning("worker %s: server unreachable, %d items released", self.worker_id, len(rest))
                    break
        finally:
            try:
                self._record_accepted()
            finally:
                self._recorder.close()
        return len(items)

    def _record_accepted(self) -> None:
        """Record as sent the items whose 250 is not yet in the database."""
        accepted, self._accepted = self._accepted, []
        try:
            if accepted and not queue.mark_sent(self.app, accepted, now=self.clock()):
                log.warning("worker %s: some delivered items were no longer held", self.worker_id)
        except BaseException:
            self._accepted = accepted + self._accepted  # not recorded: keep them for the next chance
            raise

    def run(self, stop: threading.Event, idle_sleep: float = 1.0) -> None:
        """Deliver until ``stop`` is set; sleeps ``idle_sleep`` seconds when nothing is due."""
        log.info("outbox worker %s started", self.worker_id)
        idle_since: float | None = None
        self._stop = stop
        try:
            while not stop.is_set():
                self.scheduler.run_due(self.app, self.clock())
                try:
                    claimed = self.run_once()
                except Exception as exc:  # noqa: BLE001 - a database hiccup must not end the worker
                    # Only the type: SQL errors can quote parameters, i.e. message content.
                    log.error("worker %s: batch interrupted (%s); will try again", self.worker_id,
                              type(exc).__name__)
                    claimed = 0
                if claimed:
                    idle_since = None
                    continue
                if idle_since is None:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since > IDLE_CLOSE_SECONDS:
                    self.transport.close()
                stop.wait(idle_sleep)
        finally:
            self._stop = None
            self.close()
            log.info("outbox worker %s stopped", self.worker_id)

    # -- one item ----------------------------------------------------------------------------
    def _decode(self, item: ClaimedItem) -> tuple[str, str, bytes] | None:
        email = _decoded(item, self.app.cipher)
        if email is None and self.app.refresh_cipher():  # the site key rotated since the last look: try the new one
            email = _decoded(item, self.app.cipher)
        return email

    def _deliver(self, item: ClaimedItem, email: tuple[str, str, bytes] | None) -> str | None:
        """Send one item and record the outcome; returns the state recorded (None: claim lost).

        ``email`` is the item's decoded payload (None: not a complete email)."""
        if email is None:
            queue.mark_failed(self.app, item, "payload is not a complete email (from, to, raw)", now=self.clock())
            log.error("outbox item %d failed: malformed payload", item.id)
            return queue.FAILED
        sender, to, raw = email
        transmitting = False

        def on_transmitting() -> None:
            nonlocal transmitting
            accepted, self._accepted = self._accepted, []
            self._mark(item, accepted)
            transmitting = True

        try:
            self.transport.send(sender, to, raw, on_transmitting)
        except LostClaim:
            log.warning("outbox item %d: claim lost to recovery, not transmitted by %s", item.id, self.worker_id)
            return None
        except DeliveryUncertain as exc:
            self._record_accepted()
            queue.mark_uncertain(self.app, item, str(exc), now=self.clock())
            log.warning("outbox item %d uncertain: connection lost after the content", item.id)
            return queue.UNCERTAIN
        except PermanentFailure as exc:
            self._record_accepted()
            queue.mark_failed(self.app, item, str(exc), now=self.clock(), address_bad=exc.address_bad)
            log.warning("outbox item %d failed: %s %s%s", item.id, exc.code, exc.enhanced or "",
                        " (address flagged)" if exc.address_bad else "")
            return queue.FAILED
        except TemporaryFailure as exc:
            self._record_accepted()
            state = queue.mark_retry(self.app, item, str(exc), now=self.clock(), policy=self.policy)
            log.info("outbox item %d: temporary failure %s, now %s", item.id, exc.code, state)
            if isinstance(exc, ConnectionFailure):
                raise
            return state
        except Exception as exc:
            # A fault of ours (or of the database) in mid-send: what the server has decides the state.
            log.error("outbox item %d: %s during send", item.id, type(exc).__name__)
            self._record_accepted()
            if transmitting:
                queue.mark_uncertain(self.app, item, f"worker error during transmission ({type(exc).__name__})",
                                     now=self.clock())
                return queue.UNCERTAIN
            return queue.mark_retry(self.app, item, f"worker error ({type(exc).__name__})", now=self.clock(),
                                    policy=self.policy)
        self._accepted.append(item)
        return queue.SENT


def _decoded(item: ClaimedItem, cipher: SiteCipher) -> tuple[str, str, bytes] | None:
    try:
        return decode_email_payload(item.payload, cipher)
    except ValueError:
        return None


def decode_email_payload(payload: dict[str, object], cipher: SiteCipher) -> tuple[str, str, bytes]:
    """(envelope from, envelope to, message bytes); ValueError when anything is missing or altered."""
    try:
        sender, to, raw = payload["from"], payload["to"], payload["raw"]
        if not (isinstance(sender, str) and isinstance(to, str) and isinstance(raw, str) and to):
            raise ValueError("incomplete email payload")
        return sender, to, cipher.decrypt(base64.b64decode(raw, validate=True), context=OUTBOX_CONTEXT)
    except (KeyError, TypeError, binascii.Error, SiteKeyError) as exc:
        raise ValueError("incomplete email payload") from exc


def email_payload(*, sender: str, to: str, message_bytes: bytes, cipher: SiteCipher) -> dict[str, str]:
    """The payload the composer enqueues for one email (the inverse of ``decode_email_payload``).

    The email holds the patient's secure link, so it is kept encrypted with the site key until sent.
    """
    encrypted = cipher.encrypt(message_bytes, context=OUTBOX_CONTEXT)
    return {"from": sender, "to": to, "raw": base64.b64encode(encrypted).decode("ascii")}


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def transport_for(app: Accueil) -> EmailTransport:
    if app.settings.mail_transport == "smtp":
        return SmtpTransport(app.settings.smtp)
    return MailboxTransport(app.data_dir / "mailbox")


def worker_for(app: Accueil, *, worker_id: str | None = None, batch: int = 50,
               stale_after: timedelta = DEFAULT_STALE_AFTER, policy: RetryPolicy | None = None) -> Worker:
    """A worker with the configured transport (the local mailbox unless ``mail_transport = "smtp"``)
    and the configured back-off (``[retry]``) unless ``policy`` is given."""
    return Worker(app, transport_for(app), worker_id=worker_id or default_worker_id(), batch=batch,
                  stale_after=stale_after, policy=policy or configured_policy(app.settings))


def configured_policy(settings: Settings) -> RetryPolicy:
    retry = settings.retry
    return RetryPolicy(base_seconds=retry.base_seconds, factor=retry.factor, cap_seconds=retry.cap_seconds,
                       max_attempts=retry.max_attempts)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m core.outbox.worker``: run one worker with the configured settings until SIGTERM."""
    from core.bootstrap import bootstrap
    from core.settings import load_settings

    parser = argparse.ArgumentParser(description="Deliver the outbox (email) until stopped.")
    parser.add_argument("--stale-after", type=float, default=DEFAULT_STALE_AFTER.total_seconds(),
                        help="seconds after which a held item counts as abandoned by a dead worker")
    parser.add_argument("--idle-sleep", type=float, default=1.0, help="seconds to wait when nothing is due")
    parser.add_argument("--batch", type=int, default=50, help="items claimed at a time")
    parser.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = bootstrap(load_settings())
    worker = worker_for(app, batch=args.batch, stale_after=timedelta(seconds=args.stale_after))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if args.once:
            worker.recover()
            worker.scheduler.run_due(app, worker.clock())
            while worker.run_once():
                pass
            worker.transport.close()
        else:
            worker.run(stop, idle_sleep=args.idle_sleep)
    except KeyboardInterrupt:
        pass
    finally:
        app.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
