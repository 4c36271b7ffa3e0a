"""Rotating the site encryption key (SI-5, SR-2): every encrypted column re-encrypted, safely.

``core.encrypted_columns.PROTECTED`` is the one list of what the site key protects: (table,
column, context) of every encrypted column. A test scans the models and the sources so a new
encrypted column cannot be left out of it.

Design: the old key stays the one in force until a single final switch.

1. ``start``: the new passphrase (policy checked, or generated) is written to a *pending* key file
   next to the key file (``site.key.pending-<salt>``: one per rotation, so a second ``start`` never
   overwrites the key of a rotation that is switching; mode 0600, atomic, synced), then a ``key_rotations`` row
   records the new salt and key check. The old key file, salt and check are untouched.
2. ``stage``: in batches, each registered blob is decrypted with the old key and encrypted with the
   new one into ``key_rotation_blobs`` (with the nonce of the blob it replaces); each batch and the
   rotation's cursor commit together. Nothing the app reads changes, so a crash, Esc or a power cut
   at any point leaves every blob readable with the old key, and ``resume`` goes on from the cursor.
3. ``switch`` (``core.site_key_switch``): one transaction (the tables written by the app are locked
   on PostgreSQL, SQLite's write lock is already exclusive) checks that the key being replaced is
   still the one in force, copies each staged blob over its row when that row still holds the blob
   it was made from (same nonce), re-encrypts rows added or changed since they were staged, stores
   the new salt and check, records the audit entry and queues the administrators' email. Either all
   of it commits or none of it: the database is under one key at every moment.
4. The new key is written to the key file (atomically, from memory) and the pending file removed.
   Should the process die between the commit and this write, :func:`recover_pending_key` (called by
   ``bootstrap.open_cipher`` when the key file no longer matches) finds the pending key matching the
   database and finishes it.

A blob the old key cannot read (damaged before the rotation) is counted as unreadable and left as it
is. Other running Accueil processes (worker, portal, other staff's sessions) follow the switch:
``Accueil.cipher`` looks at the key check every few seconds and opens the new key file when it has
changed, and the worker looks at once before failing an email it cannot decrypt. Something another
process encrypts with the old key and commits after the switch is refused (``core.uow``: the commit
checks the site's salt and raises ``SiteKeyChanged``, nothing saved; that process then opens the new
key and the user, or the worker, tries again); on PostgreSQL a commit racing the switch either
finishes first (the switch re-encrypts its rows) or is refused. Staging's blobs and the new key check
are declared with ``UnitOfWork.stage_key``. Backups made before a rotation still need the old key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from threading import Event
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from core import audit
from core.bootstrap import Accueil
from core.crypto import (
    NONCE_BYTES,
    SiteCipher,
    SiteKeyError,
    check_key_policy,
    generate_passphrase,
    read_key_file,
    write_key_file,
)
from core.db.models import KeyRotation, KeyRotationBlob, utcnow
from core.encrypted_columns import NOT_ENCRYPTED, NOT_STORED, PROTECTED, Protected
from core.i18n import _
from core.settings import Settings
from core.site_key_notices import require_administrator
from core.site_key_switch import (
    blob_of,
    check_old,
    pending_file,
    pending_files,
    promote,
    recover_pending_key,
    recrypt,
    remove_pending,
    switch,
    sync_folder,
    table_of,
)  # fmt: skip

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


def _next_ids(session: Session, target: Protected, where: list[Any], batch: int) -> list[int]:
    """The next primary keys to stage: ``batch`` rows at most, and about BATCH_BYTES of blobs (one at least)."""
    table = table_of(target)
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
    pending = pending_file(app.settings, salt)  # this rotation's own file: another one's is never overwritten
    write_key_file(pending, passphrase)  # durable before the row: a resume always finds it
    sync_folder(pending)
    try:
        with app.uow(write=True) as uow:
            session = uow.session
            uow.stage_key(salt)  # the new key check, under a key not yet in force
            staging = list(session.scalars(select(KeyRotation).where(KeyRotation.state == "staging")
                                           .with_for_update()))
            abandoned = [bytes(old.new_salt) for old in staging]
            for old in staging:
                _abandon(session, old, uow.actor)
            rotation = KeyRotation(state="staging", new_salt=salt, new_check=new.make_key_check(),
                                   started_by=uow.actor, total_rows=_count(session), done_rows=0, unreadable_rows=0,
                                   cursors={})
            session.add(rotation)
            session.flush()
            audit.record(session, actor=uow.actor, action="site.key_rotation_started",
                         detail={"rotation_id": rotation.id, "generated": generated})
            uow.commit()
            rotation_id = rotation.id
    except BaseException:
        remove_pending(pending)  # no row names this key: it can never be in force
        raise
    for old_salt in abandoned:  # committed as abandoned: their keys can never come into force
        remove_pending(pending_file(app.settings, old_salt))
    in_force = read_key_file(app.settings.resolved_key_file())
    for path in pending_files(app.settings):  # left by a process that died just after promoting its key
        with contextlib.suppress(SiteKeyError):
            if read_key_file(path) == in_force:
                remove_pending(path)
    return rotation_id, passphrase


def _abandon(session: Session, rotation: KeyRotation, actor: str) -> None:
    session.execute(delete(KeyRotationBlob).where(KeyRotationBlob.rotation_id == rotation.id))
    rotation.state, rotation.finished_at = "abandoned", utcnow()
    audit.record(session, actor=actor, action="site.key_rotation_abandoned", detail={"rotation_id": rotation.id})


def _count(session: Session) -> int:
    total = 0
    for target in PROTECTED:
        table = table_of(target)
        column = table.c[target.column]
        where = [] if target.json_key else [column.is_not(None)]
        total += session.scalar(select(func.count()).select_from(table).where(*where)) or 0
    return total


# -- stage ---------------------------------------------------------------------------------------
def open_new(settings: Settings, rotation: KeyRotation) -> tuple[SiteCipher, str]:
    """The cipher of the rotation's new key and the key, from the pending key file."""
    path = pending_file(settings, rotation.new_salt)
    if not path.exists() and (legacy := settings.resolved_key_file().with_name(
            settings.resolved_key_file().name + ".pending")).exists():
        path = legacy  # a rotation started before pending files were named after their salt
    try:
        passphrase = read_key_file(path)
        cipher = SiteCipher(passphrase, rotation.new_salt)
        cipher.verify_key_check(rotation.new_check)
    except SiteKeyError:
        raise SiteKeyError(_("The new key of the interrupted rotation ({path}) is missing or altered: start the "
                             "rotation again.").format(path=path), "missing") from None
    return cipher, passphrase


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
        check_old(uow.session, old)
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
    table = table_of(target)
    pk, column = table.c[target.pk], table.c[target.column]
    with app.uow(write=True) as uow:
        session = uow.session
        uow.stage_key(new.salt)  # into the side table, read only by the switch
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
            blob = blob_of(target, value)
            if blob is None:
                continue
            fresh = recrypt(target, blob, old, new)
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


def rotate(app: Accueil, passphrase: str | None, *, progress: Progress | None = None, cancel: Event | None = None,
           batch: int = BATCH) -> tuple[RotationResult, str]:
    """Start a rotation to ``passphrase`` (None: a generated one) and run it; returns (result, passphrase)."""
    _rotation_id, passphrase = start(app, passphrase)
    return resume(app, progress=progress, cancel=cancel, batch=batch), passphrase


__all__ = ["NOT_ENCRYPTED", "NOT_STORED", "POLICY", "PROTECTED", "Protected", "RotationResult", "pending_file",
           "pending_files", "promote", "recover_pending_key", "resume", "rotate", "start", "switch", "unfinished", "unmet_rules"]
