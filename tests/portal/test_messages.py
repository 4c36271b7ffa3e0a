"""PO-2 read, download, delete; PO-3 reply with files inside the window; PO-4 eForms — all over HTTP."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from sqlalchemy import select

from core.db.models import Attachment, AuditEntry, Event, FormRequest, Message, Reply
from tests.portal.conftest import csrf_of, sign_in


def pdf_bytes() -> bytes:
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_first_view_records_confirmed_once_and_shows_the_secure_text(clinic, client) -> None:
    token = clinic.send()
    inbox = sign_in(client, token)
    message_id = clinic.last_id()
    assert f'href="/messages/{message_id}"' in inbox.text
    for _ in range(2):
        page = client.get(f"/messages/{message_id}")
        assert page.status_code == 200 and "Vos résultats sont normaux." in page.text
    with clinic.app.uow() as uow:
        kinds = list(uow.session.scalars(select(Event.kind).where(Event.kind == "message.confirmed")))
        assert kinds == ["message.confirmed"]
        actions = uow.session.scalars(select(AuditEntry.action).where(AuditEntry.action.in_(
            ("message.viewed", "portal.message_opened"))).order_by(AuditEntry.id)).all()
        assert actions == ["message.viewed", "portal.message_opened"]  # every reading is in the access log
        assert uow.session.get(Message, message_id).first_viewed_at is not None


def test_staff_file_downloads_and_delete_hides_the_message(clinic, client) -> None:
    data = pdf_bytes()
    token = clinic.send(attachments=(("résultats labo.pdf", data),))
    sign_in(client, token)
    message_id = clinic.last_id()
    page = client.get(f"/messages/{message_id}")
    with clinic.app.uow() as uow:
        file_id = uow.session.scalar(select(Attachment.id))
    assert f'href="/files/{file_id}"' in page.text
    download = client.get(f"/files/{file_id}")
    assert download.content == data and download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment;")
    confirm = client.get(f"/messages/{message_id}/delete")
    client.post(f"/messages/{message_id}/delete", data={"csrf": csrf_of(confirm.text)})
    assert f"/messages/{message_id}" not in client.get("/inbox").text
    assert client.get(f"/messages/{message_id}").status_code == 404
    with clinic.app.uow() as uow:
        assert uow.session.get(Message, message_id).deleted_by_patient_at is not None
        assert "portal.message_deleted" in uow.session.scalars(select(AuditEntry.action)).all()


def test_another_patients_message_is_not_reachable(clinic, client) -> None:
    clinic.send(clinic.emile)
    other_id = clinic.last_id()
    sign_in(client, clinic.send())
    assert client.get(f"/messages/{other_id}").status_code == 404


def test_reply_with_a_file_is_stored_encrypted_under_a_server_name(clinic, client) -> None:
    token = clinic.send(allow_attachment=True)
    sign_in(client, token)
    message_id = clinic.last_id()
    page = client.get(f"/messages/{message_id}")
    assert "911" in page.text
    data = pdf_bytes()
    response = client.post(f"/messages/{message_id}/reply", data={"csrf": csrf_of(page.text), "text": "Merci, docteure!"},
                           files={"files": ("../../etc/passwd.pdf", data, "application/pdf")})
    assert response.status_code == 200 and "Your reply was sent" in response.text
    with clinic.app.uow() as uow:
        reply = uow.session.scalar(select(Reply))
        file = uow.session.scalar(select(Attachment).where(Attachment.direction == "patient"))
        assert clinic.app.cipher.decrypt_text(reply.body_ciphertext, context="reply") == "Merci, docteure!"
        assert file.display_name.startswith("reply-") and file.display_name.endswith(".pdf")
        assert "passwd" not in file.display_name and data not in file.ciphertext
        assert file.sha256 == hashlib.sha256(data).digest()
    assert "Merci, docteure!" in response.text


def test_reply_window_expired_is_shown_and_enforced(clinic, client) -> None:
    token = clinic.send(reply_until=date.today() - timedelta(days=3))
    sign_in(client, token)
    message_id = clinic.last_id()
    page = client.get(f"/messages/{message_id}")
    closes = (date.today() - timedelta(days=3)).isoformat()
    assert f"expired on {closes}" in page.text and 'name="text"' not in page.text
    response = client.post(f"/messages/{message_id}/reply", data={"csrf": csrf_of(page.text), "text": "Allô"},
                           files={"files": ("", b"", "application/octet-stream")})
    assert response.status_code == 400 and f"expired on {closes}" in response.text
    with clinic.app.uow() as uow:
        assert uow.session.scalar(select(Reply)) is None


def test_no_reply_form_when_the_clinic_did_not_ask(clinic, client) -> None:
    sign_in(client, clinic.send(allow_reply=False))
    page = client.get(f"/messages/{clinic.last_id()}")
    assert "/reply" not in page.text
    response = client.post(f"/messages/{clinic.last_id()}/reply", data={"csrf": csrf_of(page.text), "text": "x"},
                           files={"files": ("", b"", "application/octet-stream")})
    assert response.status_code == 400


def test_eform_is_validated_then_completed_online(clinic, client) -> None:
    token = clinic.send(forms=("email_consent",), secure=None)
    sign_in(client, token)
    forms = client.get("/forms")
    assert "911" in forms.text
    with clinic.app.uow() as uow:
        request_id = uow.session.scalar(select(FormRequest.id))
    page = client.get(f"/forms/{request_id}")
    bad = client.post(f"/forms/{request_id}", data={"csrf": csrf_of(page.text), "full_name": "Zoé Côté-O'Neil"})
    assert bad.status_code == 400 and "required" in bad.text and "Zoé Côté-O&#39;Neil" in bad.text
    good = client.post(f"/forms/{request_id}", data={"csrf": csrf_of(page.text), "full_name": "Zoé Côté-O'Neil",
                                                    "consents_to_email": "yes", "consent_date": "2026-03-02"})
    assert good.status_code == 200 and "Thank you" in good.text
    with clinic.app.uow() as uow:
        request = uow.session.get(FormRequest, request_id)
        assert request.state == "completed" and request.channel == "online"
        event = uow.session.scalar(select(Event).where(Event.kind == "form.completed"))
        assert event.channel == "online"
    assert client.get(f"/forms/{request_id}").status_code == 404


def test_french_patient_gets_french_pages_and_can_switch(clinic, client) -> None:
    client.cookies.clear()
    inbox = sign_in(client, clinic.send())
    assert '<html lang="fr">' in inbox.text and "Messages" in inbox.text and "Déconnexion" in inbox.text
    english = client.get("/inbox?lang=en")
    assert '<html lang="en">' in english.text and "Sign out" in english.text
    assert '<html lang="en">' in client.get("/forms").text  # the choice sticks


def test_sign_out_ends_the_session(clinic, client) -> None:
    inbox = sign_in(client, clinic.send())
    client.post("/signout", data={"csrf": csrf_of(inbox.text)})
    assert client.get("/inbox").status_code == 404
