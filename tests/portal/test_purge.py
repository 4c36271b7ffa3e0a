"""PT-6 purge: every link and session dies at once, portal copies go, the EMR side stays, a fresh start."""

from __future__ import annotations

from sqlalchemy import select

from core.db.models import Attachment, AuditEntry, FormRequest, Patient, Reply, SecureContent
from core.portal.purge import purge_patient
from tests.portal.conftest import csrf_of, sign_in
from tests.portal.test_messages import pdf_bytes


def test_purge_ends_links_and_sessions_and_starts_a_new_history(clinic, client) -> None:
    read_token = clinic.send(allow_attachment=True)
    sign_in(client, read_token)
    read_id = clinic.last_id()
    page = client.get(f"/messages/{read_id}")
    client.post(f"/messages/{read_id}/reply", data={"csrf": csrf_of(page.text), "text": "Bien reçu."},
                files={"files": ("photo.pdf", pdf_bytes(), "application/pdf")})
    unread_token = clinic.send(forms=("email_consent",), attachments=(("labo.pdf", pdf_bytes()),))
    unread_id = clinic.last_id()
    with clinic.app.uow() as uow:
        old_reference = uow.session.get(Patient, clinic.zoe).portal_reference
    with clinic.app.uow(write=True) as uow:
        result = purge_patient(uow, clinic.zoe)
    assert (result.links, result.sessions, result.secure_texts, result.files, result.forms) == (2, 1, 1, 1, 1)

    session_page = client.get("/inbox")  # the old session: refused at once
    assert session_page.status_code == 404 and "no longer available" in session_page.text
    fake_page = sign_in(client, "z" * 43, {"date_of_birth": "1984-02-29"})
    for token in (read_token, unread_token):  # the old links: the same answer as a link that never existed
        old = sign_in(client, token)
        assert old.text.replace(csrf_of(old.text), "") == fake_page.text.replace(csrf_of(fake_page.text), "")
        assert "accueil_session" not in client.cookies

    with clinic.app.uow() as uow:
        assert uow.session.get(SecureContent, unread_id).ciphertext is None
        assert uow.session.get(SecureContent, read_id).ciphertext is not None  # read: already the patient's
        assert uow.session.scalar(select(FormRequest.state)) == "purged"
        staff, patient = (uow.session.scalar(select(Attachment).where(Attachment.direction == side))
                          for side in ("staff", "patient"))
        assert staff.ciphertext is None and patient.ciphertext is not None  # the EMR side is untouched
        assert uow.session.scalar(select(Reply.body_ciphertext)) is not None
        assert "portal.purge" in uow.session.scalars(select(AuditEntry.action)).all()

    fresh = clinic.send()
    inbox = sign_in(client, fresh)
    assert inbox.status_code == 200
    assert f"/messages/{clinic.last_id()}" in inbox.text
    assert f"/messages/{read_id}" not in inbox.text and f"/messages/{unread_id}" not in inbox.text
    with clinic.app.uow() as uow:
        assert uow.session.get(Patient, clinic.zoe).portal_reference not in (None, old_reference)
