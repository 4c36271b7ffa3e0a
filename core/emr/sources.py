"""What an import item points at, read from the portal's rows and decrypted: a typed reply, a
completed eForm (its answers as text) or a file the patient sent.

``load_source`` returns ``None`` when the portal copy is gone (purged or deleted): the importer
then fails the item with that reason rather than dropping it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.crypto import SiteCipher
from core.db.models import Attachment, EForm, FormRequest, Message, Patient, Reply
from core.i18n import translate
from core.messaging.eforms import FormDefinition


@dataclass(frozen=True)
class Source:
    kind: str  # reply|attachment|form
    source_id: int
    patient_id: int
    chart_id: str
    health_number: str | None
    message_id: int
    portal_reference: str | None
    created_at: datetime
    text: str | None = None
    form_title: str | None = None
    file_name: str | None = None
    extension: str | None = None
    data: bytes | None = None


def _answer_text(value: Any, choices: dict[str, str], language: str) -> str:
    if isinstance(value, bool):
        return translate("yes", language) if value else translate("no", language)
    if isinstance(value, list):
        return ", ".join(choices.get(str(v), str(v)) for v in value)
    return choices.get(str(value), str(value))


def form_text(definition: FormDefinition, answers: dict[str, Any], language: str) -> str:
    """The answers as "Label: value" lines in the definition's order (unanswered fields left out)."""
    lines = []
    for field in definition.fields:
        if field.name not in answers:
            continue
        choices = {c.value: c.label.in_language(language) for c in field.choices}
        lines.append(f"{field.label.in_language(language)}: {_answer_text(answers[field.name], choices, language)}")
    return "\n".join(lines)


def load_source(session: Session, cipher: SiteCipher, kind: str, source_id: int, *,
                language: str) -> Source | None:
    if kind == "reply":
        reply = session.get(Reply, source_id)
        if reply is None or reply.body_ciphertext is None:
            return None
        message = session.get(Message, reply.message_id)
        text = cipher.decrypt_text(reply.body_ciphertext, context="reply")
        return _source(session, kind, source_id, message, reply.created_at, text=text)
    if kind == "attachment":
        attachment = session.get(Attachment, source_id)
        if attachment is None or attachment.ciphertext is None:
            return None
        message = session.get(Message, attachment.message_id)
        data = cipher.decrypt(attachment.ciphertext, context="attachment")
        return _source(session, kind, source_id, message, attachment.created_at, file_name=attachment.display_name,
                       extension=attachment.extension.lower(), data=data)
    if kind == "form":
        request = session.get(FormRequest, source_id)
        if request is None or request.answers_ciphertext is None or request.state != "completed":
            return None
        eform = session.get(EForm, request.eform_id)
        answers = json.loads(cipher.decrypt_text(request.answers_ciphertext, context="form_answers"))
        text = form_text(FormDefinition.from_data(eform.definition), answers, language)
        title = eform.title_fr if language == "fr" else eform.title_en
        message = session.get(Message, request.message_id)
        return _source(session, kind, source_id, message, request.completed_at or message.created_at, text=text,
                       form_title=title)
    raise ValueError(f"unknown import kind {kind!r}")


def _source(session: Session, kind: str, source_id: int, message: Message, created_at: datetime,
            **content: Any) -> Source:
    patient = session.get(Patient, message.patient_id)
    return Source(kind=kind, source_id=source_id, patient_id=patient.id, chart_id=patient.chart_id,
                  health_number=patient.health_number, message_id=message.id,
                  portal_reference=message.portal_reference, created_at=created_at, **content)
