"""Site encryption key and at-rest encryption (spec SI-5 / SR-2).

The clinic chooses a *site encryption key*, a passphrase never stored in the
database: it lives in a key file (mode 0600) in the config folder or in the
``ACCUEIL_SITE_KEY`` environment variable (read by the caller, passed to
:func:`load_passphrase`).  The database holds only a random, non-secret salt
and a "key check" blob.  :class:`SiteCipher` derives an AES-256 key from
passphrase + salt with scrypt (lazily, to keep start-up fast) and encrypts
sensitive text and blobs with AES-256-GCM, binding each blob to its column
(``context``) so it cannot be moved elsewhere undetected.  Errors are
:class:`SiteKeyError` with a one-line English ``message`` for the clinic's IT
person.  No key material is ever logged, or put in messages or reprs.
"""

from __future__ import annotations

import os
import secrets
import stat
import string
import threading
from contextvars import ContextVar
from pathlib import Path
from typing import Literal, NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from core.errors import AccueilError

__all__ = [
    "ENCRYPTED_SALTS", "DecryptionError", "SiteCipher", "SiteKeyChanged", "SiteKeyError", "check_key_policy",
    "generate_passphrase", "load_passphrase", "read_key_file", "write_key_file",
]  # fmt: skip

ErrorCode = Literal["missing", "weak", "wrong", "unreadable", "permissions", "corrupt"]

ENV_VAR = "ACCUEIL_SITE_KEY"
MIN_LENGTH, PASSPHRASE_LENGTH = 16, 24
SALT_BYTES, NONCE_BYTES, TAG_BYTES = 16, 12, 16
FORMAT_VERSION = b"\x01"
KEY_CHECK_CONTEXT = "key-check"
_KEY_CHECK_PLAINTEXT = b"Accueil site key check v1"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _KEY_BYTES = 2**14, 8, 1, 32

# No quotes, backslash, '$' or backtick: safe to paste into a shell or .env file.
_GEN_PUNCTUATION = "!#%*+,-./:;=?@^_~"
_GEN_ALPHABET = string.ascii_letters + string.digits + _GEN_PUNCTUATION
_rng = secrets.SystemRandom()  # module-level so tests can substitute it

ENCRYPTED_SALTS: ContextVar[set[bytes] | None] = ContextVar("accueil_encrypted_salts", default=None)
"""The salts :meth:`SiteCipher.encrypt` used in the current unit of work (``core.uow`` sets a fresh set
on entering one): its commit checks them against the site's salt, so that nothing encrypted under a key
another process has just replaced is ever committed."""


def N_(text: str) -> str:  # noqa: N802 - marks a text for the catalogue (faces translate error messages)
    return text


KEY_CHANGED_MESSAGE = N_("The site encryption key was just changed: your work was not saved. Please try again.")


class SiteKeyError(AccueilError):
    """A missing, malformed, weak or wrong site key.  ``message``: one English sentence
    for the user, never key material; ``code``: one of the :data:`ErrorCode` values."""

    title = "Site encryption key"

    def __init__(self, message: str, code: ErrorCode) -> None:
        super().__init__(message)
        self.code: ErrorCode = code


class DecryptionError(SiteKeyError):
    """A blob is truncated, altered, from another context or under another key.  AES-GCM
    cannot tell these apart, so the code is 'corrupt'; :meth:`SiteCipher.verify_key_check`
    diagnoses a wrong key (code 'wrong')."""


class SiteKeyChanged(AccueilError):
    """A commit refused because something in it was encrypted with a site key that another process
    replaced meanwhile (a key rotation's switch): nothing was saved, trying again uses the new key."""

    title = "Site encryption key changed"

    def __init__(self) -> None:
        super().__init__(KEY_CHANGED_MESSAGE)


def _has_punctuation(ch: str) -> bool:
    return ch.isprintable() and not ch.isalnum() and not ch.isspace()


def check_key_policy(passphrase: str) -> list[str]:
    """Return the list of unmet rules (empty means the passphrase is acceptable)."""
    unmet: list[str] = []
    if len(passphrase) < MIN_LENGTH:
        unmet.append(f"at least {MIN_LENGTH} characters")
    if not any(ch.isdigit() for ch in passphrase):
        unmet.append("a digit")
    if not any(ch.isupper() for ch in passphrase):
        unmet.append("an upper-case letter")
    if not any(ch.islower() for ch in passphrase):
        unmet.append("a lower-case letter")
    if not any(_has_punctuation(ch) for ch in passphrase):
        unmet.append("a punctuation mark")
    return unmet


def generate_passphrase() -> str:
    """Return a random 24-character passphrase that always meets the policy."""
    required = (string.ascii_uppercase, string.ascii_lowercase, string.digits, _GEN_PUNCTUATION)
    chars = [_rng.choice(pool) for pool in required]
    chars += [_rng.choice(_GEN_ALPHABET) for _ in range(PASSPHRASE_LENGTH - len(chars))]
    _rng.shuffle(chars)
    return "".join(chars)


def _raise_weak(where: str, unmet: list[str]) -> NoReturn:
    raise SiteKeyError(f"The site encryption key {where} is too weak: it needs {', '.join(unmet)}.", "weak")


def _missing(path: Path) -> SiteKeyError:
    return SiteKeyError(
        f"No site encryption key: set {ENV_VAR} or create the key file {path} (mode 600).", "missing"
    )


def _unreadable(path: Path, reason: str | None) -> SiteKeyError:
    return SiteKeyError(f"Cannot read the site encryption key file {path}: {reason}.", "unreadable")


def read_key_file(path: Path) -> str:
    """Read and validate the passphrase stored in ``path`` (trailing newline stripped)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise _missing(path) from None
    except OSError as exc:
        raise _unreadable(path, exc.strerror) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _unreadable(path, "it is not a regular file")
        if os.name == "posix" and info.st_mode & 0o077:
            raise SiteKeyError(
                f"The site encryption key file {path} is readable by other users "
                f"(mode {stat.S_IMODE(info.st_mode):o}): run 'chmod 600 {path}'.",
                "permissions",
            )
        with open(fd, "rb", closefd=False) as fh:
            raw = fh.read()
    except OSError as exc:
        raise _unreadable(path, exc.strerror) from None
    finally:
        os.close(fd)
    try:
        passphrase = raw.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise _unreadable(path, "it is not UTF-8 text") from None
    if not passphrase:
        raise _missing(path)
    if unmet := check_key_policy(passphrase):
        _raise_weak(f"in {path}", unmet)
    return passphrase


def write_key_file(path: Path, passphrase: str) -> None:
    """Atomically write ``passphrase`` to ``path`` with mode 0600."""
    if unmet := check_key_policy(passphrase):
        _raise_weak("given", unmet)
    if "\n" in passphrase or "\r" in passphrase:
        raise SiteKeyError("The site encryption key must fit on a single line.", "weak")
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)
            os.write(fd, (passphrase + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        msg = f"Cannot write the site encryption key file {path}: {exc.strerror}."
        raise SiteKeyError(msg, "unreadable") from None


def load_passphrase(*, env_value: str | None, key_file: Path) -> str:
    """``env_value`` (from ACCUEIL_SITE_KEY) if set and non-empty, else the key file."""
    if env_value:
        if unmet := check_key_policy(env_value):
            _raise_weak(f"in {ENV_VAR}", unmet)
        return env_value
    return read_key_file(key_file)


class SiteCipher:
    """AES-256-GCM keyed by scrypt(passphrase, site salt), derived lazily under a lock.
    Blob format: version byte 0x01 + 12-byte nonce + ciphertext + 16-byte tag."""

    __slots__ = ("__passphrase", "_aead", "_lock", "_salt")

    def __init__(self, passphrase: str, salt: bytes) -> None:
        if not passphrase:
            raise SiteKeyError("The site encryption key is empty.", "missing")
        salt = bytes(salt)
        if len(salt) != SALT_BYTES:
            msg = f"The site salt stored in the database is malformed ({len(salt)} bytes, not {SALT_BYTES})."
            raise SiteKeyError(msg, "corrupt")
        self.__passphrase = passphrase.encode("utf-8")
        self._salt = salt
        self._aead: AESGCM | None = None
        self._lock = threading.Lock()

    @property
    def salt(self) -> bytes:
        """The site salt this cipher's key was derived with (not secret: it is stored in the database)."""
        return self._salt

    def __repr__(self) -> str:
        return f"<SiteCipher derived={self._aead is not None}>"

    def __reduce__(self) -> NoReturn:
        raise TypeError("SiteCipher holds key material and cannot be pickled")

    @staticmethod
    def new_salt() -> bytes:
        """Return a fresh random salt to store in the database."""
        return secrets.token_bytes(SALT_BYTES)

    def _cipher(self) -> AESGCM:
        aead = self._aead
        if aead is None:
            with self._lock:
                aead = self._aead
                if aead is None:
                    kdf = Scrypt(salt=self._salt, length=_KEY_BYTES, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
                    aead = self._aead = AESGCM(kdf.derive(self.__passphrase))
                    del self.__passphrase  # not needed once the key exists
        return aead

    @staticmethod
    def _aad(context: str) -> bytes:
        if not context:  # a programming error, not a key problem
            raise ValueError("an encryption context is required")
        return context.encode("utf-8")

    def encrypt(self, plaintext: bytes, *, context: str) -> bytes:
        """Encrypt ``plaintext``, binding it to ``context`` (e.g. 'secure_content')."""
        aad = self._aad(context)
        used = ENCRYPTED_SALTS.get()
        if used is not None:  # inside a unit of work: its commit checks this key is still in force
            used.add(self._salt)
        nonce = secrets.token_bytes(NONCE_BYTES)
        return FORMAT_VERSION + nonce + self._cipher().encrypt(nonce, bytes(plaintext), aad)

    def decrypt(self, blob: bytes, *, context: str) -> bytes:
        """Decrypt a blob from :meth:`encrypt`; raise DecryptionError on any failure."""
        aad = self._aad(context)
        blob = bytes(blob)
        if len(blob) < 1 + NONCE_BYTES + TAG_BYTES:
            raise DecryptionError(f"Encrypted {context} data is truncated.", "corrupt")
        if blob[:1] != FORMAT_VERSION:
            raise DecryptionError(f"Encrypted {context} data has an unknown format ({blob[0]}).", "corrupt")
        nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            return self._cipher().decrypt(nonce, body, aad)
        except InvalidTag:
            msg = (
                f"Encrypted {context} data could not be authenticated: it was altered, "
                "moved from another field, or encrypted with a different site key."
            )
            raise DecryptionError(msg, "corrupt") from None

    def encrypt_text(self, text: str, *, context: str) -> bytes:
        """Encrypt a string (UTF-8)."""
        return self.encrypt(text.encode("utf-8"), context=context)

    def decrypt_text(self, blob: bytes, *, context: str) -> str:
        """Decrypt a blob produced by :meth:`encrypt_text`."""
        try:
            return self.decrypt(blob, context=context).decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionError(f"Encrypted {context} data is not text.", "corrupt") from None

    def make_key_check(self) -> bytes:
        """Return a blob to store next to the salt so a wrong key is detectable."""
        return self.encrypt(_KEY_CHECK_PLAINTEXT, context=KEY_CHECK_CONTEXT)

    def verify_key_check(self, blob: bytes) -> None:
        """Raise SiteKeyError(code='wrong') unless ``blob`` matches this key."""
        try:
            ok = self.decrypt(blob, context=KEY_CHECK_CONTEXT) == _KEY_CHECK_PLAINTEXT
        except DecryptionError:
            ok = False
        if not ok:
            msg = (
                f"The site encryption key does not match this database: check {ENV_VAR} "
                "or the key file, or restore the key the database was created with."
            )
            raise SiteKeyError(msg, "wrong")
