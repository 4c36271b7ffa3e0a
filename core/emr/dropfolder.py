"""The import-folder destination (for EMRs that watch a folder): each item as its file plus a JSON
sidecar, both written atomically.

Each file is first written to a hidden temporary file in the same folder, flushed to disk, then
renamed over its final name with ``os.replace`` (atomic on one file system), and the folder is
flushed so the rename itself survives a power cut: a watcher sees a
whole file or none. The document goes first and the sidecar last, so a watcher keyed on
``.json`` files finds the document already complete. Names are fixed per source
(``accueil-reply-12.pdf``), so an import retried after a crash replaces the same two files.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.emr.chart import PlannedEntry
from core.emr.convert import PreparedFile
from core.emr.sources import Source
from core.emr.textpdf import text_to_pdf

FILE_MODE = 0o640


@dataclass(frozen=True)
class Written:
    document: Path
    sidecar: Path


def write_atomically(folder: Path, name: str, data: bytes) -> Path:
    target = folder / name
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_folder(folder)
    return target


def _sync_folder(folder: Path) -> None:
    """Flush the folder's entry for the renamed file: after a power cut the name is there too."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def export_item(folder: Path, source: Source, entries: tuple[PlannedEntry, ...], prepared: PreparedFile | None,
                *, profile: str) -> Written:
    """Write the item's file (the document, or the main note's text) and then its sidecar."""
    if not folder.is_dir():
        raise FileNotFoundError(2, "import folder missing", str(folder))
    stem = f"accueil-{source.kind}-{source.source_id}"
    if prepared is not None:
        data, extension = prepared.data, prepared.extension
    else:
        text = entries[0].body or ""
        if profile == "accuro":  # Accuro takes pdf, jpg and jpeg only
            data, extension = text_to_pdf(text, title=entries[0].title), "pdf"
        else:
            data, extension = text.encode("utf-8"), "txt"
    document = write_atomically(folder, f"{stem}.{extension}", data)
    sidecar: dict[str, Any] = {
        "file": document.name,
        "chart_id": source.chart_id,
        "health_number": source.health_number,
        "date": source.created_at.isoformat(),
        "kind": entries[0].kind,
        "source": {"type": source.kind, "id": source.source_id, "message_id": source.message_id,
                   "portal_reference": source.portal_reference},
        "original_name": source.file_name,
        "entries": [{"kind": e.kind, "state": e.state, "title": e.title, "folder": e.folder,
                     "subfolder": e.subfolder, "text": e.body if e.document is None else None} for e in entries],
    }
    body = json.dumps(sidecar, ensure_ascii=False, indent=2).encode("utf-8")
    return Written(document, write_atomically(folder, f"{stem}.json", body))
