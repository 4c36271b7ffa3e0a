"""Replies, completed forms and patient files into the EMR record (EM-1..EM-5), on both backends:
the sweep that takes them from the portal's rows, the import per profile, waiting and failed
items, idempotent retries, the import folder, retention."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import func, select, update

from core.bootstrap import Accueil
from core.db.models import Attachment, AuditEntry, ChartEntry, ImportItem, Reply, utcnow
from core.emr.chart import list_chart
from core.emr.convert import DAMAGED_PDF, ENCRYPTED_PDF, TOO_LARGE
from core.emr.importer import import_due, import_item
from core.emr.jobs import run_emr_import
from core.emr.plan import NO_FOLDER
from core.emr.queue import counts, list_items, retry_failed, retry_item, sweep
from core.emr.settings import EmrSettings, read_settings, save_settings
from core.errors import InvalidInput
from tests import emr_files


def configure(app: Accueil, **changes: object) -> EmrSettings:
    with app.uow() as uow:
        current = read_settings(uow.session)
    with app.uow(write=True) as uow:
        return save_settings(uow, replace(current, **changes))


def run(app: Accueil) -> int:
    return run_emr_import(app, utcnow())


def chart(app: Accueil, patient_id: int) -> list[ChartEntry]:
    with app.uow() as uow:
        rows = list(uow.session.scalars(select(ChartEntry).where(ChartEntry.patient_id == patient_id)
                                        .order_by(ChartEntry.id)))
        uow.session.expunge_all()
        return rows


def body(app: Accueil, entry: ChartEntry) -> str:
    assert entry.body_ciphertext is not None
    return app.cipher.decrypt_text(entry.body_ciphertext, context="chart_entry")


def document(app: Accueil, entry: ChartEntry) -> bytes:
    assert entry.document_ciphertext is not None
    return app.cipher.decrypt(entry.document_ciphertext, context="chart_document")


def items(app: Accueil) -> list[ImportItem]:
    with app.uow() as uow:
        rows = list(uow.session.scalars(select(ImportItem).order_by(ImportItem.id)))
        uow.session.expunge_all()
        return rows


@pytest.fixture
def patient(app: Accueil) -> tuple[int, int]:
    patient_id = emr_files.add_patient(app)
    return patient_id, emr_files.add_message(app, patient_id)


def test_the_default_is_the_built_in_chart_with_the_generic_profile(app: Accueil, patient: tuple[int, int]) -> None:
    patient_id, message_id = patient
    emr_files.reply(app, message_id, "Merci docteur, la douleur a diminué à l’épaule.")
    assert run(app) == 2  # queued, imported
    [entry] = chart(app, patient_id)
    assert (entry.kind, entry.state, entry.title) == ("note", None, "Reply from the patient")
    assert "la douleur a diminué à l’épaule" in body(app, entry) and "Message R7K2Q" in body(app, entry)
    with app.uow() as uow:
        assert [line.kind for line in list_chart(uow.session, patient_id)] == ["note"]


def test_oscar_pro_reply_is_a_progress_note_and_files_go_to_documents(app: Accueil,
                                                                      patient: tuple[int, int]) -> None:
    patient_id, message_id = patient
    configure(app, profile="oscar_pro")
    emr_files.reply(app, message_id, "Voici la photo.", (("genou.png", emr_files.png_with_alpha()),))
    run(app)
    kinds = [(e.kind, e.folder) for e in chart(app, patient_id)]
    assert kinds == [("progress_note", None), ("document", "Documents"), ("progress_note", None)]
    doc = chart(app, patient_id)[1]
    assert doc.document_name == "genou.png" and document(app, doc) == emr_files.png_with_alpha()


@pytest.mark.parametrize("state", ["active", "completed"])
def test_accuro_reply_is_a_task_in_the_consult_notes_state(app: Accueil, patient: tuple[int, int],
                                                           state: str) -> None:
    patient_id, message_id = patient
    configure(app, profile="accuro", consult_notes_as=state, folder="Patient", subfolder="Messagerie")
    emr_files.reply(app, message_id, "Oui, je serai présente.")
    run(app)
    [entry] = chart(app, patient_id)
    assert (entry.kind, entry.state) == ("task", state)


def test_accuro_files_converted_into_the_folder_with_an_active_task(app: Accueil, patient: tuple[int, int]) -> None:
    patient_id, message_id = patient
    configure(app, profile="accuro", consult_notes_as="completed", folder="Patient", subfolder="Messagerie")
    emr_files.reply(app, message_id, "", (("notes.txt", emr_files.FRENCH_TEXT.encode()),
                                          ("scan.bmp", emr_files.bmp()),
                                          ("requisition.tiff", emr_files.multipage_tiff(2)),
                                          ("genou.jpg", emr_files.rotated_jpeg()),
                                          ("photo.png", emr_files.png_with_alpha())))
    run(app)
    entries = chart(app, patient_id)
    documents = [e for e in entries if e.kind == "document"]
    tasks = [e for e in entries if e.kind == "task"]
    assert [d.document_name for d in documents] == ["notes.pdf", "scan.jpg", "requisition.pdf", "genou.jpg",
                                                    "photo.jpg"]
    assert {(d.folder, d.subfolder) for d in documents} == {("Patient", "Messagerie")}
    assert [t.state for t in tasks] == ["active"] * 5  # a file's task is always active
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(document(app, documents[0]))).pages)
    assert text == emr_files.FRENCH_TEXT
    assert len(PdfReader(io.BytesIO(document(app, documents[2])), strict=True).pages) == 2
    upright = Image.open(io.BytesIO(document(app, documents[3])))
    assert upright.format == "JPEG" and upright.size == (40, 80)  # stored turned, as the photo was taken
    flattened = Image.open(io.BytesIO(document(app, documents[4])))
    assert flattened.format == "JPEG" and all(channel > 240 for channel in flattened.getpixel((60, 20)))


@pytest.mark.parametrize(("notes_as", "kind"), [("folder", "folder_entry"), ("encounter_note", "encounter_note")])
def test_accuro_unsupported_type_leaves_a_note(app: Accueil, patient: tuple[int, int], notes_as: str,
                                               kind: str) -> None:
    patient_id, message_id = patient
    configure(app, profile="accuro", secure_notes_as=notes_as, folder="Patient")
    emr_files.reply(app, message_id, "", (("video.mov", emr_files.mov_header()),))
    run(app)
    [entry] = chart(app, patient_id)
    assert entry.kind == kind and entry.document_ciphertext is None
    assert "video.mov" in body(app, entry) and "does not accept (mov)" in body(app, entry)
    assert [i.state for i in items(app)] == ["imported"]


def test_a_file_waits_for_the_folder_setting_then_imports_by_itself(app: Accueil, patient: tuple[int, int]) -> None:
    patient_id, message_id = patient
    configure(app, profile="accuro", folder=None, subfolder=None)
    emr_files.reply(app, message_id, "Ci-joint.", (("resultats.pdf", emr_files.simple_pdf()),))
    run(app)
    states = {(i.kind, i.state, i.reason) for i in items(app)}
    assert states == {("reply", "imported", None), ("attachment", "waiting", NO_FOLDER)}
    run(app)  # still waiting, never dropped
    assert [i.state for i in items(app)] == ["imported", "waiting"]
    configure(app, folder="Résultats", subfolder="Laboratoire")
    assert [i.state for i in items(app)] == ["imported", "pending"]
    run(app)
    assert [i.state for i in items(app)] == ["imported", "imported"]
    assert {e.folder for e in chart(app, patient_id) if e.kind == "document"} == {"Résultats"}


@pytest.mark.parametrize(("name", "make", "reason"), [
    ("resultats.pdf", emr_files.corrupt_pdf, DAMAGED_PDF),
    ("protege.pdf", emr_files.encrypted_pdf, ENCRYPTED_PDF),
    ("bombe.png", emr_files.png_claiming, TOO_LARGE),
], ids=["corrupt-pdf", "encrypted-pdf", "png-bomb"])
def test_files_that_cannot_be_read_fail_with_a_reason_and_can_be_retried(app: Accueil, patient: tuple[int, int],
                                                                         name: str, make: Callable[[], bytes],
                                                                         reason: str) -> None:
    patient_id, message_id = patient
    configure(app, profile="accuro", folder="Patient")
    emr_files.reply(app, message_id, "", ((name, make()),))
    run(app)
    [item] = items(app)
    assert (item.state, item.reason, item.attempts) == ("failed", reason, 1)
    assert chart(app, patient_id) == []
    with app.uow() as uow:
        assert counts(uow.session)["failed"] == 1
        assert [e.reason for e in list_items(uow.session, states=("failed",))] == [reason]
    with app.uow(write=True) as uow:
        retry_item(uow, item.id)
    assert items(app)[0].state == "pending"
    run(app)
    assert items(app)[0].state == "failed" and items(app)[0].attempts == 2
    with app.uow(write=True) as uow:
        assert retry_failed(uow) == 1
    with app.uow(write=True) as uow, pytest.raises(InvalidInput):
        retry_item(uow, item.id)  # pending now, not failed


def test_the_same_reply_imported_twice_gives_one_chart_entry(app: Accueil, patient: tuple[int, int]) -> None:
    patient_id, message_id = patient
    emr_files.reply(app, message_id, "Une seule fois, s’il vous plaît.")
    with app.uow(write=True) as uow:
        assert sweep(uow) == 1
    with app.uow(write=True) as uow:
        assert sweep(uow) == 0  # a second sweep (or a second worker) queues nothing more
    [item] = items(app)
    assert import_item(app, item.id).state == "imported"
    # The worker crashed before it could tell anyone: the item is handed out again.
    with app.uow(write=True) as uow:
        uow.session.execute(update(ImportItem).where(ImportItem.id == item.id).values(state="pending"))
        uow.commit()
    outcome = import_item(app, item.id)
    assert outcome.state == "imported" and outcome.entries == 0
    assert import_item(app, item.id).state == "imported"
    assert len(chart(app, patient_id)) == 1


def complete_form(app: Accueil, message_id: int) -> int:
    """The first eForm, attached to the message and completed by the patient; returns the request id."""
    from core.db.models import EForm, FormRequest
    from core.messaging.patient_actions import record_form_completed

    with app.uow(write=True) as uow:
        eform = uow.session.scalars(select(EForm).order_by(EForm.id)).first()
        request = FormRequest(message_id=message_id, eform_id=eform.id)
        uow.session.add(request)
        uow.commit()
        request_id, definition = request.id, eform.definition
    answers = {}
    for field in definition["fields"]:
        if field.get("required"):
            kind = field["type"]
            answers[field["name"]] = (field["choices"][0]["value"] if field.get("choices") else
                                      True if kind == "yes_no" else 3 if kind == "number" else
                                      "2025-01-02" if kind == "date" else "Réponse à l’essai")
    with app.uow(write=True) as uow:
        record_form_completed(uow, request_id, answers, language="fr", settings=app.settings, cipher=app.cipher)
    return request_id


def test_completed_forms_are_imported_as_consult_notes(app: Accueil, patient: tuple[int, int]) -> None:
    patient_id, message_id = patient
    configure(app, profile="oscar_pro")
    complete_form(app, message_id)
    run(app)
    [entry] = chart(app, patient_id)
    assert entry.kind == "progress_note" and entry.title == "eForm completed by the patient"
    assert [(i.kind, i.state) for i in items(app)] == [("form", "imported")]


def test_import_folder_gets_each_item_and_its_sidecar_atomically(app: Accueil, patient: tuple[int, int],
                                                                 tmp_path: Path) -> None:
    patient_id, message_id = patient
    folder = tmp_path / "dme-import"
    configure(app, profile="accuro", folder="Patient", destination="folder", import_path=str(folder))
    emr_files.reply(app, message_id, "Texte « accentué ».", (("photo.png", emr_files.png_with_alpha()),))
    run(app)
    assert [i.state for i in items(app)] == ["waiting", "waiting"]  # the folder does not exist yet
    folder.mkdir()
    run(app)
    assert [i.state for i in items(app)] == ["imported", "imported"]
    reply_item, file_item = items(app)
    names = sorted(p.name for p in folder.iterdir())  # no temporary file left behind
    assert names == sorted([f"accueil-attachment-{file_item.source_id}.jpg",
                            f"accueil-attachment-{file_item.source_id}.json",
                            f"accueil-reply-{reply_item.source_id}.json", f"accueil-reply-{reply_item.source_id}.pdf"])
    sidecar = json.loads((folder / f"accueil-reply-{reply_item.source_id}.json").read_text(encoding="utf-8"))
    assert sidecar["chart_id"] == "200301" and sidecar["health_number"] == "BELA 8506 1234"
    assert sidecar["kind"] == "task" and sidecar["source"]["message_id"] == message_id
    assert sidecar["source"]["portal_reference"] == "R7K2Q"
    reply_pdf = folder / sidecar["file"]
    assert "Texte « accentué »." in PdfReader(reply_pdf).pages[0].extract_text()
    assert chart(app, patient_id) == []  # the EMR reads the folder; the built-in chart is not written
    with app.uow() as uow:
        actions = list(uow.session.scalars(select(AuditEntry.action).where(AuditEntry.action == "emr.import")))
    assert len(actions) == 2


def test_portal_copies_are_purged_after_the_retention_period(app: Accueil, patient: tuple[int, int]) -> None:
    patient_id, message_id = patient
    configure(app, retention_days=7)
    reply_id = emr_files.reply(app, message_id, "À supprimer plus tard.", (("scan.pdf", emr_files.simple_pdf()),))
    configure(app, folder="Patient")
    now = utcnow()
    run_emr_import(app, now)
    assert run_emr_import(app, now + timedelta(days=6)) == 0
    with app.uow() as uow:
        assert uow.session.get(Reply, reply_id).body_ciphertext is not None
    assert run_emr_import(app, now + timedelta(days=8)) == 2
    with app.uow() as uow:
        session = uow.session
        assert session.get(Reply, reply_id).body_ciphertext is None
        assert session.scalar(select(func.count()).select_from(Attachment)
                              .where(Attachment.ciphertext.is_not(None))) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "emr.portal_copy_purged")) == 2
    assert len(chart(app, patient_id)) == 3  # the record stays
    assert run_emr_import(app, now + timedelta(days=9)) == 0


def test_completed_form_answers_are_purged_after_the_retention_period(app: Accueil,
                                                                      patient: tuple[int, int]) -> None:
    from core.db.models import FormRequest

    patient_id, message_id = patient
    configure(app, retention_days=7)
    request_id = complete_form(app, message_id)
    now = utcnow()
    run_emr_import(app, now)
    [entry] = chart(app, patient_id)
    answers_in_chart = body(app, entry)
    assert run_emr_import(app, now + timedelta(days=6)) == 0
    assert run_emr_import(app, now + timedelta(days=8)) == 1
    with app.uow() as uow:
        request = uow.session.get(FormRequest, request_id)
        assert request.answers_ciphertext is None and request.state == "completed"  # reports still count it
        [audited] = uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "emr.portal_copy_purged"))
        assert audited.patient_id == patient_id and audited.detail["kind"] == "form"
    [kept] = chart(app, patient_id)
    assert kept.id == entry.id and body(app, kept) == answers_in_chart  # the record keeps the answers
    assert run_emr_import(app, now + timedelta(days=9)) == 0


def test_settings_are_checked(app: Accueil) -> None:
    with app.uow() as uow:
        current = read_settings(uow.session)
    assert current == EmrSettings()
    for bad in (dict(profile="medesync"), dict(destination="folder"), dict(subfolder="Sans dossier"),
                dict(import_path="relative/path"), dict(retention_days=-1)):
        with app.uow(write=True) as uow, pytest.raises(InvalidInput):
            save_settings(uow, replace(current, **bad))


def test_a_sweep_that_lost_the_race_queues_nothing_twice(app: Accueil, patient: tuple[int, int]) -> None:
    from core.emr.queue import _insert_ignoring_duplicates

    patient_id, message_id = patient
    reply_id = emr_files.reply(app, message_id, "Course.")
    with app.uow(write=True) as uow:
        assert sweep(uow) == 1
    # A second worker read "not queued" before the first committed, then inserts the same source.
    with app.uow(write=True) as uow:
        assert _insert_ignoring_duplicates(uow.session, [{"kind": "reply", "source_id": reply_id,
                                                          "patient_id": patient_id, "state": "pending",
                                                          "attempts": 0, "created_at": utcnow()}]) == 0
        uow.commit()
    assert len(items(app)) == 1
    assert import_due(app) == 1


def test_waiting_items_do_not_hold_up_pending_ones_and_the_worker_runs_the_job(app: Accueil,
                                                                               patient: tuple[int, int]) -> None:
    from core.outbox.scheduler import JOBS, Scheduler

    patient_id, message_id = patient
    configure(app, profile="accuro")
    emr_files.reply(app, message_id, "", tuple((f"scan-{n}.pdf", emr_files.simple_pdf()) for n in range(3)))
    run(app)
    assert [i.state for i in items(app)] == ["waiting"] * 3
    emr_files.reply(app, message_id, "Et une réponse tapée.")
    with app.uow(write=True) as uow:
        sweep(uow)
    assert import_due(app, limit=2) == 1  # the new reply, though three older items wait
    scheduler = Scheduler(jobs=tuple(job for job in JOBS if job.target == "core.emr.jobs:run_emr_import"))
    assert len(scheduler.jobs) == 1
    configure(app, folder="Patient")
    assert scheduler.run_due(app, utcnow()) == 3
    assert len([e for e in chart(app, patient_id) if e.kind == "document"]) == 3
