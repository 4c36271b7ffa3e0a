"""Who an email is from: the hook every email builder calls (``sender_for``).

The clinic's approved custom address is used, and the email is DKIM-signed with the product's
key for the first selector of the settings, only while the site's state is ``approved``; in every
other state (none, pending, declined, fallen back) the default no-reply address is used and
nothing is signed. The site's friendly name is the display name either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.headerregistry import Address

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import Site
from core.sender.keys import read_key
from core.settings import Settings

APPROVED = "approved"
SIGNED_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
                  b"reply-to", b"cc")


@dataclass(frozen=True)
class DkimSigner:
    selector: str
    domain: str
    key: bytes = field(repr=False)

    def sign(self, message: bytes) -> bytes:
        import dkim  # dkimpy, imported when mail is really signed

        signature = dkim.sign(message, self.selector.encode(), self.domain.encode(), self.key,
                              canonicalize=(b"relaxed", b"relaxed"), include_headers=list(SIGNED_HEADERS))
        if b"\r\n" not in message:
            signature = signature.replace(b"\r\n", b"\n")
        return signature + message


@dataclass(frozen=True)
class SenderIdentity:
    from_header: str
    envelope_from: str
    dkim_signer: DkimSigner | None = None

    @property
    def domain(self) -> str:
        return self.envelope_from.rpartition("@")[2] or "accueil.invalid"

    def sign(self, message: bytes) -> bytes:
        """The message with its DKIM-Signature header first (unchanged when nothing signs)."""
        return self.dkim_signer.sign(message) if self.dkim_signer is not None else message


def sender_for(session: Session, settings: Settings) -> SenderIdentity:
    site = session.execute(select(Site.email_friendly_name, Site.custom_from_address, Site.custom_from_state)).one()
    signer = None
    address = settings.noreply_address
    if site.custom_from_state == APPROVED and site.custom_from_address:
        address = site.custom_from_address
        key = read_key(settings.resolved_dkim_key_file())
        selectors = list(settings.sender.dkim_selectors)
        if key is not None and selectors:
            signer = DkimSigner(selectors[0], address.rpartition("@")[2].lower(), key)
    return SenderIdentity(str(Address(display_name=site.email_friendly_name, addr_spec=address)), address, signer)
