"""A clinic whose site key lives in a key file, with one encrypted blob in every protected column."""

from __future__ import annotations

import base64
import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select

from core.bootstrap import Accueil, bootstrap
from core.crypto import SiteCipher, write_key_file
from core.db.models import (
    Attachment,
    ChartEntry,
    EForm,
    FormRequest,
    Message,
    OutboxItem,
    Patient,
    Reply,
    SecureContent,
)  # fmt: skip
from core.encrypted_columns import PROTECTED, Protected
from core.outbox.queue import enqueue
from core.outbox.worker import email_payload
from core.settings import Settings
from core.site import init_site
from core.users import add_user

OLD_KEY = "Old-Clinic-Key-2024!"
NEW_KEY = "New-Clinic-Key-2026?"
ADMIN = "adele"


def key_file_settings(settings: Settings) -> Settings:
    """The test settings with the key in a key file instead of ACCUEIL_SITE_KEY."""
    return replace(settings, site_key=None)


@contextmanager
def key_clinic(settings: Settings, *, messages: int = 3) -> Iterator[Accueil]:
    """The clinic (key file OLD_KEY), an administrator mapped to this OS user, ``messages`` messages each
    with a blob in every protected column, and an email in the outbox."""
    write_key_file(settings.resolved_key_file(), OLD_KEY)
    setup = bootstrap(settings, require_site=False, actor="test-runner")
    with setup.uow(write=True) as uow:
        init_site(uow, settings, name="Clinique des clés", admin_email="admin@clinic.example")
    setup.dispose()
    app = bootstrap(settings, actor=getpass.getuser())
    try:
        with app.uow(write=True) as uow:
            add_user(uow, username=ADMIN, display_name="Adèle Admin", role="administrator", password=None,
                     email="adele@clinic.example", os_user=getpass.getuser())
        fill(app, messages)
        yield app
    finally:
        app.dispose()


def fill(app: Accueil, count: int, start: int = 0) -> None:
    cipher = app.cipher
    with app.uow(write=True) as uow:
        session = uow.session
        eform_id = session.scalars(select(EForm.id)).first()
        for n in range(start, start + count):
            patient = Patient(chart_id=f"K{n}", last_name="Clé", first_name=f"P{n}", last_key="cle",
                              first_key=f"p{n}")
            session.add(patient)
            session.flush()
            message = Message(patient_id=patient.id, kind="secure_message", to_address=f"p{n}@example.com",
                              subject="s", body_html="", body_text="", message_id_header=f"<k{n}@test>")
            session.add(message)
            session.flush()
            session.add(SecureContent(message_id=message.id, ciphertext=cipher.encrypt_text(
                f"secret {n}", context="secure_content")))
            reply = Reply(message_id=message.id, body_ciphertext=cipher.encrypt_text(f"reply {n}", context="reply"))
            session.add(reply)
            session.flush()
            session.add(Attachment(message_id=message.id, reply_id=reply.id, direction="patient",
                                   display_name="a.pdf", extension="pdf", content_type="application/pdf", size=4,
                                   sha256=b"\0" * 32, ciphertext=cipher.encrypt(b"%PDF", context="attachment")))
            if eform_id is not None:
                session.add(FormRequest(message_id=message.id, eform_id=eform_id, state="completed",
                                        answers_ciphertext=cipher.encrypt_text('{"a": 1}', context="form_answers")))
            session.add(ChartEntry(patient_id=patient.id, kind="document", title="t", source_key=f"k{n}",
                                   body_ciphertext=cipher.encrypt_text(f"note {n}", context="chart_entry"),
                                   document_ciphertext=cipher.encrypt(b"doc", context="chart_document")))
            enqueue(session, kind="email", idempotency_key=f"key-test:{n}",
                    payload=email_payload(sender="noreply@x.example", to=f"p{n}@example.com",
                                          message_bytes=f"mail {n}".encode(), cipher=cipher))
        uow.commit()


def blobs(app: Accueil, target: Protected) -> list[bytes]:
    from core.db.models import Base

    table = Base.metadata.tables[target.table]
    column = table.c[target.column]
    with app.uow() as uow:
        values = uow.session.scalars(select(column).where(column.is_not(None))).all()
    if target.json_key is None:
        return [bytes(v) for v in values]
    return [base64.b64decode(v[target.json_key]) for v in values if isinstance(v, dict) and target.json_key in v]


def readable(app: Accueil, cipher: SiteCipher) -> dict[str, int]:
    """How many blobs of each column ``cipher`` decrypts (raises if one does not)."""
    return {target.target: sum(1 for blob in blobs(app, target) if cipher.decrypt(blob, context=target.context)
                               is not None) for target in PROTECTED}


def counts(app: Accueil) -> dict[str, int]:
    return {target.target: len(blobs(app, target)) for target in PROTECTED}


def outbox_count(app: Accueil) -> int:
    with app.uow() as uow:
        return len(uow.session.scalars(select(OutboxItem.id)).all())


def key_path(settings: Settings) -> Path:
    return settings.resolved_key_file()
