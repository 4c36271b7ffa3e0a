"""Invitation emails in bulk: render the template once per language, then fill each patient's in.

Start queues up to 5,000 emails in one transaction. Rendering each through
``core.messaging.render`` (HTML cleaning, text extraction, checks) and building each with
``email.message.EmailMessage`` (header folding) costs tens of milliseconds a patient on a
loaded server, so this module does both once per campaign and language: the template is
rendered through ``render_message`` with stand-in characters (Unicode private-use code points,
which no template or name contains and which the renderer passes through untouched) in place of
the patient's values and link, and each patient's email is that rendering with the stand-ins
replaced — HTML-escaped in the HTML part, as is in the text part and subject — in a small fixed
MIME frame: multipart/alternative, UTF-8, base64 parts, RFC 2047 words in the headers. The
result parses as the same email ``EmailMessage`` would make (a unit test checks).
"""

from __future__ import annotations

import base64
import binascii
import html
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.utils import formataddr, formatdate, make_msgid, parseaddr

from core.campaigns.templates import render_invitation
from core.messaging.render import RenderContext, RenderedMessage

PREFERRED, FIRST, LAST, TOKEN = "\ue001", "\ue002", "\ue003", "\ue004"


@dataclass(frozen=True)
class InvitationPatient:
    first_name: str
    last_name: str
    preferred_name: str | None
    language: str
    email: str


def _base64_lines(text: str) -> str:
    """Base64 in lines of 76 characters, each ending in CRLF (``base64.encodebytes``' layout, which
    works 57 bytes at a time in Python: most of an invitation's build time)."""
    encoded = binascii.b2a_base64(text.encode("utf-8"), newline=False).decode("ascii")
    return "".join(encoded[start:start + 76] + "\r\n" for start in range(0, len(encoded), 76))


def _header_text(value: str) -> str:
    """The value as is when it is short ASCII; otherwise RFC 2047 base64 words of at most 45 bytes
    (a whole character never split), one per folded line: each line stays under 78 characters."""
    if value.isascii() and len(value) < 70:
        return value
    data = value.encode("utf-8")
    words: list[bytes] = []
    start = 0
    while start < len(data):
        end = min(start + 45, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # not inside a character's bytes
            end -= 1
        words.append(data[start:end])
        start = end
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(word).decode('ascii')}?=" for word in words)


class InvitationMailer:
    """Builds each patient's invitation email (the template was checked when the campaign was saved)."""

    def __init__(self, subject: str, body: str, *, clinic: str, from_header: str, domain: str, portal: str,
                 timezone: str) -> None:
        self.subject, self.body, self.clinic, self.timezone = subject, body, clinic, timezone
        self.portal = portal.rstrip("/")
        self.domain = domain
        name, address = parseaddr(from_header)
        self.from_line = formataddr((name, address), charset="utf-8")
        self._rendered: dict[str, RenderedMessage] = {}

    def link(self, token: str) -> str:
        return f"{self.portal}/invitation/{token}"

    def _template(self, language: str) -> RenderedMessage:
        if language not in self._rendered:
            context = RenderContext(first_name=FIRST, last_name=LAST, preferred_name=PREFERRED,
                                    clinic_name=self.clinic, language=language,
                                    weblink=self.link(TOKEN), weblink_french=self.link(TOKEN) + "?lang=fr",
                                    timezone=self.timezone)
            self._rendered[language] = render_invitation(self.subject, self.body, context)
        return self._rendered[language]

    def build(self, patient: InvitationPatient, token: str, now: datetime) -> bytes:
        language = patient.language if patient.language in ("en", "fr") else "en"
        rendered = self._template(language)
        values = {PREFERRED: (patient.preferred_name or "").strip() or patient.first_name.strip(),
                  FIRST: patient.first_name.strip(), LAST: patient.last_name.strip(),
                  TOKEN: token}
        subject, text, markup = rendered.subject, rendered.text, rendered.html
        for stand_in, value in values.items():
            subject = subject.replace(stand_in, value)
            text = text.replace(stand_in, value)
            markup = markup.replace(stand_in, html.escape(value))
        boundary = "=_" + secrets.token_hex(12)
        lines = [
            f"From: {self.from_line}",
            f"To: {patient.email}",
            f"Subject: {_header_text(' '.join(subject.split()))}",
            f"Date: {formatdate(now.timestamp(), usegmt=True)}",
            f"Message-ID: {make_msgid(domain=self.domain)}",
            "MIME-Version: 1.0",
            f'Content-Type: multipart/alternative; boundary="{boundary}"',
            "",
            f"--{boundary}",
            'Content-Type: text/plain; charset="utf-8"',
            "Content-Transfer-Encoding: base64",
            "",
            _base64_lines(text),
            f"--{boundary}",
            'Content-Type: text/html; charset="utf-8"',
            "Content-Transfer-Encoding: base64",
            "",
            _base64_lines(markup),
            f"--{boundary}--",
            "",
        ]
        return "\r\n".join(lines).encode("utf-8")
