"""The product's DKIM key: one RSA key in a file (mode 600), made once, never logged.

The private key signs mail sent from an approved custom address; its public half is published
by the product at the key hosts the clinics' selector CNAMEs point to (``public_record`` gives
the exact TXT value). Only the file's path ever appears in messages, never its content.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from core.errors import AccueilError
from core.i18n import _

KEY_BITS = 2048


def ensure_key(path: Path) -> bool:
    """Write a new key to ``path`` unless one is there; True when it was created."""
    if path.exists():
        return False
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return True


def read_key(path: Path) -> bytes | None:
    """The PEM bytes, or None when there is no key file (mail then goes unsigned)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AccueilError(_("The DKIM key file {path} cannot be read.").format(path=path)) from exc


def public_record(path: Path) -> str:
    """The DKIM key record (TXT value) to publish at the product's key host."""
    pem = read_key(path)
    if pem is None:
        raise AccueilError(_("There is no DKIM key file at {path}.").format(path=path))
    key = serialization.load_pem_private_key(pem, password=None)
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode("ascii")
