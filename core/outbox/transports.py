"""How a finished email leaves the process: an SMTP relay, or the embedded local mailbox.

The worker hands a transport the envelope and the complete RFC 5322 message; the transport
calls ``on_transmitting`` at the one moment that matters for crash safety, right before the
message content can reach the other side (for SMTP: after MAIL and RCPT were accepted, before
DATA), and reports the outcome by returning (accepted) or raising:

* :class:`TemporaryFailure`: a 4xx reply, or the connection failed before the content went
  out. Sending again later cannot produce a duplicate.
* :class:`ConnectionFailure` (a temporary failure): the server could not be reached or refused
  the login. Nothing about this message is wrong; the worker stops its batch.
* :class:`PermanentFailure`: a 5xx reply; never retried. ``address_bad`` is set for the
  enhanced codes meaning the mailbox does not exist (5.1.1 and kin).
* :class:`DeliveryUncertain`: the connection broke after the content was sent and before the
  server's reply: the server may hold the message. See ``core.outbox.queue`` for what follows.

If ``on_transmitting`` raises (the worker lost its claim), the transaction is reset and the
exception propagates: nothing was transmitted.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import smtplib
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Protocol

from core.settings import SmtpSettings

# Enhanced status codes (RFC 3463) meaning "this address cannot receive mail": bad mailbox,
# bad destination system, null MX (RFC 7505).
BAD_ADDRESS_CODES = frozenset({"5.1.1", "5.1.2", "5.1.10"})
_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")
_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>]+>?")
_EOL = re.compile(rb"\r\n|\n|\r(?!\n)")
_LEADING_DOT = re.compile(rb"(?m)^\.")


class TransportError(Exception):
    """A delivery outcome other than success. ``str()`` never contains an address."""

    def __init__(self, code: int | None, text: str) -> None:
        self.code = code
        self.text = " ".join(_ADDRESS.sub("<address>", text).split())[:300]
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.code} {self.text}" if self.code is not None else self.text


class TemporaryFailure(TransportError):
    """Try again later: the server did not take the message, and said so (4xx) or never saw it."""


class ConnectionFailure(TemporaryFailure):
    """The server could not be reached, or refused TLS or the login: no message got a chance."""


class DeliveryUncertain(TransportError):
    """The content went out but no reply came back: the server may or may not have the message."""


class PermanentFailure(TransportError):
    """The server refused the message for good (5xx)."""

    def __init__(self, code: int | None, text: str, enhanced: str | None = None) -> None:
        self.enhanced = enhanced
        super().__init__(code, text)

    @property
    def address_bad(self) -> bool:
        return self.enhanced in BAD_ADDRESS_CODES

    def __str__(self) -> str:
        text = f"{self.enhanced} {self.text}" if self.enhanced and not self.text.startswith(self.enhanced) \
            else self.text
        return f"{self.code} {text}" if self.code is not None else text


class EmailTransport(Protocol):
    def send(self, envelope_from: str, to: str, message_bytes: bytes,
             on_transmitting: Callable[[], None]) -> None: ...

    def close(self) -> None: ...


def enhanced_code(text: str) -> str | None:
    match = _ENHANCED.match(text.strip())
    return ".".join(match.groups()) if match else None


def _reply_text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def wire_format(message_bytes: bytes) -> bytes:
    """CRLF line ends, leading dots doubled, and the terminating ``CRLF . CRLF`` (RFC 5321 §4.5.2)."""
    data = _LEADING_DOT.sub(b"..", _EOL.sub(b"\r\n", message_bytes))
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


class _StaleConnection(Exception):
    """A reused connection turned out closed at MAIL: reconnect once, nothing was sent."""


class SmtpTransport:
    """SMTP with one connection kept open across messages (reconnecting when it breaks).

    Not thread-safe: one transport per worker.
    """

    def __init__(self, settings: SmtpSettings, *, ssl_context: ssl.SSLContext | None = None,
                 local_hostname: str | None = None) -> None:
        self.settings = settings
        self._ssl_context = ssl_context
        self._local_hostname = local_hostname
        self._conn: smtplib.SMTP | None = None
        self.connections = 0  # opened so far, for tests and the bench

    # -- connection ------------------------------------------------------------------------
    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        conn: smtplib.SMTP | None = None
        try:
            if s.security == "tls":
                conn = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds,
                                        local_hostname=self._local_hostname, context=self._context())
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds, local_hostname=self._local_hostname)
            conn.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                conn.starttls(context=self._context())
                conn.ehlo()
            if s.username:
                conn.login(s.username, s.password or "")
        except smtplib.SMTPResponseException as exc:
            _quietly_close(conn)
            raise ConnectionFailure(exc.smtp_code, f"server refused the session: {_reply_text(exc.smtp_error)}") \
                from None
        except (smtplib.SMTPException, OSError) as exc:
            _quietly_close(conn)
            raise ConnectionFailure(None, f"cannot open an SMTP session with {s.host}:{s.port} "
                                          f"({type(exc).__name__}: {exc})") from None
        self.connections += 1
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        _quietly_close(conn)

    def _reset(self, conn: smtplib.SMTP) -> None:
        try:
            code, _ = conn.rset()
        except (smtplib.SMTPException, OSError):
            code = -1
        if code != 250:
            self._drop()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                _quietly_close(conn)

    # -- one message -------------------------------------------------------------------------
    def send(self, envelope_from: str, to: str, message_bytes: bytes,
             on_transmitting: Callable[[], None]) -> None:
        for _ in range(2):
            reused = self._conn is not None
            if self._conn is None:
                self._conn = self._connect()
            try:
                self._transaction(self._conn, reused, envelope_from, to, message_bytes, on_transmitting)
                return
            except _StaleConnection:
                self._drop()
        raise TemporaryFailure(None, "the server closed the connection twice before MAIL was accepted")

    def _mail_options(self, conn: smtplib.SMTP, envelope_from: str, to: str, message_bytes: bytes) -> list[str]:
        options: list[str] = []
        if not message_bytes.isascii() and conn.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        if not (envelope_from.isascii() and to.isascii()):
            if not conn.has_extn("smtputf8"):
                raise PermanentFailure(553, "the address is not ASCII and the server does not offer SMTPUTF8",
                                       "5.6.7")
            options.append("SMTPUTF8")
        return options

    def _transaction(self, conn: smtplib.SMTP, reused: bool, envelope_from: str, to: str,
                     message_bytes: bytes, on_transmitting: Callable[[], None]) -> None:
        phase = "MAIL"
        # Ready before MAIL: once the server has said 354 it should not have to wait for us.
        content = wire_format(message_bytes)
        try:
            code, reply = conn.mail(envelope_from, self._mail_options(conn, envelope_from, to, message_bytes))
            if code != 250:
                if code == 421 and reused:
                    raise _StaleConnection
                self._refused(conn, code, reply, phase)
            phase = "RCPT"
            code, reply = conn.rcpt(to)
            if code not in (250, 251):
                self._refused(conn, code, reply, phase)
            try:
                on_transmitting()
            except BaseException:
                self._reset(conn)
                raise
            phase = "DATA"
            conn.putcmd("data")
            code, reply = conn.getreply()
            if code != 354:
                self._refused(conn, code, reply, phase)
            phase = "content"
            conn.send(content)
            code, reply = conn.getreply()
            if code != 250:
                self._refused(conn, code, reply, phase)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            if phase == "MAIL" and reused:
                raise _StaleConnection from None
            if phase == "content":
                raise DeliveryUncertain(None, f"connection lost after the message content was sent "
                                              f"({type(exc).__name__})") from None
            raise TemporaryFailure(None, f"connection lost at {phase} ({type(exc).__name__})") from None
        except smtplib.SMTPResponseException as exc:  # e.g. a reply line too long: the stream is unusable
            self._drop()
            if phase == "content":
                raise DeliveryUncertain(exc.smtp_code, "unreadable reply after the message content") from None
            raise TemporaryFailure(exc.smtp_code, f"unreadable reply at {phase}") from None

    def _refused(self, conn: smtplib.SMTP, code: int, reply: bytes, phase: str) -> None:
        text = _reply_text(reply)
        if code == 421 or not 400 <= code < 600:
            # 421: the server is closing the channel; anything else: we no longer agree on the state.
            self._drop()
            raise TemporaryFailure(code, f"{phase}: {text}")
        self._reset(conn)
        if code < 500 or (code == 552 and phase == "RCPT"):
            # RFC 5321 §4.5.3.1.10: 552 on RCPT (too many recipients) is to be treated as temporary.
            raise TemporaryFailure(code, f"{phase}: {text}")
        raise PermanentFailure(code, f"{phase}: {text}", enhanced_code(text))


def _quietly_close(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(OSError):
            conn.close()


class MailboxTransport:
    """The embedded default: each message becomes ``<folder>/<UTC timestamp>-<key>.eml``.

    ``key`` is a hash of the Message-ID header (of the bytes when there is none), so the file
    name says nothing about the patient. The file appears whole or not at all (temporary file,
    fsync, ``os.replace``); the Outbox screen lists the folder.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, envelope_from: str, to: str, message_bytes: bytes,
             on_transmitting: Callable[[], None]) -> None:
        key = mailbox_key(message_bytes)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConnectionFailure(None, f"mailbox folder unusable ({type(exc).__name__})") from None
        on_transmitting()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        final = self.folder / f"{stamp}-{key}.eml"
        partial = self.folder / f".{stamp}-{key}.part"
        try:
            with partial.open("wb") as handle:
                handle.write(message_bytes)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, final)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            # os.replace is atomic: the message is not in the mailbox, writing it again is safe.
            raise TemporaryFailure(None, f"cannot write to the mailbox ({type(exc).__name__})") from None

    def close(self) -> None:
        return None


def mailbox_key(message_bytes: bytes) -> str:
    message_id = BytesHeaderParser().parsebytes(message_bytes).get("Message-ID")
    source = str(message_id).strip().encode() if message_id else message_bytes
    return hashlib.sha256(source).hexdigest()[:20]
