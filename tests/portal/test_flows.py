"""More of issue 5 over HTTP: CSRF on every form, files without a reply, the 911 notice in French,
the first view notifying the sender, the 50 MB total across two replies, the hand-over of a reply
and its file to the EMR import queue, and every page's weight (PO-7)."""

from __future__ import annotations

import email
import re
from datetime import datetime
from email import policy
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from core.db.models import Attachment, AuditEntry, FormRequest, ImportItem, Message, OutboxItem, Reply, User
from core.emr.queue import sweep
from core.messaging.attachments import MAX_FILE_BYTES
from core.outbox.worker import decode_email_payload
from tests.portal.conftest import DOB, csrf_of, sign_in
from tests.portal.test_messages import pdf_bytes

PAGE_LIMIT = 15 * 1024


def count(clinic, model, *where) -> int:  # noqa: ANN001
    with clinic.app.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where))


def test_every_form_refuses_a_forged_csrf_token_and_changes_nothing(clinic, client) -> None:
    token = clinic.send(forms=("email_consent",), allow_attachment=True)
    message_id = clinic.last_id()
    sign_in(client, token)
    with clinic.app.uow() as uow:
        form_id = uow.session.scalar(select(FormRequest.id))
    reply = client.post(f"/messages/{message_id}/reply", data={"csrf": "forged", "text": "Bonjour"},
                        files={"files": ("note.txt", b"bonjour", "text/plain")})
    missing = client.post(f"/messages/{message_id}/reply", data={"text": "Bonjour"},
                          files={"files": ("note.txt", b"bonjour", "text/plain")})
    delete = client.post(f"/messages/{message_id}/delete", data={"csrf": "forged"})
    form = client.post(f"/forms/{form_id}", data={"csrf": "forged", "full_name": "Zoé", "consents_to_email": "yes",
                                                  "consent_date": "2026-03-02"})
    sign_out = client.post("/signout", data={})
    assert [r.status_code for r in (reply, missing, delete, form, sign_out)] == [403] * 5
    assert count(clinic, Reply) == 0 and count(clinic, Attachment, Attachment.direction == "patient") == 0
    with clinic.app.uow() as uow:
        assert uow.session.get(Message, message_id).deleted_by_patient_at is None
        assert uow.session.get(FormRequest, form_id).state == "pending"
    assert client.get("/inbox").status_code == 200  # still signed in
    # the same session's token from another session does not pass either
    other = client.get("/inbox").text
    client.cookies.delete("accueil_session")
    sign_in(client, clinic.send())
    assert client.post(f"/messages/{message_id}/delete", data={"csrf": csrf_of(other)}).status_code == 403


def test_files_without_a_reply_when_only_files_were_allowed(clinic, client) -> None:
    sign_in(client, clinic.send(allow_reply=False, allow_attachment=True))
    message_id = clinic.last_id()
    page = client.get(f"/messages/{message_id}")
    assert 'name="files"' in page.text and 'name="text"' not in page.text and "911" in page.text
    text_only = client.post(f"/messages/{message_id}/reply", data={"csrf": csrf_of(page.text), "text": "Bonjour"},
                            files={"files": ("", b"", "application/octet-stream")})
    assert text_only.status_code == 400 and count(clinic, Reply) == 0
    sent = client.post(f"/messages/{message_id}/reply", data={"csrf": csrf_of(page.text)},
                       files={"files": ("scan.pdf", pdf_bytes(), "application/pdf")})
    assert sent.status_code == 200 and "Your reply was sent" in sent.text
    assert count(clinic, Attachment, Attachment.direction == "patient") == 1


def test_the_911_notice_in_french_on_the_forms_tab_and_when_replying(clinic, client) -> None:
    client.cookies.clear()  # Zoé reads French
    sign_in(client, clinic.send(forms=("email_consent",)))
    notice = "En cas d&#39;urgence, composez le 911"
    assert notice in client.get("/forms").text
    assert notice in client.get(f"/messages/{clinic.last_id()}").text
    assert notice not in client.get("/inbox").text  # where it belongs, not on every page


def test_the_first_view_notifies_the_sender_once(clinic, client) -> None:
    with clinic.app.uow(write=True) as uow:
        uow.session.execute(update(User).where(User.id == clinic.sender).values(email="h.gagnon@clinique.example"))
        uow.commit()
    token = clinic.send(notify_viewed=True)
    sign_in(client, token)
    for _ in range(2):
        client.get(f"/messages/{clinic.last_id()}")
    with clinic.app.uow() as uow:
        mails = [decode_email_payload(p, clinic.app.cipher) for p in uow.session.scalars(
            select(OutboxItem.payload).where(OutboxItem.idempotency_key.like("notify:%")))]
    assert [to for _, to, _ in mails] == ["h.gagnon@clinique.example"]
    body = email.message_from_bytes(mails[0][2], policy=policy.default).get_body(("plain",)).get_content()
    assert "A-100" in body and token not in body


def test_fifty_mb_across_two_replies_of_one_message(clinic, client) -> None:
    sign_in(client, clinic.send(allow_attachment=True))
    message_id = clinic.last_id()
    page = client.get(f"/messages/{message_id}")
    assert "50 MB left" in page.text
    five = [("files", (f"notes{n}.txt", b"a" * MAX_FILE_BYTES, "text/plain")) for n in range(5)]
    assert client.post(f"/messages/{message_id}/reply", data={"csrf": csrf_of(page.text)},
                       files=five).status_code == 200
    page = client.get(f"/messages/{message_id}")
    assert "0 MB left" in page.text
    refused = client.post(f"/messages/{message_id}/reply", data={"csrf": csrf_of(page.text)},
                          files={"files": ("one-more.txt", b"a", "text/plain")})
    assert refused.status_code == 413 and "50 MB" in refused.text
    assert count(clinic, Attachment, Attachment.direction == "patient") == 5


def test_a_reply_and_its_file_are_handed_to_the_emr_import(clinic, client) -> None:
    sign_in(client, clinic.send(allow_attachment=True))
    message_id = clinic.last_id()
    page = client.get(f"/messages/{message_id}")
    client.post(f"/messages/{message_id}/reply", data={"csrf": csrf_of(page.text), "text": "Voici le résultat."},
                files={"files": ("résultat.pdf", pdf_bytes(), "application/pdf")})
    with clinic.app.uow(write=True) as uow:
        assert sweep(uow) == 2
    with clinic.app.uow() as uow:
        items = sorted(uow.session.scalars(select(ImportItem.kind)).all())
        actions = uow.session.scalars(select(AuditEntry.action)).all()
    assert items == ["attachment", "reply"] and "message.replied" in actions


def test_every_page_is_light_and_labelled(clinic, client) -> None:
    """Each page the portal serves, HTML + its one stylesheet, stays under 15 KB (PO-7)."""
    css = len(client.get("/portal.css").content)
    token = clinic.send(forms=("health_questionnaire",), allow_attachment=True)
    pages = {"home": client.get("/"), "identity": client.get(f"/m/{token}")}
    pages["failed check"] = client.post("/check", data={"csrf": csrf_of(pages["identity"].text),
                                                        "date_of_birth": "1999-01-01"})
    pages["inbox"] = client.post("/check", data={"csrf": csrf_of(pages["identity"].text),
                                                 "date_of_birth": DOB.isoformat()})
    message_id = clinic.last_id()
    with clinic.app.uow() as uow:
        form_id = uow.session.scalar(select(FormRequest.id))
    for name, path in (("message", f"/messages/{message_id}"), ("delete", f"/messages/{message_id}/delete"),
                       ("form fr", f"/forms/{form_id}?lang=fr"), ("form", f"/forms/{form_id}?lang=en"),
                       ("forms", "/forms"), ("dead page", "/messages/999999")):
        pages[name] = client.get(path)
    pages["signed out"] = client.post("/signout", data={"csrf": csrf_of(pages["inbox"].text)})
    for _ in range(6):
        pages["locked"] = sign_in(client, "q" * 43, {"date_of_birth": "1999-01-01"})
    for name, response in pages.items():
        html = response.text
        assert len(response.content) + css <= PAGE_LIMIT, f"{name}: {len(response.content) + css} bytes"
        assert re.search(r'<html lang="(en|fr)">', html) and "<h1>" in html and "<title>" in html, name
        assert "<script" not in html and 'name="viewport"' in html, name
        for input_id in re.findall(r'<(?:input|textarea) id="([^"]+)"', html):
            assert f'for="{input_id}"' in html, f"{name}: {input_id}"
    assert "Link locked" in pages["locked"].text and "Signed out" in pages["signed out"].text


def test_a_reply_on_the_last_day_of_its_window_is_taken(clinic, client) -> None:
    last_day = datetime.now(ZoneInfo(clinic.app.settings.timezone)).date()  # the clinic's today
    sign_in(client, clinic.send(reply_until=last_day))
    message_id = clinic.last_id()
    page = client.get(f"/messages/{message_id}")
    assert f"You can reply until {last_day.isoformat()}" in page.text and "expired" not in page.text
    sent = client.post(f"/messages/{message_id}/reply", data={"csrf": csrf_of(page.text), "text": "Juste à temps."},
                       files={"files": ("", b"", "application/octet-stream")})
    assert sent.status_code == 200 and "Your reply was sent" in sent.text and count(clinic, Reply) == 1


def test_the_text_can_be_selected_to_copy_and_the_page_prints_without_controls(client) -> None:
    css = client.get("/portal.css").text
    assert "user-select" not in css  # nothing stops copying the message
    printed = css[css.index("@media print"):]
    assert ".noprint" in printed and "nav" in printed


def test_the_weblink_french_opens_the_portal_in_french(clinic, client) -> None:
    client.cookies.clear()
    token = clinic.send(clinic.emile)  # Émile reads English; the French link still gives French
    opened = client.get(f"/m/{token}?lang=fr", headers={"accept-language": "en-CA"})
    assert opened.status_code == 200 and '<html lang="fr">' in opened.text and "Date de naissance" in opened.text
    assert token not in str(opened.history[0].headers)
