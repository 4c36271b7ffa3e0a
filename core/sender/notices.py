"""The two emails of the custom From address, queued in the outbox with the caller's transaction.

* the approval request, to the operator address of the settings (SI-3);
* the fallback notice, to the site's administrators (SI-4): the administrator and support
  contacts of the Site screen and every active staff account with the administrator role.

Each is written in the recipient's language (a staff account's own, else the site default) and
carries an idempotency key, so a retried transaction never queues it twice.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.crypto import SiteCipher
from core.db.models import Site, User
from core.i18n import translate
from core.outbox.queue import enqueue
from core.outbox.worker import email_payload
from core.sender.identity import sender_for
from core.settings import Settings


def N_(text: str) -> str:  # noqa: N802 - marks a text for the catalogue
    return text


APPROVAL_SUBJECT = N_("Custom From address to approve: {address}")
APPROVAL_BODY = N_("The clinic {clinic} asks to send its email from {address}.\n\n"
                   "Its DNS records were checked: status {status}.\n\n"
                   "To approve it: accueil site approve-from {address} --as YOUR-USER-NAME\n"
                   "or in the Site section (F6), key A.\n")
FALLBACK_SUBJECT = N_("Your custom From address is no longer used: {address}")
FALLBACK_BODY = N_("The daily check of the DNS records of {address} failed.\n\n"
                   "Accueil now sends the clinic's email from {noreply}, so nothing is lost. "
                   "The Site section (F6) shows what is wrong and the exact records to create; "
                   "once they are fixed, enter the address again to have it approved.\n")
STATUS_NAMES = {"green": N_("green"), "yellow": N_("yellow"), "red": N_("red"), "unknown": N_("could not check")}


def _queue(session: Session, settings: Settings, cipher: SiteCipher, *, to: str, subject: str, body: str,
           key: str, now: datetime) -> None:
    identity = sender_for(session, settings)
    mail = EmailMessage()
    mail["From"] = identity.from_header
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = formatdate(now.timestamp(), usegmt=True)
    mail["Message-ID"] = make_msgid(domain=identity.domain)
    mail.set_content(body)
    enqueue(session, kind="email", idempotency_key=key,
            payload=email_payload(sender=identity.envelope_from, to=to, message_bytes=identity.sign(bytes(mail)),
                                  cipher=cipher))


def approval_request(session: Session, settings: Settings, cipher: SiteCipher, *, address: str, status: str,
                     check_id: int, now: datetime) -> bool:
    """Email the operator address (if one is set); True when an email was queued."""
    to = settings.sender.operator_email
    if not to:
        return False
    clinic = session.scalar(select(Site.name)) or ""
    language = settings.language
    _queue(session, settings, cipher, to=to, key=f"from-approval:{check_id}", now=now,
           subject=translate(APPROVAL_SUBJECT, language).format(address=address),
           body=translate(APPROVAL_BODY, language).format(
               clinic=clinic, address=address, status=translate(STATUS_NAMES[status], language)))
    return True


def administrators(session: Session, default_language: str) -> list[tuple[str, str]]:
    """(address, language) of everyone told about a fallback, each address once."""
    site = session.scalars(select(Site)).one()
    found: dict[str, str] = {}
    for email, language in session.execute(
            select(User.email, User.language).where(User.role == "administrator", User.active.is_(True),
                                                    User.email.is_not(None)).order_by(User.id)):
        found.setdefault(email.strip().lower(), language)
    for email in (site.admin_contact_email, site.support_contact_email):
        if email:
            found.setdefault(email.strip().lower(), default_language)
    return list(found.items())


def fallback(session: Session, settings: Settings, cipher: SiteCipher, *, address: str, check_id: int,
             now: datetime) -> int:
    """Tell the site's administrators the custom address is no longer used; returns how many."""
    people = administrators(session, settings.language)
    for to, language in people:
        _queue(session, settings, cipher, to=to, key=f"from-fallback:{check_id}:{to}", now=now,
               subject=translate(FALLBACK_SUBJECT, language).format(address=address),
               body=translate(FALLBACK_BODY, language).format(address=address, noreply=settings.noreply_address))
    return len(people)
