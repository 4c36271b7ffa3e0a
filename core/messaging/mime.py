"""Each patient's email as RFC 5322 bytes, built from parts worked out once per send (MS-4).

``email.message.EmailMessage`` parses and re-folds every header and re-encodes every part for
each message: fine for one email, most of the time of a 5,000-patient send. A send has one
shape (From, structure, boundary); only To, Subject, Date, Message-ID and the two bodies
change per patient. :class:`EmailBuilder` encodes the fixed parts once, encodes headers through
the standard library's policy (cached by value, so a subject without placeholders is encoded
once), and encodes each body with quoted-printable (``binascii``, in C). The result is a
standard ``multipart/alternative`` message that any mail client, ``email.parser`` and the
Outbox screen read as before; quoted-printable escapes ``=``, so the boundary (``=`` runs)
cannot occur in a body.
"""

from __future__ import annotations

import binascii
import re
import secrets
from email.message import EmailMessage
from email.utils import formatdate
from functools import lru_cache

# Plain ASCII addresses need no encoding or folding: written as they are.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,255}")


@lru_cache(maxsize=1024)
def encoded_header(name: str, value: str) -> bytes:
    """``Name: value`` as the standard library encodes and folds it (RFC 2047 words for non-ASCII)."""
    mail = EmailMessage()
    mail[name] = value
    return bytes(mail).rstrip(b"\n") + b"\n"


def _body_part(boundary: bytes, subtype: bytes, content: str) -> bytes:
    encoded = binascii.b2a_qp(content.encode("utf-8"), istext=True)
    if not encoded.endswith(b"\n"):
        encoded += b"\n"
    return (b"--" + boundary + b"\nContent-Type: text/" + subtype + b'; charset="utf-8"\n'
            b"Content-Transfer-Encoding: quoted-printable\n\n" + encoded)


class EmailBuilder:
    """Builds the emails of one send: same From and structure, per-patient headers and bodies."""

    def __init__(self, from_header: str) -> None:
        self._from = encoded_header("From", from_header)
        self._boundary = ("=" * 15 + secrets.token_hex(10) + "==").encode("ascii")
        self._content_type = b'MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="' + \
            self._boundary + b'"\n\n'

    def build(self, *, to: str, subject: str, message_id: str, timestamp: float, text: str, html: str) -> bytes:
        to_line = (b"To: " + to.encode("ascii") + b"\n") if _PLAIN_ADDRESS.fullmatch(to) \
            else encoded_header("To", to)
        return b"".join((
            self._from, to_line, encoded_header("Subject", subject),
            b"Date: " + formatdate(timestamp, usegmt=True).encode("ascii") + b"\n",
            b"Message-ID: " + message_id.encode("ascii") + b"\n",
            self._content_type,
            _body_part(self._boundary, b"plain", text),
            _body_part(self._boundary, b"html", html),
            b"--" + self._boundary + b"--\n",
        ))
