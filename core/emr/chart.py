"""The built-in chart: what Accueil wrote into the EMR record (EM-1..EM-4), one ChartEntry per item.

Kinds: note, progress note, task (active or completed), document in a folder/subfolder, folder
entry, encounter note. Titles and notes are written in the clinic's language; bodies and
documents are stored encrypted with the site key. ``source_key`` is unique: an import retried
after a crash, or run by two workers, adds nothing the second time. ``list_chart`` gives the
patient view its lines (no bodies: opening the record is what the audit trail records).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.crypto import SiteCipher
from core.db.models import ChartEntry
from core.emr import N_

KIND_NAMES = {"note": N_("Note"), "progress_note": N_("Progress note"), "task": N_("Task"),
              "document": N_("Document"), "folder_entry": N_("Folder entry"),
              "encounter_note": N_("Encounter note")}
STATE_NAMES = {"active": N_("active"), "completed": N_("completed")}
OSCAR_DOCUMENTS = N_("Documents")


@dataclass(frozen=True)
class PlannedEntry:
    """One chart entry an import will make; ``part`` tells the entries of one item apart."""

    part: str
    kind: str
    title: str
    body: str | None = None
    state: str | None = None
    folder: str | None = None
    subfolder: str | None = None
    document_name: str | None = None
    document: bytes | None = None


@dataclass(frozen=True)
class ChartLine:
    id: int
    created_at: datetime
    kind: str
    state: str | None
    title: str
    folder: str | None
    subfolder: str | None
    document_name: str | None


def source_key(item_kind: str, source_id: int, part: str) -> str:
    return f"{item_kind}:{source_id}:{part}"


def add_entries(session: Session, cipher: SiteCipher, *, patient_id: int, item_kind: str, source_id: int,
                entries: list[PlannedEntry], now: datetime) -> list[int]:
    """Write the entries not written yet (by ``source_key``); returns the ids of the new ones."""
    keys = {source_key(item_kind, source_id, entry.part): entry for entry in entries}
    existing = set(session.scalars(select(ChartEntry.source_key).where(ChartEntry.source_key.in_(keys))))
    added = []
    for key, entry in keys.items():
        if key in existing:
            continue
        row = ChartEntry(
            patient_id=patient_id, kind=entry.kind, state=entry.state, title=entry.title[:300],
            body_ciphertext=cipher.encrypt_text(entry.body, context="chart_entry") if entry.body else None,
            folder=entry.folder, subfolder=entry.subfolder, document_name=entry.document_name,
            document_ciphertext=(cipher.encrypt(entry.document, context="chart_document")
                                 if entry.document is not None else None),
            source_key=key, created_at=now)
        session.add(row)
        session.flush()
        added.append(row.id)
    return added


def list_chart(session: Session, patient_id: int, *, limit: int = 50) -> list[ChartLine]:
    """The patient's chart entries, newest first, without their bodies."""
    rows = session.execute(
        select(ChartEntry.id, ChartEntry.created_at, ChartEntry.kind, ChartEntry.state, ChartEntry.title,
               ChartEntry.folder, ChartEntry.subfolder, ChartEntry.document_name)
        .where(ChartEntry.patient_id == patient_id)
        .order_by(ChartEntry.created_at.desc(), ChartEntry.id.desc()).limit(limit)
    ).all()
    return [ChartLine(*row) for row in rows]
