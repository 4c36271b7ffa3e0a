"""Reading what the import put in the built-in chart (EM): a note's text, a document saved to a file.

Portal copies of replies and patient files are purged after the retention period; from then on
the chart entry (encrypted with the site key) is the clinic's copy. ``open_entry`` decrypts one
entry for the patient view and writes a ``chart.view`` audit entry; ``export_document`` writes a
document to a path the user chose (mode 0600, never over an existing file unless asked) and
writes a ``chart.export`` audit entry. The file is removed again if the audit entry cannot be
committed: no patient data leaves the database unrecorded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from core import audit
from core.crypto import SiteCipher
from core.db.models import ChartEntry
from core.errors import AccueilError, NotFound
from core.i18n import _
from core.uow import UnitOfWork

FILE_MODE = 0o600


class FileAlreadyThere(AccueilError):
    title = "File already there"


@dataclass(frozen=True)
class ChartContent:
    id: int
    kind: str
    title: str
    body: str | None
    document_name: str | None
    has_document: bool


def _entry(uow: UnitOfWork, entry_id: int) -> ChartEntry:
    row = uow.session.scalar(select(ChartEntry).where(ChartEntry.id == entry_id))
    if row is None:
        raise NotFound(_("This chart entry no longer exists."))
    return row


def open_entry(uow: UnitOfWork, cipher: SiteCipher, entry_id: int) -> ChartContent:
    """One entry's text (decrypted), recorded in the audit trail as a view of the patient's chart."""
    row = _entry(uow, entry_id)
    body = cipher.decrypt_text(row.body_ciphertext, context="chart_entry") if row.body_ciphertext else None
    content = ChartContent(row.id, row.kind, row.title, body, row.document_name, row.document_ciphertext is not None)
    audit.record(uow.session, actor=uow.actor, action="chart.view", patient_id=row.patient_id,
                 detail={"entry_id": row.id})
    uow.commit()
    return content


def export_document(uow: UnitOfWork, cipher: SiteCipher, entry_id: int, path: Path, *,
                    overwrite: bool = False) -> Path:
    """Write the entry's document to ``path``; ``FileAlreadyThere`` unless ``overwrite``."""
    row = _entry(uow, entry_id)
    if row.document_ciphertext is None:
        raise NotFound(_("This chart entry has no document."))
    data = cipher.decrypt(row.document_ciphertext, context="chart_document")
    path = path.expanduser()
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        descriptor = os.open(path, flags, FILE_MODE)
    except FileExistsError as exc:
        raise FileAlreadyThere(_("{path} already exists.").format(path=path)) from exc
    except OSError as exc:
        raise AccueilError(_("{path} cannot be written: {reason}").format(path=path, reason=exc.strerror)) from exc
    try:
        with os.fdopen(descriptor, "wb") as out:
            os.fchmod(out.fileno(), FILE_MODE)  # an overwritten file keeps no wider mode
            out.write(data)
        audit.record(uow.session, actor=uow.actor, action="chart.export", patient_id=row.patient_id,
                     detail={"entry_id": row.id, "bytes": len(data)})
        uow.commit()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
