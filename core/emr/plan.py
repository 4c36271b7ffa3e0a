"""What one import item becomes, per EMR profile (EM-1..EM-4); pure: no database, no disk.

Typed reply or completed eForm: OSCAR Pro → a progress note; Accuro → a task, active or completed
per "create consult notes as"; generic → a note. A file: OSCAR Pro → a document in Documents with
an associated progress note; Accuro and generic → a document in the configured folder/subfolder
with a task that is always active. For Accuro a file is converted first; a type it cannot take
becomes a note that the patient sent an unsupported file (folder entry or encounter note per
"save secure message notes as"). A missing folder raises ``Waiting``: the item waits, it is not
dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from core.emr import N_
from core.emr.chart import OSCAR_DOCUMENTS, PlannedEntry
from core.emr.convert import UNSUPPORTED_BY_ACCURO, PreparedFile, prepare
from core.emr.settings import EmrSettings
from core.emr.sources import Source
from core.i18n import translate

NO_FOLDER = N_("No document folder is set for patient files: set it in the EMR settings.")

REPLY_TITLE = N_("Reply from the patient")
FORM_TITLE = N_("eForm completed by the patient")
FILE_TITLE = N_("File from the patient")
FILE_TASK_TITLE = N_("Review the file sent by the patient")
FILE_NOTE_TITLE = N_("File from the patient, in Documents")
UNSUPPORTED_TITLE = N_("File of an unsupported type from the patient")
REFERENCE = N_("Message {reference}")
FORM_NAME = N_("eForm: {title}")
FILE_NAME = N_("File: {name}")
FILE_NOTE = N_("The patient sent the file {name} in reply to a message; it was saved in Documents.")
FILE_TASK = N_("The patient sent the file {name} in reply to a message; it was saved in {folder}.")
CONVERTED = N_("Converted from {original} to {converted} for the EMR.")
UNSUPPORTED_NOTE = N_("The patient sent the file {name}, of a type the EMR does not accept ({type}); it could "
                      "not be converted. Ask the patient for another format, or view it in the portal while "
                      "it is kept.")


class Waiting(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Plan:
    entries: tuple[PlannedEntry, ...]
    file: PreparedFile | None
    """The document, for the import-folder destination (``None``: the main entry's text is the file)."""


def plan_import(source: Source, settings: EmrSettings, language: str) -> Plan:
    def t(message: str, **values: str) -> str:
        return translate(message, language).format(**values)

    reference = t(REFERENCE, reference=source.portal_reference or str(source.message_id))
    if source.kind in ("reply", "form"):
        title = t(REPLY_TITLE) if source.kind == "reply" else t(FORM_TITLE)
        lines = [reference]
        if source.form_title:
            lines.append(t(FORM_NAME, title=source.form_title))
        body = "\n".join(lines) + "\n\n" + (source.text or "")
        if settings.profile == "oscar_pro":
            entry = PlannedEntry("main", "progress_note", title, body)
        elif settings.profile == "accuro":
            entry = PlannedEntry("main", "task", title, body, state=settings.consult_notes_as)
        else:
            entry = PlannedEntry("main", "note", title, body)
        return Plan((entry,), None)

    assert source.file_name is not None and source.extension is not None and source.data is not None
    name = source.file_name
    if settings.profile == "oscar_pro":
        prepared = prepare("oscar_pro", name, source.extension, source.data)
        assert prepared is not None
        documents = t(OSCAR_DOCUMENTS)
        return Plan((
            PlannedEntry("document", "document", t(FILE_TITLE), reference, folder=documents,
                         document_name=prepared.name, document=prepared.data),
            PlannedEntry("note", "progress_note", t(FILE_NOTE_TITLE), reference + "\n\n" + t(FILE_NOTE, name=name)),
        ), prepared)

    unsupported = settings.profile == "accuro" and source.extension in UNSUPPORTED_BY_ACCURO
    if unsupported:
        body = reference + "\n\n" + t(UNSUPPORTED_NOTE, name=name, type=source.extension)
        if settings.secure_notes_as == "encounter_note":
            return Plan((PlannedEntry("note", "encounter_note", t(UNSUPPORTED_TITLE), body),), None)
        if not settings.folder:
            raise Waiting(NO_FOLDER)
        return Plan((PlannedEntry("note", "folder_entry", t(UNSUPPORTED_TITLE), body, folder=settings.folder,
                                  subfolder=settings.subfolder),), None)
    if not settings.folder:
        raise Waiting(NO_FOLDER)
    prepared = prepare(settings.profile, name, source.extension, source.data)
    if prepared is None:  # a type Accuro takes no other way: same note as above
        body = reference + "\n\n" + t(UNSUPPORTED_NOTE, name=name, type=source.extension)
        kind = "encounter_note" if settings.secure_notes_as == "encounter_note" else "folder_entry"
        return Plan((PlannedEntry("note", kind, t(UNSUPPORTED_TITLE), body, folder=settings.folder,
                                  subfolder=settings.subfolder),), None)
    where = " / ".join(part for part in (settings.folder, settings.subfolder) if part)
    task_body = reference + "\n\n" + t(FILE_TASK, name=name, folder=where)
    file_body = reference
    if prepared.converted_from:
        converted = t(CONVERTED, original=PurePath(name).suffix.lstrip(".") or source.extension,
                      converted=prepared.extension)
        file_body += "\n" + converted
        task_body += "\n" + converted
    return Plan((
        PlannedEntry("document", "document", t(FILE_TITLE), file_body, folder=settings.folder,
                     subfolder=settings.subfolder, document_name=prepared.name, document=prepared.data),
        PlannedEntry("task", "task", t(FILE_TASK_TITLE), task_body, state="active"),
    ), prepared)
