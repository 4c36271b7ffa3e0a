"""The import-folder destination as a watcher sees it: a real folder, real files, a real watcher
thread reading whatever is visible while items are written (and rewritten, as after a crash)."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from core.emr.chart import PlannedEntry
from core.emr.convert import PreparedFile
from core.emr.dropfolder import FILE_MODE, export_item
from core.emr.sources import Source

RECEIVED = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def source(number: int) -> Source:
    return Source(kind="attachment", source_id=number, patient_id=7, chart_id="200301",
                  health_number="BELA 8506 1234", message_id=40 + number, portal_reference="R7K2Q",
                  created_at=RECEIVED, file_name=f"scan-{number}.pdf", extension="pdf")


def entries() -> tuple[PlannedEntry, ...]:
    return (PlannedEntry("document", "document", "File from the patient", "Message R7K2Q", folder="Patient"),
            PlannedEntry("task", "task", "Review the file sent by the patient", "Message R7K2Q", state="active"))


def test_a_watcher_never_sees_half_a_file_nor_a_sidecar_before_its_file(tmp_path: Path) -> None:
    versions = {number: [os.urandom(512 * 1024) for _ in range(3)] for number in range(4)}
    done = threading.Event()
    problems: list[str] = []
    looks = 0

    def watch() -> None:
        nonlocal looks
        while not done.is_set():
            for path in sorted(tmp_path.iterdir()):
                if path.name.startswith("."):  # the writer's temporary files are hidden
                    continue
                looks += 1
                try:
                    data = path.read_bytes()
                except FileNotFoundError:
                    continue
                if path.suffix == ".pdf":
                    number = int(path.stem.rsplit("-", 1)[1])
                    if data not in versions[number]:
                        problems.append(f"{path.name}: {len(data)} bytes, not a whole version")
                elif path.suffix == ".json":
                    document = tmp_path / json.loads(data)["file"]
                    if not document.exists() or document.read_bytes() not in versions[int(document.stem[-1])]:
                        problems.append(f"{path.name} visible before its whole document")

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for round_ in range(3):  # the second and third rounds are retries after a crash: same names
            for number, contents in versions.items():
                prepared = PreparedFile(f"scan-{number}.pdf", "pdf", contents[round_])
                export_item(tmp_path, source(number), entries(), prepared, profile="accuro")
    finally:
        done.set()
        watcher.join()
    assert looks > 0 and problems == []
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == sorted(f"accueil-attachment-{n}.{ext}" for n in range(4) for ext in ("pdf", "json"))
    for number, contents in versions.items():
        assert (tmp_path / f"accueil-attachment-{number}.pdf").read_bytes() == contents[-1]
    assert all(path.stat().st_mode & 0o777 == FILE_MODE for path in tmp_path.iterdir())


def test_the_sidecar_names_the_patient_the_date_the_kind_and_the_source_message(tmp_path: Path) -> None:
    written = export_item(tmp_path, source(3), entries(), PreparedFile("scan-3.pdf", "pdf", b"%PDF-1.4\n"),
                          profile="accuro")
    sidecar = json.loads(written.sidecar.read_text(encoding="utf-8"))
    assert sidecar["file"] == written.document.name == "accueil-attachment-3.pdf"
    assert (sidecar["chart_id"], sidecar["health_number"]) == ("200301", "BELA 8506 1234")
    assert datetime.fromisoformat(sidecar["date"]) == RECEIVED
    assert sidecar["kind"] == "document"
    assert sidecar["source"] == {"type": "attachment", "id": 3, "message_id": 43, "portal_reference": "R7K2Q"}
    assert sidecar["original_name"] == "scan-3.pdf"
    assert [(e["kind"], e["state"]) for e in sidecar["entries"]] == [("document", None), ("task", "active")]
