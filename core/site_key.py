"""Rotating the site encryption key (SI-5, SR-2): every encrypted column re-encrypted, safely.

``core.encrypted_columns.PROTECTED`` is the one list of what the site key protects: (table,
column, context) of every encrypted column. A test scans the models and the sources so a new
encrypted column cannot be left out of it.

Design: the old key stays the one in force until a single final switch.

1. ``start``: the new passphrase (policy checked, or generated) is written to a *pending* key file
   next to the key file (``site.key.pending``, mode 0600, atomic), then a ``key_rotations`` row
   records the new salt and key check. The old key file, salt and check are untouched.
2. ``stage``: in batches, each registered blob is decrypted with the old key and encrypted with the
   new one into ``key_rotation_blobs`` (with the nonce of the blob it replaces); each batch and the
   rotation's cursor commit together. Nothing the app reads changes, so a crash, Esc or a power cut
   at any point leaves every blob readable with the old key, and ``resume`` goes on from the cursor.
3. ``switch``: one transaction (the tables written by the app are locked on PostgreSQL, SQLite's
   write lock is already exclusive) copies each staged blob over its row when that row still holds
   the blob it was made from (same nonce), re-encrypts rows added or changed since they were
   staged, stores the new salt and check, records the audit entry and queues the administrators'
   email. Either all of it commits or none of it: the database is under one key at every moment.
4. The pending file replaces the key file (``os.replace``). Should the process die between the
   commit and this rename, :func:`recover_pending_key` (called by ``bootstrap.open_cipher`` when
   the key file no longer matches) finds the pending key matching the database and finishes it.

A blob the old key cannot read (damaged before the rotation) is counted as unreadable and left as it
is. Other running Accueil processes (worker, portal, other staff's sessions) follow the switch:
``Accueil.cipher`` looks at the key check every few seconds and opens the new key file when it has
changed, and the worker looks at once before failing an email it cannot decrypt. Something another
process encrypts in those few seconds after the switch would stay under the old key, so the
administrators are told to restart the worker and the portal. Backups made before a rotation still
need the old key.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from threading import Event
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, exists, func, insert, select, text, update
from sqlalchemy.orm import Session

from core import audit
from core.bootstrap import Accueil
from core.crypto import (
    NONCE_BYTES,
    DecryptionError,
    SiteCipher,
    SiteKeyError,
    check_key_policy,
    generate_passphrase,
    read_key_file,
    write_key_file,
)
from core.db.models import Base, KeyRotation, KeyRotationBlob, Site, utcnow
from core.encrypted_columns import NOT_ENCRYPTED, NOT_STORED, PROTECTED, Protected
from core.i18n import _
from core.settings import Settings
from core.site_key_notices import key_rotated, require_administrator

Progress = Callable[[int, int], None]
BATCH = 200
BATCH_BYTES = 32 * 1024 * 1024  # a batch of files (up to 10 MB each) holds them twice in memory


def N_(text: str) -> str:  # noqa: N802 - marks a text for the catalogue
    return text


RULES = {"a digit": N_("a digit"), "an upper-case letter": N_("an upper-case letter"),
         "a lower-case letter": N_("a lower-case letter"), "a punctuation mark": N_("a punctuation mark")}
POLICY = N_("At least 16 characters, with a digit, an upper-case letter, a lower-case letter and a punctuation mark.")


@dataclass(frozen=True)
class RotationResult:
    rotation_id: int
    rows: int
    unreadable: int
    finished: bool  # False: cancelled between batches, resumable
    total: int = 0


def unmet_rules(passphrase: str) -> list[str]:
    """The policy's unmet rules, in the user's language."""
    return [_("at least {count} characters").format(count=16) if rule.startswith("at least") else _(RULES[rule])
            for rule in check_key_policy(passphrase)]


def pending_file(settings: Settings) -> Path:
    path = settings.resolved_key_file()
    return path.with_name(path.name + ".pending")


def _table(target: Protected) -> Table:
    return Base.metadata.tables[target.table]


def _next_ids(session: Session, target: Protected, where: list[Any], batch: int) -> list[int]:
    """The next primary keys to stage: ``batch`` rows at most, and about BATCH_BYTES of blobs (one at least)."""
    table = _table(target)
    pk, column = table.c[target.pk], table.c[target.column]
    if target.json_key is not None:
        return list(session.scalars(select(pk).where(*where).order_by(pk).limit(batch)))
    ids: list[int] = []
    size = 0
    for row_id, length in session.execute(select(pk, func.length(column)).where(*where).order_by(pk).limit(batch)):
        size += length or 0
        if ids and size > BATCH_BYTES:
            break
        ids.append(row_id)
    return ids


def unfinished(session: Session) -> KeyRotation | None:
    return session.scalars(select(KeyRotation).where(KeyRotation.state == "staging")
                           .order_by(KeyRotation.id.desc())).first()


# -- start ---------------------------------------------------------------------------------------
def _check_source(settings: Settings) -> None:
    if settings.site_key:
        raise SiteKeyError(_("The site key comes from ACCUEIL_SITE_KEY: Accueil can only rotate a key kept in "
                             "the key file. Put the key in {path}, unset ACCUEIL_SITE_KEY, then try again.")
                           .format(path=settings.resolved_key_file()), "unreadable")


def start(app: Accueil, passphrase: str | None) -> tuple[int, str]:
    """Begin a rotation (abandoning an unfinished one); returns (rotation id, the new passphrase)."""
    _check_source(app.settings)
    generated = passphrase is None
    passphrase = generate_passphrase() if passphrase is None else passphrase
    if unmet := unmet_rules(passphrase):
        raise SiteKeyError(_("The new site encryption key is too weak: it needs {rules}.")
                           .format(rules=", ".join(unmet)), "weak")
    if passphrase == read_key_file(app.settings.resolved_key_file()):
        raise SiteKeyError(_("The new site encryption key is the one in use: choose another."), "weak")
    with app.uow() as uow:
        require_administrator(uow.session, uow.actor)
    salt = SiteCipher.new_salt()
    new = SiteCipher(passphrase, salt)
    write_key_file(pending_file(app.settings), passphrase)  # before the row: a resume always finds it
    with app.uow(write=True) as uow:
        session = uow.session
        for old in session.scalars(select(KeyRotation).where(KeyRotation.state == "staging").with_for_update()):
            _abandon(session, old, uow.actor)
        rotation = KeyRotation(state="staging", new_salt=salt, new_check=new.make_key_check(), started_by=uow.actor,
                               total_rows=_count(session), done_rows=0, unreadable_rows=0, cursors={})
        session.add(rotation)
        session.flush()
        audit.record(session, actor=uow.actor, action="site.key_rotation_started",
                     detail={"rotation_id": rotation.id, "generated": generated})
        uow.commit()
        return rotation.id, passphrase


def _abandon(session: Session, rotation: KeyRotation, actor: str) -> None:
    session.execute(delete(KeyRotationBlob).where(KeyRotationBlob.rotation_id == rotation.id))
    rotation.state, rotation.finished_at = "abandoned", utcnow()
    audit.record(session, actor=actor, action="site.key_rotation_abandoned", detail={"rotation_id": rotation.id})


def _count(session: Session) -> int:
    total = 0
    for target in PROTECTED:
        table = _table(target)
        column = table.c[target.column]
        where = [] if target.json_key else [column.is_not(None)]
        total += session.scalar(select(func.count()).select_from(table).where(*where)) or 0
    return total


# -- stage ---------------------------------------------------------------------------------------
def _blob_of(target: Protected, value: Any) -> bytes | None:
    if target.json_key is None:
        return bytes(value) if value is not None else None
    raw = value.get(target.json_key) if isinstance(value, dict) else None
    try:
        return base64.b64decode(raw, validate=True) if isinstance(raw, str) else None
    except binascii.Error:
        return None  # not a blob of ours: left as it is (the worker reports it)


def _recrypt(target: Protected, blob: bytes, old: SiteCipher, new: SiteCipher) -> bytes | None:
    try:
        return new.encrypt(old.decrypt(blob, context=target.context), context=target.context)
    except DecryptionError:
        return None


def open_new(settings: Settings, rotation: KeyRotation) -> tuple[SiteCipher, str]:
    """The cipher of the rotation's new key and the key, from the pending key file."""
    path = pending_file(settings)
    try:
        passphrase = read_key_file(path)
        cipher = SiteCipher(passphrase, rotation.new_salt)
        cipher.verify_key_check(rotation.new_check)
    except SiteKeyError:
        raise SiteKeyError(_("The new key of the interrupted rotation ({path}) is missing or altered: start the "
                             "rotation again.").format(path=path), "missing") from None
    return cipher, passphrase


def _check_old(session: Session, old: SiteCipher) -> None:
    """The key being replaced must be the one in force (not one another rotation has just replaced)."""
    old.verify_key_check(bytes(session.execute(select(Site.key_check)).scalar_one()))


def resume(app: Accueil, *, progress: Progress | None = None, cancel: Event | None = None,
           batch: int = BATCH) -> RotationResult:
    """Stage what is left in whole batches (stopping between two when ``cancel`` is set), then switch."""
    _check_source(app.settings)
    with app.uow() as uow:
        require_administrator(uow.session, uow.actor)
        rotation = unfinished(uow.session)
        if rotation is None:
            raise SiteKeyError(_("No key rotation is waiting to be finished."), "missing")
        app.refresh_cipher()
        (new, passphrase), old = open_new(app.settings, rotation), app.cipher
        _check_old(uow.session, old)
        rotation_id = rotation.id
        done, total, unreadable = rotation.done_rows, rotation.total_rows, rotation.unreadable_rows
    for target in PROTECTED:
        while True:
            if progress is not None:
                progress(min(done, total), total)
            if cancel is not None and cancel.is_set():
                return RotationResult(rotation_id, done, unreadable, finished=False, total=total)
            staged = _stage_batch(app, rotation_id, target, old, new, batch)
            if staged is None:
                break
            done, total, unreadable = staged
    rows, unreadable = switch(app, rotation_id, old, new, passphrase)
    if progress is not None:
        progress(total, total)
    return RotationResult(rotation_id, rows, unreadable, finished=True, total=total)


def _stage_batch(app: Accueil, rotation_id: int, target: Protected, old: SiteCipher, new: SiteCipher,
                 batch: int) -> tuple[int, int, int] | None:
    """One whole batch of ``target`` staged and committed with the cursor; None when the column is done."""
    table = _table(target)
    pk, column = table.c[target.pk], table.c[target.column]
    with app.uow(write=True) as uow:
        session = uow.session
        rotation = session.execute(select(KeyRotation).where(KeyRotation.id == rotation_id).with_for_update()
                                   ).scalar_one()
        if rotation.state != "staging":
            raise SiteKeyError(_("This key rotation was abandoned or finished by someone else."), "wrong")
        cursor = int(rotation.cursors.get(target.target, 0))
        where = [pk > cursor] + ([] if target.json_key else [column.is_not(None)])
        ids = _next_ids(session, target, where, batch)
        rows = session.execute(select(pk, column).where(pk.in_(ids)).order_by(pk)).all() if ids else []
        if not rows:
            return None
        staged, unreadable = [], 0
        for row_id, value in rows:
            blob = _blob_of(target, value)
            if blob is None:
                continue
            fresh = _recrypt(target, blob, old, new)
            if fresh is None:
                unreadable += 1
            else:
                staged.append({"rotation_id": rotation_id, "target": target.target, "row_id": row_id,
                               "old_nonce": blob[1:1 + NONCE_BYTES], "blob": fresh})
        if staged:
            session.execute(insert(KeyRotationBlob), staged)
        rotation.cursors = {**rotation.cursors, target.target: rows[-1][0]}
        rotation.done_rows += len(rows)
        rotation.unreadable_rows += unreadable
        rotation.total_rows = max(rotation.total_rows, rotation.done_rows)
        result = rotation.done_rows, rotation.total_rows, rotation.unreadable_rows
        uow.commit()
        return result


# -- switch --------------------------------------------------------------------------------------
def _nonce(expression: Any) -> Any:
    return func.substr(expression, 2, NONCE_BYTES)


def _chunks(items: list[int], size: int = BATCH) -> Iterable[list[int]]:
    for start_at in range(0, len(items), size):
        yield items[start_at:start_at + size]


def _switch_binary(session: Session, rotation_id: int, target: Protected, old: SiteCipher,
                   new: SiteCipher) -> tuple[int, int]:
    table = _table(target)
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
            fresh = _recrypt(target, bytes(blob), old, new)
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
    table = _table(target)
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
            blob = _blob_of(target, payload)
            if blob is None:
                continue
            ready = staged.get(row_id)
            fresh = ready[1] if ready and ready[0] == blob[1:1 + NONCE_BYTES] else _recrypt(target, blob, old, new)
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
        _check_old(session, old)
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
    promote(settings, passphrase)
    app._cipher, app._key_check = new, new_check
    return rows, unreadable


def promote(settings: Settings, passphrase: str) -> None:
    """``passphrase`` becomes the key file (atomic), then the pending file goes if it holds the same key
    (written from memory, not renamed: a newer rotation may have rewritten the pending file)."""
    write_key_file(settings.resolved_key_file(), passphrase)
    pending = pending_file(settings)
    try:
        if read_key_file(pending) == passphrase:
            pending.unlink()
    except SiteKeyError:
        pass


def rotate(app: Accueil, passphrase: str | None, *, progress: Progress | None = None, cancel: Event | None = None,
           batch: int = BATCH) -> tuple[RotationResult, str]:
    """Start a rotation to ``passphrase`` (None: a generated one) and run it; returns (result, passphrase)."""
    _rotation_id, passphrase = start(app, passphrase)
    return resume(app, progress=progress, cancel=cancel, batch=batch), passphrase


def recover_pending_key(settings: Settings, salt: bytes, key_check: bytes) -> SiteCipher | None:
    """After a crash between a rotation's commit and its key file rename: the pending key, now in force."""
    path = pending_file(settings)
    if settings.site_key or not path.exists():
        return None
    try:
        passphrase = read_key_file(path)
        cipher = SiteCipher(passphrase, salt)
        cipher.verify_key_check(key_check)
    except SiteKeyError:
        return None
    promote(settings, passphrase)
    return cipher


__all__ = ["NOT_ENCRYPTED", "NOT_STORED", "POLICY", "PROTECTED", "Protected", "RotationResult", "pending_file",
           "recover_pending_key", "resume", "rotate", "start", "switch", "unfinished", "unmet_rules"]
