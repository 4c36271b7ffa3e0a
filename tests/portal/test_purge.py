"""PT-6 purge: every link and session dies at once, portal copies go, the EMR side stays, a fresh start."""

from __future__ import annotations

import re
import warnings

from sqlalchemy import select

from core.db.models import Attachment, AuditEntry, FormRequest, Patient, Reply, SecureContent
from core.portal.purge import purge_patient
from portal.app import create_app
from tests.portal.conftest import csrf_of, sign_in
from tests.portal.test_messages import pdf_bytes

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def same_page(one: str, other: str) -> bool:
    """The same page but for the language switch, which links back to the path asked for."""
    def strip(html: str) -> str:
        return re.sub(r'href="[^"]*\?lang=\w+"', "", html)
    return strip(one) == strip(other)


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
    # Someone else has the unread link's identity form open when the purge happens.
    late_client = TestClient(create_app(clinic.app), base_url="http://testserver", cookies={"lang": "en"})
    late_form = late_client.get(f"/m/{unread_token}")
    assert 'name="date_of_birth"' in late_form.text

    with clinic.app.uow(write=True) as uow:
        result = purge_patient(uow, clinic.zoe)
    assert (result.links, result.sessions, result.secure_texts, result.files, result.forms) == (2, 1, 2, 1, 1)

    session_page = client.get("/inbox")  # the old session: refused at once, the generic page
    assert session_page.status_code == 404 and "no longer available" in session_page.text
    assert client.get(f"/messages/{read_id}").status_code == 404
    for token in (read_token, unread_token):  # the old links: the same generic page, no identity form
        opened = client.get(f"/m/{token}")
        assert opened.status_code == 404 and same_page(opened.text, session_page.text)
        assert 'name="date_of_birth"' not in opened.text
    # The form opened before the purge and sent after it: the same page, even with the right date.
    late = late_client.post("/check", data={"csrf": csrf_of(late_form.text), "date_of_birth": "1984-02-29"})
    assert late.status_code == 404 and same_page(late.text, session_page.text)
    assert "accueil_session" not in client.cookies and "accueil_session" not in late_client.cookies
    late_client.close()

    with clinic.app.uow() as uow:
        assert uow.session.get(SecureContent, unread_id).ciphertext is None
        assert uow.session.get(SecureContent, read_id).ciphertext is None  # read or not: no reader is left
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
    assert "You have no forms to fill." in client.get("/forms").text  # an empty forms queue
    with clinic.app.uow() as uow:
        assert uow.session.get(Patient, clinic.zoe).portal_reference not in (None, old_reference)
