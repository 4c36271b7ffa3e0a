"""The audit trail (SR-1): append-only, hash-chained, no patient data in the entries.

Each entry's hash covers the previous hash and the entry's own fields, so editing, removing
or reordering any entry breaks the chain from that point; ``verify`` names the first broken
entry. Appends are serialised through the single ``audit_head`` row (locked FOR UPDATE on
PostgreSQL; SQLite's write transactions are already serial).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from core.db.bulk import insert_rows
from core.db.models import AuditEntry, AuditHead, utcnow

GENESIS = "0" * 64


def _digest(prev_hash: str, entry_id: int, at: datetime, actor: str, action: str,
            patient_id: int | None, detail: dict[str, Any] | None) -> str:
    body = json.dumps(
        [entry_id, at.isoformat(timespec="microseconds"), actor, action, patient_id, detail],
        sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str,
    )
    return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()


def record(session: Session, *, actor: str, action: str, patient_id: int | None = None,
           detail: dict[str, Any] | None = None) -> None:
    """Append one entry in the caller's transaction (it commits or rolls back with the change)."""
    record_many(session, actor=actor, action=action, entries=[(patient_id, detail)])


def record_many(session: Session, *, actor: str, action: str,
                entries: Iterable[tuple[int | None, dict[str, Any] | None]]) -> int:
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, last_id=0, last_hash=GENESIS)
        session.add(head)
    at = utcnow()
    rows = []
    last_id, last_hash = head.last_id, head.last_hash
    for patient_id, detail in entries:
        last_id += 1
        entry_hash = _digest(last_hash, last_id, at, actor, action, patient_id, detail)
        rows.append({"id": last_id, "at": at, "actor": actor, "action": action, "patient_id": patient_id,
                     "detail": detail, "prev_hash": last_hash, "entry_hash": entry_hash})
        last_hash = entry_hash
    if rows:
        insert_rows(session, cast(Table, AuditEntry.__table__), rows)
        head.last_id, head.last_hash = last_id, last_hash
        session.flush()
    return len(rows)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    first_broken_id: int | None = None
    reason: str | None = None


def verify(session: Session, *, batch: int = 5000) -> ChainReport:
    prev_hash, expected_id, count = GENESIS, 1, 0
    table = AuditEntry.__table__
    last_seen = 0
    while True:
        rows = session.execute(
            select(table.c.id, table.c.at, table.c.actor, table.c.action, table.c.patient_id, table.c.detail,
                   table.c.prev_hash, table.c.entry_hash)
            .where(table.c.id > last_seen).order_by(table.c.id).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            if row.id != expected_id:
                return ChainReport(False, count, expected_id, f"entry {expected_id} is missing")
            if row.prev_hash != prev_hash:
                return ChainReport(False, count, row.id, "does not follow the entry before it")
            if _digest(prev_hash, row.id, row.at, row.actor, row.action, row.patient_id, row.detail) != row.entry_hash:
                return ChainReport(False, count, row.id, "its content was changed after it was written")
            prev_hash, expected_id, count, last_seen = row.entry_hash, row.id + 1, count + 1, row.id
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_id != count or head.last_hash != prev_hash):
        return ChainReport(False, count, count + 1 if head.last_id > count else head.last_id,
                           "the end of the trail was removed")
    return ChainReport(True, count)
