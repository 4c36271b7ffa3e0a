"""Issue 4 end to end on both backends: hostile template content and staff attachments.

A template saved with template-engine syntax, script, event handlers and ``javascript:`` links
is sent through compose and delivered by the worker into the local mailbox: the delivered email
carries the syntax as plain text and none of the markup. Staff attachments are checked (MS-8)
before anything is written and kept encrypted at rest.
"""

from __future__ import annotations

import email
import hashlib
import re
from datetime import date
from email import policy

import pytest
from sqlalchemy import func, insert, select

from core.db.models import Attachment, Message, OutboxItem, Patient
from core.errors import InvalidInput
from core.licences import grant_licence
from core.messaging.compose import Draft, send_draft
from core.messaging.templates import TemplateData, load_template, save_template
from core.outbox.worker import worker_for
from core.patients.keys import fold
from core.users import add_user

ENGINE_SYNTAX = "{{ ''.__class__.__mro__[1].__subclasses__() }} {% for x in range(3) %}loop{% endfor %} {{ 7*7 }}"
HOSTILE_BODY = (
    f"<p>{ENGINE_SYNTAX}</p>"
    "<script>alert('s')</script>"
    "<img src=x onerror=alert('i')>"
    "<b onmouseover=alert('b')>bold</b>"
    "<a href=\"javascript:alert('j')\">click</a>"
    "<a href=\"JaVaScRiPt&#58;alert('k')\">again</a>"
    "<a href=\"https://clinic.example/hours\" onclick=alert('c')>hours</a>"
    "<p>[weblink]</p>"
)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def clinic(app):
    with app.uow(write=True) as uow:
        uow.session.execute(insert(Patient), [{
            "chart_id": "1", "last_name": "Côté", "first_name": "Zoé", "last_key": fold("Côté"), "first_key": "zoe",
            "email": "zoe.cote@example.com", "email_consent": True, "language": "fr",
            "date_of_birth": date(1980, 1, 1)}])
        uow.commit()
    with app.uow(write=True) as uow:
        user = add_user(uow, username="drtremblay", display_name="Dre Hélène Tremblay", role="provider",
                        password=None)
    with app.uow(write=True) as uow:
        grant_licence(uow, "drtremblay")
    with app.uow() as uow:
        patient_id = uow.session.scalar(select(Patient.id))
    return app, patient_id, user.id


def test_hostile_template_is_delivered_inert(clinic) -> None:
    app, patient_id, user_id = clinic
    data = TemplateData(name="Hostile", subject=f"Subject {ENGINE_SYNTAX}", salutation=f"Bonjour {ENGINE_SYNTAX}",
                        body_html=HOSTILE_BODY, language="fr", secure_message=ENGINE_SYNTAX)
    with app.uow(write=True) as uow:
        template_id = save_template(uow, data)
    with app.uow() as uow:
        template = load_template(uow.session, template_id)
    with app.uow(write=True) as uow:
        send_draft(uow, Draft(patient_ids=(patient_id,), subject=template.subject, salutation=template.salutation,
                              body_html=template.body_html, secure_message=template.secure_message,
                              template_id=template_id, sender_user_id=user_id),
                   settings=app.settings, cipher=app.cipher)
    assert worker_for(app).run_once() == 1
    [eml] = sorted((app.data_dir / "mailbox").glob("*.eml"))
    mail = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content()
    with app.uow() as uow:
        stored = uow.session.execute(select(Message.body_html, Message.body_text, Message.delivery_state)).one()
    assert stored.delivery_state == "sent"
    for part in (html, stored.body_html):
        lowered = part.lower()
        for needle in ("<script", "onerror", "onmouseover", "onclick", "javascript", "<img", "alert("):
            assert needle not in lowered, needle
        assert '<a href="https://clinic.example/hours" rel="noopener noreferrer">hours</a>' in part
        assert "&#x27;&#x27;.__class__" in part or "''.__class__" in part  # the syntax is shown, as text
    for part in (text, stored.body_text, str(mail["Subject"])):
        assert "{{ ''.__class__.__mro__[1].__subclasses__() }}" in part  # never evaluated
        assert "{% for x in range(3) %}loop{% endfor %}" in part and "{{ 7*7 }}" in part
        words = re.sub(r"https://\S+", "", part)  # the link's random token may hold any digits
        assert "49" not in words and "looploop" not in words and "<class" not in words
    assert "alert" not in text.lower()


@pytest.mark.parametrize(("files", "fragment"), [
    ([("scan.pdf", b"PK\x03\x04 a zip renamed")], "is not a pdf file"),
    ([("run.exe", b"MZ\x90\x00")], "is not an accepted type"),
    ([("big.pdf", PDF + b"\0" * (10 * 1024 * 1024))], "larger than 10 MB"),
    ([(f"part{n}.pdf", PDF + b"\0" * (9 * 1024 * 1024)) for n in range(6)], "more than 50 MB"),
])
def test_refused_staff_files_write_nothing(clinic, files, fragment) -> None:
    app, patient_id, user_id = clinic
    draft = Draft(patient_ids=(patient_id,), subject="Rapport", salutation="Bonjour,", body_html="[weblink]",
                  attachments=tuple(files), sender_user_id=user_id)
    with app.uow(write=True) as uow, pytest.raises(InvalidInput, match=fragment):
        send_draft(uow, draft, settings=app.settings, cipher=app.cipher)
    with app.uow() as uow:
        for table in (Message, OutboxItem, Attachment):
            assert uow.session.scalar(select(func.count()).select_from(table)) == 0


def test_staff_attachments_are_encrypted_at_rest(clinic) -> None:
    app, patient_id, user_id = clinic
    secret_text = "Résultats confidentiels de Zoé Côté\n".encode()
    files = (("résultats.pdf", PDF + b"% CONFIDENTIAL-MARKER\n"), ("note.txt", secret_text))
    with app.uow(write=True) as uow:
        [message_id] = send_draft(uow, Draft(patient_ids=(patient_id,), subject="Rapport", salutation="Bonjour,",
                                             body_html="[weblink]", attachments=files, sender_user_id=user_id),
                                  settings=app.settings, cipher=app.cipher).message_ids
    with app.uow() as uow:
        rows = uow.session.execute(select(Attachment.__table__).order_by(Attachment.id)).all()
    assert [(r.message_id, r.direction, r.display_name, r.extension) for r in rows] == [
        (message_id, "staff", "résultats.pdf", "pdf"), (message_id, "staff", "note.txt", "txt")]
    for row, (_name, data) in zip(rows, files, strict=True):
        assert row.size == len(data) and row.sha256 == hashlib.sha256(data).digest()
        assert b"CONFIDENTIAL-MARKER" not in row.ciphertext and b"confidentiels" not in row.ciphertext
        assert app.cipher.decrypt(row.ciphertext, context="attachment") == data
