"""A patient's reply refused because the site key was rotated by another process while it was being sent
(after the message was read, before the reply was saved): the portal answers a generic "try again" page,
stores nothing under the old key, and the next try is saved under the new key."""

from __future__ import annotations

import getpass

import pytest
from sqlalchemy import select

import core.bootstrap
import portal.views
from core.bootstrap import bootstrap
from core.crypto import write_key_file
from core.db.models import Reply
from core.settings import Settings
from core.site_key import rotate
from core.users import add_user
from tests.integration.key_clinic import NEW_KEY, OLD_KEY, key_file_settings
from tests.portal.conftest import csrf_of, sign_in
from tests.portal.test_messages import pdf_bytes


@pytest.fixture
def settings(settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The clinic's key in a key file (a key from the environment is not rotated); the portal does not look
    at the key check again by itself during the test, so the rotation lands between two looks."""
    monkeypatch.setattr(core.bootstrap, "KEY_RECHECK_SECONDS", 3600.0)
    write_key_file(settings.resolved_key_file(), OLD_KEY)
    return key_file_settings(settings)


def test_a_reply_refused_by_a_key_change_gets_a_try_again_page(clinic, client, monkeypatch) -> None:
    sign_in(client, clinic.send(allow_attachment=True))
    message_id = clinic.last_id()
    csrf = csrf_of(client.get(f"/messages/{message_id}").text)
    admin = bootstrap(clinic.app.settings, actor=getpass.getuser())  # an administrator's session elsewhere
    try:
        with admin.uow(write=True) as uow:
            add_user(uow, username="adele", display_name="Adèle Admin", role="administrator", password=None,
                     email="adele@clinic.example", os_user=getpass.getuser())
        inspect = portal.views.inspect

        def rotated_meanwhile(name: str, data: bytes):  # noqa: ANN202 - the real check, the rotation during it
            rotate(admin, NEW_KEY)
            monkeypatch.setattr(portal.views, "inspect", inspect)
            return inspect(name, data)

        monkeypatch.setattr(portal.views, "inspect", rotated_meanwhile)
        reply = {"csrf": csrf, "text": "Merci docteur."}
        files = {"files": ("résultat.pdf", pdf_bytes(), "application/pdf")}
        refused = client.post(f"/messages/{message_id}/reply", data=reply, files=files, follow_redirects=False)
        assert refused.status_code == 503 and "Please try again" in refused.text
        assert "Merci" not in refused.text
        with admin.uow() as uow:
            assert uow.session.scalars(select(Reply.id)).all() == []
        again = client.post(f"/messages/{message_id}/reply", data=reply, files=files, follow_redirects=False)
        assert again.status_code == 303
        with admin.uow() as uow:
            blob = uow.session.scalar(select(Reply.body_ciphertext))
        assert admin.cipher.decrypt_text(bytes(blob), context="reply") == "Merci docteur."
    finally:
        admin.dispose()
