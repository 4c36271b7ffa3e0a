"""PO-1 the identity check behind a link, its lock-out (6 consecutive failures) and PT-5's "clear lock-out".

The portal hands ``verify_identity`` the SHA-256 of the link token (``link_key``) and the answers
typed by the patient. Whether the token was never sent, the answers are another patient's, or an
answer is wrong, the function runs the same statements and the same comparisons (a real link's row
is read and updated, a made-up token's statements match nothing), and the portal answers every
failure after the same floor (``portal.app.FAILURE_FLOOR``), so neither the page nor the time
tells which. A wrong answer on a live link counts one failure in the
same UPDATE that a wrong token runs (it then matches no row); the 6th consecutive one locks the
link until staff clear it or send a new message (whose new link starts at zero); a success resets
the count.

The form asks for the validators chosen at send (``checks_for``; the date of birth by default). A
patient has to know what to type, and a form asking every possible identifier would have patients
send a health number or password nobody asked for; a 256-bit token cannot be found by trying, so
the fields of a real link's form tell a guesser nothing, and its holder only which secret the
clinic chose (a password link costs one scrypt per try, right or wrong). A link the clinic really
sent that is dead (purged, PT-6, or past its date) gets the portal's generic "no longer available"
page instead of the form: its holder learns only that it is dead, never who it was for.
``Outcome.reason`` drives the portal's choice of page and its limiter; it is never shown.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, select, update

from core import audit
from core.db.models import Message, Patient, utcnow
from core.messaging.patient_actions import PORTAL_ACTOR
from core.patients.keys import health_key
from core.portal.sessions import open_session
from core.uow import UnitOfWork

MAX_FAILURES = 6
DEFAULT_CHECKS = ("date_of_birth",)
CHECK_ORDER = ("date_of_birth", "health_number", "chart_id", "password")
_DUMMY_SALT = bytes(16)
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class Outcome:
    ok: bool
    reason: str  # ok | wrong | locked | unknown | dead (purged or expired: the generic page)
    session_token: str | None = None
    message_id: int | None = None
    language: str | None = None


@dataclass(frozen=True)
class LockedLink:
    message_id: int
    subject: str
    locked_at: datetime


def link_key(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _live(message: Message | None, now: datetime) -> bool:
    return (message is not None and message.revoked_at is None and message.token_hash is not None
            and (message.token_expires_at is None or message.token_expires_at > now))


def _dead(message: Message | None, now: datetime) -> bool:
    """A link the clinic really sent that can no longer be opened (purged or past its date)."""
    return message is not None and not _live(message, now)


def checks_for(uow: UnitOfWork, key: bytes, *, now: datetime | None = None) -> tuple[str, ...] | None:
    """The validators to ask for this link: the ones chosen at send for a live link, the default for
    a token that was never sent, ``None`` for a dead link (purged or expired: the generic page)."""
    now = now or utcnow()
    message = uow.session.scalar(select(Message).where(Message.token_hash == key))
    if _dead(message, now):
        return None
    if message is None:
        return DEFAULT_CHECKS
    wanted = set((message.options or {}).get("identity_checks") or DEFAULT_CHECKS)
    return tuple(check for check in CHECK_ORDER if check in wanted)


def parse_date(text: str) -> date | None:
    """``YYYY-MM-DD`` (what ``<input type=date>`` sends) or ``DD/MM/YYYY`` typed by hand."""
    parts = _DIGITS.findall(text or "")
    try:
        if len(parts) == 3 and len(parts[0]) == 4:
            return date(int(parts[0]), int(parts[1]), int(parts[2]))
        if len(parts) == 3 and len(parts[2]) == 4:
            return date(int(parts[2]), int(parts[1]), int(parts[0]))
        if len(parts) == 1 and len(parts[0]) == 8:
            return date(int(parts[0][:4]), int(parts[0][4:6]), int(parts[0][6:]))
    except ValueError:
        return None
    return None


def _password_matches(password: str, stored: str | None) -> bool:
    """One scrypt, right or wrong: against the stored hash, or a dummy when it is missing."""
    salt, expected = _DUMMY_SALT, b"\x00" * 64
    if stored and ":" in stored:
        salt_hex, digest_hex = stored.split(":", 1)
        salt, expected = bytes.fromhex(salt_hex), bytes.fromhex(digest_hex)
    digest = hashlib.scrypt(password.encode()[:1024], salt=salt, n=2**14, r=8, p=1)
    return hmac.compare_digest(digest, expected)


def _answers_match(message: Message | None, patient: Patient | None, answers: dict[str, str]) -> bool:
    options = (message.options or {}) if message is not None else {}
    checks = set(options.get("identity_checks") or DEFAULT_CHECKS)
    results = [_password_matches(answers.get("password", ""), options.get("password_scrypt"))] \
        if "password" in checks else []
    if message is None or patient is None:
        return False
    if "date_of_birth" in checks:
        given = parse_date(answers.get("date_of_birth", ""))
        results.append(given is not None and patient.date_of_birth is not None and given == patient.date_of_birth)
    if "health_number" in checks:
        typed, stored = health_key(answers.get("health_number")) or "", health_key(patient.health_number) or "-"
        results.append(hmac.compare_digest(typed.encode(), stored.encode()))
    if "chart_id" in checks:
        typed, stored = (answers.get("chart_id") or "").strip().upper(), patient.chart_id.strip().upper()
        results.append(hmac.compare_digest(typed.encode(), stored.encode()))
    return bool(results) and all(results)


def verify_identity(uow: UnitOfWork, key: bytes, answers: dict[str, str], *,
                    now: datetime | None = None) -> Outcome:
    """Check the answers for the link whose token hashes to ``key``; on success open a portal session."""
    now = now or utcnow()
    session = uow.session
    message = session.scalar(select(Message).where(Message.token_hash == key).with_for_update())
    patient = session.get(Patient, message.patient_id if message is not None else 0)  # a lookup either way
    live = _live(message, now)
    locked = message is not None and message.locked_at is not None
    matched = _answers_match(message, patient, answers)
    if live and not locked and matched and message is not None and patient is not None:
        message.failed_checks = 0
        token = open_session(session, message, now=now)
        audit.record(session, actor=PORTAL_ACTOR, action="portal.identity_confirmed", patient_id=patient.id,
                     detail={"message_id": message.id})
        uow.commit()
        return Outcome(True, "ok", token, message.id, patient.language)
    # Every failure runs the same UPDATE (a wrong token matches no row, a locked link is not counted
    # again) and writes one audit entry, so a real link's failure costs what a made-up one does.
    failures = Message.failed_checks + 1
    session.execute(update(Message).where(Message.token_hash == key, Message.locked_at.is_(None))
                    .values(failed_checks=failures,
                            locked_at=case((failures >= MAX_FAILURES, now), else_=Message.locked_at))
                    .execution_options(synchronize_session=False))
    counted = message.failed_checks + 1 if message is not None else 0
    locks_now = live and not locked and counted >= MAX_FAILURES
    reason = "dead" if _dead(message, now) else "unknown" if not live else "locked" if locked or locks_now \
        else "wrong"
    audit.record(session, actor=PORTAL_ACTOR, action="portal.link_locked" if locks_now else "portal.identity_failed",
                 patient_id=message.patient_id if message is not None else None,
                 detail={"message_id": message.id if message is not None else None})
    uow.commit()
    return Outcome(False, reason)


def locked_links(uow: UnitOfWork, patient_id: int) -> list[LockedLink]:
    rows = uow.session.execute(select(Message.id, Message.subject, Message.locked_at).where(
        Message.patient_id == patient_id, Message.locked_at.is_not(None), Message.revoked_at.is_(None))
        .order_by(Message.locked_at))
    return [LockedLink(row.id, row.subject, row.locked_at) for row in rows]


def clear_lockout(uow: UnitOfWork, patient_id: int) -> int:
    """PT-5: staff unlock every locked link of this patient; returns how many were locked. Audited."""
    result = uow.session.execute(update(Message).where(Message.patient_id == patient_id,
                                                       Message.locked_at.is_not(None))
                                 .values(locked_at=None, failed_checks=0)
                                 .execution_options(synchronize_session=False))
    count = result.rowcount or 0
    audit.record(uow.session, actor=uow.actor, action="portal.lockout_cleared", patient_id=patient_id,
                 detail={"links": count})
    uow.commit()
    return count


__all__ = ["MAX_FAILURES", "LockedLink", "Outcome", "checks_for", "clear_lockout", "link_key", "locked_links",
           "parse_date", "verify_identity"]
