"""Who may handle the site key, showing it, and the administrators' emails about it (SI-5).

Showing the key is never silent: every time, an audit entry (who, when) is written and every
administrator of the site (the Site screen's contacts and the active administrator accounts) is
emailed through the outbox, in the same transaction. The key itself goes in neither.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.bootstrap import Accueil
from core.crypto import SiteCipher, load_passphrase
from core.db.models import Site, utcnow
from core.errors import InvalidInput
from core.i18n import _, translate
from core.sender.notices import _queue as queue_email
from core.sender.notices import administrators
from core.settings import Settings
from core.staff_admin import require_administrator as _administrator


def N_(text: str) -> str:  # noqa: N802 - marks a text for the catalogue
    return text


SHOWN_SUBJECT = N_("The site encryption key of {clinic} was shown")
SHOWN_BODY = N_("{actor} displayed the site encryption key of {clinic} on {when} (UTC).\n\n"
                "The key is not in this email. If this was not expected, rotate the key "
                "(accueil site key rotate, or the Site section, F6) and check the audit trail.\n")
ROTATED_SUBJECT = N_("The site encryption key of {clinic} was changed")
ROTATED_BODY = N_("{actor} replaced the site encryption key of {clinic} on {when} (UTC); everything it "
                  "protects was encrypted again with the new key.\n\n"
                  "The key is not in this email. Keep the new key in the clinic's safe; backups made "
                  "before this change still need the old key. Restart the other Accueil programs "
                  "(email worker, patient portal) so they use the new key.\n")


def require_administrator(session: Session, actor: str) -> str:
    """The administrator account acting, else refused (only administrators handle the site key)."""
    try:
        return _administrator(session, actor)
    except InvalidInput:
        raise InvalidInput(_("Only an administrator can show or change the site encryption key.")) from None


def is_administrator(session: Session, actor: str) -> bool:
    try:
        _administrator(session, actor)
    except InvalidInput:
        return False
    return True


def _tell(session: Session, settings: Settings, cipher: SiteCipher, *, subject: str, body: str, actor: str,
          key: str, now: datetime) -> int:
    clinic = session.scalar(select(Site.name)) or ""
    when = now.strftime("%Y-%m-%d %H:%M")
    people = administrators(session, settings.language)
    for to, language in people:
        queue_email(session, settings, cipher, to=to, key=f"{key}:{to}", now=now,
                    subject=translate(subject, language).format(clinic=clinic),
                    body=translate(body, language).format(actor=actor, clinic=clinic, when=when))
    return len(people)


def key_rotated(session: Session, settings: Settings, cipher: SiteCipher, *, actor: str, rotation_id: int,
                now: datetime) -> int:
    """Tell the administrators the key was changed (queued with the rotation's last transaction)."""
    return _tell(session, settings, cipher, subject=ROTATED_SUBJECT, body=ROTATED_BODY, actor=actor,
                 key=f"key-rotated:{rotation_id}", now=now)


def reveal(app: Accueil) -> str:
    """The site key, for an administrator, after its audit entry and the administrators' email are committed."""
    settings = app.settings
    with app.uow(write=True) as uow:
        session = uow.session
        actor = require_administrator(session, uow.actor)
        passphrase = load_passphrase(env_value=settings.site_key, key_file=settings.resolved_key_file())
        now = utcnow()
        told = _tell(session, settings, app.cipher, subject=SHOWN_SUBJECT, body=SHOWN_BODY, actor=actor,
                     key=f"key-shown:{secrets.token_hex(8)}", now=now)
        audit.record(session, actor=uow.actor, action="site.key_shown", detail={"emailed": told})
        uow.commit()
    return passphrase


__all__ = ["is_administrator", "key_rotated", "require_administrator", "reveal"]
