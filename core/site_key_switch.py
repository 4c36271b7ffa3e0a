"""The end of a site key rotation (``core.site_key``): the one switching transaction and the key file.

``switch`` copies each staged blob over its row when the row still holds the blob it was made from
(same nonce), re-encrypts rows added or changed since, checks that the key being replaced is still
the one in force, stores the new salt and check, and records the audit entry and the administrators'
email, all in one transaction (the tables are locked on PostgreSQL; SQLite's write lock is
exclusive). Then the new key is written to the key file from memory and the pending file removed;
``recover_pending_key`` finishes that step at the next start if the process died just before it.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, exists, func, select, text, update
from sqlalchemy.orm import Session

from core import audit
from core.bootstrap import Accueil
from core.crypto import NONCE_BYTES, DecryptionError, SiteCipher, SiteKeyError, read_key_file, write_key_file
from core.db.models import Base, KeyRotation, KeyRotationBlob, Site, utcnow
from core.encrypted_columns import PROTECTED, Protected
from core.i18n import _
from core.settings import Settings
from core.site_key_notices import key_rotated

CHUNK = 16


def pending_file(settings: Settings, salt: bytes) -> Path:
    """The pending key file of the rotation to the new ``salt``: one per rotation, so that starting
    another rotation never overwrites the key of one that is switching (which may be in force)."""
    path = settings.resolved_key_file()
    return path.with_name(f"{path.name}.pending-{bytes(salt)[:8].hex()}")


def pending_files(settings: Settings) -> list[Path]:
    """Every pending key file next to the key file (``site.key.pending`` is the name before 0.x)."""
    path = settings.resolved_key_file()
    return sorted(p for p in path.parent.glob(f"{path.name}.pending*") if not p.name.endswith(".tmp"))


def sync_folder(path: Path) -> None:
    """Make the creation, rename or removal of a file in ``path``'s folder durable (POSIX)."""
    if os.name != "posix":
        return
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_pending(path: Path) -> None:
    path.unlink(missing_ok=True)
    sync_folder(path)


def table_of(target: Protected) -> Table:
    return Base.metadata.tables[target.table]


def blob_of(target: Protected, value: Any) -> bytes | None:
    if target.json_key is None:
        return bytes(value) if value is not None else None
    raw = value.get(target.json_key) if isinstance(value, dict) else None
    try:
        return base64.b64decode(raw, validate=True) if isinstance(raw, str) else None
    except binascii.Error:
        return None  # not a blob of ours: left as it is (the worker reports it)


def recrypt(target: Protected, blob: bytes, old: SiteCipher, new: SiteCipher) -> bytes | None:
    try:
        return new.encrypt(old.decrypt(blob, context=target.context), context=target.context)
    except DecryptionError:
        return None


def check_old(session: Session, old: SiteCipher) -> None:
    """The key being replaced must be the one in force (not one another rotation has just replaced)."""
    old.verify_key_check(bytes(session.execute(select(Site.key_check)).scalar_one()))


def _nonce(expression: Any) -> Any:
    return func.substr(expression, 2, NONCE_BYTES)


def _chunks(items: list[int], size: int = CHUNK) -> Iterable[list[int]]:
    for start_at in range(0, len(items), size):
        yield items[start_at:start_at + size]


def _switch_binary(session: Session, rotation_id: int, target: Protected, old: SiteCipher,
                   new: SiteCipher) -> tuple[int, int]:
    table = table_of(target)
    pk, column = table.c[target.pk], table.c[target.column]
    staged = KeyRotationBlob.__table__.alias("staged")
    same_row = and_(staged.c.rotation_id == rotation_id, staged.c.target == target.target, staged.c.row_id == pk)
    unchanged = and_(same_row, staged.c.old_nonce == _nonce(column))
    swapped = session.execute(update(table).values({target.column: select(staged.c.blob).where(unchanged)
                                                    .scalar_subquery()})
                              .where(column.is_not(None), exists().where(unchanged))).rowcount or 0
    # Rows added, filled or changed since they were staged: re-encrypted here.
    is_new = exists().where(same_row, _nonce(staged.c.blob) == _nonce(column))
    left = list(session.scalars(select(pk).where(column.is_not(None), ~is_new).order_by(pk)))
    recrypted = unreadable = 0
    for ids in _chunks(left, 16):
        changes = []
        for row_id, blob in session.execute(select(pk, column).where(pk.in_(ids))).all():
            fresh = recrypt(target, bytes(blob), old, new)
            if fresh is None:
                unreadable += 1
            else:
                changes.append({"row_id": row_id, "fresh": fresh})
        _write(session, table, target, changes)
        recrypted += len(changes)
    return swapped + recrypted, unreadable


def _write(session: Session, table: Table, target: Protected, changes: list[dict[str, Any]]) -> None:
    """Set ``target``'s column of each row (``row_id``) to ``fresh``, in one executemany."""
    if changes:
        statement = (update(table).where(table.c[target.pk] == bindparam("row_id"))
                     .values({target.column: bindparam("fresh")}))
        session.connection().execute(statement, changes)


def _switch_json(session: Session, rotation_id: int, target: Protected, old: SiteCipher,
                 new: SiteCipher) -> tuple[int, int]:
    table = table_of(target)
    pk, column = table.c[target.pk], table.c[target.column]
    key = target.json_key or ""
    rows = unreadable = 0
    for ids in _chunks(list(session.scalars(select(pk).order_by(pk)))):
        staged = {row_id: (bytes(nonce), bytes(blob)) for row_id, nonce, blob in session.execute(
            select(KeyRotationBlob.row_id, KeyRotationBlob.old_nonce, KeyRotationBlob.blob).where(
                KeyRotationBlob.rotation_id == rotation_id, KeyRotationBlob.target == target.target,
                KeyRotationBlob.row_id.in_(ids)))}
        changes = []
        for row_id, payload in session.execute(select(pk, column).where(pk.in_(ids))).all():
            blob = blob_of(target, payload)
            if blob is None:
                continue
            ready = staged.get(row_id)
            fresh = ready[1] if ready and ready[0] == blob[1:1 + NONCE_BYTES] else recrypt(target, blob, old, new)
            if fresh is None:
                unreadable += 1
                continue
            changes.append({"row_id": row_id, "fresh": {**payload, key: base64.b64encode(fresh).decode("ascii")}})
        _write(session, table, target, changes)
        rows += len(changes)
    return rows, unreadable


def switch(app: Accueil, rotation_id: int, old: SiteCipher, new: SiteCipher, passphrase: str) -> tuple[int, int]:
    """The one transaction that puts the database under the new key, then the key file switch."""
    settings = app.settings
    with app.uow(write=True) as uow:
        session = uow.session
        rotation = session.execute(select(KeyRotation).where(KeyRotation.id == rotation_id).with_for_update()
                                   ).scalar_one()
        if rotation.state != "staging":
            raise SiteKeyError(_("This key rotation was abandoned or finished by someone else."), "wrong")
        if session.get_bind().dialect.name == "postgresql":
            tables = sorted({target.table for target in PROTECTED} | {"site"})
            session.execute(text(f"LOCK TABLE {', '.join(tables)} IN SHARE ROW EXCLUSIVE MODE"))
        check_old(session, old)
        rows = unreadable = 0
        for target in PROTECTED:
            done, bad = (_switch_json if target.json_key else _switch_binary)(session, rotation_id, target, old, new)
            rows, unreadable = rows + done, unreadable + bad
        new_check = bytes(rotation.new_check)
        session.execute(update(Site).values(key_salt=rotation.new_salt, key_check=new_check))
        session.execute(delete(KeyRotationBlob).where(KeyRotationBlob.rotation_id == rotation_id))
        rotation.state, rotation.finished_at, rotation.done_rows = "done", utcnow(), rotation.total_rows
        rotation.unreadable_rows = unreadable
        audit.record(session, actor=uow.actor, action="site.key_rotated",
                     detail={"rotation_id": rotation_id, "rows": rows, "unreadable": unreadable})
        key_rotated(session, settings, new, actor=uow.actor, rotation_id=rotation_id, now=utcnow())
        uow.commit()
    # The database is under the new key from this commit on: this process encrypts with it at once,
    # even should writing the key file fail (the pending file then takes over at the next start).
    app._cipher, app._key_check = new, new_check
    promote(settings, passphrase)
    return rows, unreadable


def promote(settings: Settings, passphrase: str) -> None:
    """``passphrase`` becomes the key file (atomic, and durable before anything else is removed), then
    every pending file holding that same key goes. Written from memory, not renamed: the pending file
    may be gone or belong to another rotation; a pending file of a rotation still staging is kept."""
    key_file = settings.resolved_key_file()
    write_key_file(key_file, passphrase)
    sync_folder(key_file)
    for pending in pending_files(settings):
        try:
            same = read_key_file(pending) == passphrase
        except SiteKeyError:
            continue
        if same:
            remove_pending(pending)


def recover_pending_key(settings: Settings, salt: bytes, key_check: bytes) -> SiteCipher | None:
    """After a crash between a rotation's commit and its key file write: the pending key now in force.

    Every pending file is tried against the database's salt and key check (the one named after the
    salt first); only the key that opens the database is promoted."""
    if settings.site_key:
        return None
    named = pending_file(settings, salt)
    for path in sorted(pending_files(settings), key=lambda p: p != named):
        try:
            passphrase = read_key_file(path)
            cipher = SiteCipher(passphrase, salt)
            cipher.verify_key_check(key_check)
        except SiteKeyError:
            continue
        promote(settings, passphrase)
        return cipher
    return None


__all__ = ["blob_of", "check_old", "pending_file", "pending_files", "promote", "remove_pending", "sync_folder", "recover_pending_key", "recrypt", "switch", "table_of"]
