"""Two gaps closed on both backends: a [weblink] in the subject, and MS-7 for `--as-emr-user`."""

from __future__ import annotations

import email
import hashlib
from datetime import date
from email import policy

import pytest
from sqlalchemy import insert, select

from accueil.cli import main
from core.db.models import Message, OutboxItem, Patient, User
from core.licences import enable_support_staff, grant_licence
from core.messaging.compose import Draft, send_draft
from core.outbox.worker import decode_email_payload
from core.patients.keys import fold
from core.users import add_user


def use(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCUEIL_DATABASE_URL", settings.resolved_database_url())
    monkeypatch.setenv("ACCUEIL_CONFIG_DIR", str(settings.resolved_config_dir()))
    monkeypatch.setenv("ACCUEIL_DATA_DIR", str(settings.resolved_data_dir()))
    monkeypatch.setenv("ACCUEIL_SITE_KEY", settings.site_key)


@pytest.fixture
def clinic(app):
    with app.uow(write=True) as uow:
        uow.session.execute(insert(Patient), [{
            "chart_id": "77", "last_name": "D'Amours-Bélanger", "first_name": "Anaïs", "last_key": fold("D'Amours"),
            "first_key": fold("Anaïs"), "email": "anais@example.org", "email_consent": True, "language": "fr",
            "date_of_birth": date(1979, 5, 4)}])
        add_user(uow, username="drgagne", display_name="Dre Lucie Gagné", role="provider", password=None)
        for n in range(3):
            add_user(uow, username=f"moa{n}", display_name=f"Secrétaire {n}", role="moa", password=None)
    return app


def test_weblink_in_the_subject_carries_the_token_and_is_redacted_in_the_copy(clinic) -> None:
    with clinic.uow(write=True) as uow:
        grant_licence(uow, "drgagne")
    with clinic.uow() as uow:
        patient_id = uow.session.scalar(select(Patient.id))
        sender = uow.session.scalar(select(User.id).where(User.username == "drgagne"))
    draft = Draft(patient_ids=(patient_id,), subject="Votre lien : [weblink]", salutation="Bonjour @ptFirstName,",
                  body_html="<p>Voir [weblink]</p>", sender_user_id=sender)
    with clinic.uow(write=True) as uow:
        [message_id] = send_draft(uow, draft, settings=clinic.settings, cipher=clinic.cipher).message_ids
    with clinic.uow() as uow:
        message = uow.session.get(Message, message_id)
        payload = uow.session.scalar(select(OutboxItem.payload).where(OutboxItem.message_id == message_id))
        stored_subject, token_hash = message.subject, message.token_hash
    _from, _to, raw = decode_email_payload(payload, clinic.cipher)
    subject = email.message_from_bytes(raw, policy=policy.default)["Subject"]
    token = subject.rsplit("/m/", 1)[1]
    assert "LINK-" not in subject and hashlib.sha256(token.encode()).digest() == token_hash
    assert token not in stored_subject and "[secure link]" in stored_subject


def test_emr_sender_needs_a_licence_with_a_free_support_place(clinic, settings, monkeypatch, capsys) -> None:
    use(settings, monkeypatch)
    command = ["message", "send", "--patient", "77", "--template", "Défaut - message sécurisé",
               "--as-emr-user", "Réception, poste 2"]
    assert main(command) == 2
    assert "no licence is active" in capsys.readouterr().err
    with clinic.uow(write=True) as uow:
        licence = grant_licence(uow, "drgagne")
    for n in range(3):
        with clinic.uow(write=True) as uow:
            enable_support_staff(uow, licence, f"moa{n}")
    assert main(command) == 2
    err = capsys.readouterr().err
    assert "the licence of Dre Lucie Gagné" in err and "3 support staff" in err
    with clinic.uow() as uow:
        assert uow.session.scalar(select(Message.id)) is None
    with clinic.uow(write=True) as uow:
        uow.session.execute(User.__table__.update().where(User.username == "moa2").values(enabled_by_licence_id=None))
        uow.commit()
    assert main(command) == 0, capsys.readouterr().err
    with clinic.uow() as uow:
        assert uow.session.scalar(select(Message.sender_emr_name)) == "Réception, poste 2"
