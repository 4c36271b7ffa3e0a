"""Setting up the clinic in a new database (the Site row, the site key's salt and check value)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core import audit
from core.crypto import SiteCipher, SiteKeyError, generate_passphrase, load_passphrase, write_key_file
from core.db.models import Site
from core.errors import AccueilError
from core.messaging.catalog import ensure_builtin_forms
from core.messaging.templates import ensure_default_templates
from core.settings import Settings
from core.uow import UnitOfWork


@dataclass(frozen=True)
class SiteSetup:
    site_id: int
    key_created: bool


def init_site(uow: UnitOfWork, settings: Settings, *, name: str, friendly_name: str | None = None,
              admin_email: str | None = None, create_key: bool = True) -> SiteSetup:
    """Create the clinic row. Uses the existing site key, or writes a new key file (0600) if allowed."""
    if uow.session.scalar(select(Site.id)) is not None:
        raise AccueilError("This database already has a clinic.")
    key_created = False
    try:
        passphrase = load_passphrase(env_value=settings.site_key, key_file=settings.resolved_key_file())
    except SiteKeyError as exc:
        if exc.code != "missing" or not create_key:
            raise
        passphrase = generate_passphrase()
        write_key_file(settings.resolved_key_file(), passphrase)
        key_created = True
    salt = SiteCipher.new_salt()
    cipher = SiteCipher(passphrase, salt)
    site = Site(name=name, email_friendly_name=friendly_name or name, admin_contact_email=admin_email,
                support_contact_email=admin_email, key_salt=salt, key_check=cipher.make_key_check())
    uow.session.add(site)
    uow.session.flush()
    ensure_builtin_forms(uow.session)
    ensure_default_templates(uow.session)
    audit.record(uow.session, actor=uow.actor, action="site.init", detail={"key_created": key_created})
    uow.commit()
    return SiteSetup(site.id, key_created)
