"""A scheduled job for the worker test of ``test_site_key_stale``: the first time it runs, the site key
is rotated by another process between its encryption and its commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.bootstrap import Accueil
from core.db.models import Reply
from core.site_key import rotate

STATE: dict[str, Any] = {"salts": [], "admin": None, "message_id": None, "new_key": None}


def add_reply(app: Accueil, now: datetime) -> int:
    with app.uow(write=True) as uow:
        cipher = app.cipher
        blob = cipher.encrypt_text(f"written by the worker at {now:%H:%M}", context="reply")
        STATE["salts"].append(cipher.salt)
        if len(STATE["salts"]) == 1:  # the administrator's rotation switches in the meantime
            rotate(STATE["admin"], STATE["new_key"])
        uow.session.add(Reply(message_id=STATE["message_id"], body_ciphertext=blob))
        uow.commit()
    return 1
