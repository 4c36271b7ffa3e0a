"""MS-1/MS-4 on both backends: one email and one link per patient, encrypted content, events, outbox."""

from __future__ import annotations

import email
import hashlib
import re
from datetime import UTC, date, datetime
from email import policy

import pytest
from sqlalchemy import insert, select

from core.db.models import Event, FormRequest, Message, OutboxItem, Patient, SecureContent
from core.errors import InvalidInput
from core.licences import NotAllowedToSend, grant_licence
from core.messaging.compose import Draft, MessageOptions, preview_draft, send_draft
from core.outbox.worker import decode_email_payload
from core.patients.keys import fold
from core.users import add_user

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def patient(chart: str, last: str, first: str, email_address: str | None, consent: bool = True,
            bad: bool = False, language: str = "fr") -> dict:
    return {"chart_id": chart, "last_name": last, "first_name": first, "last_key": fold(last),
            "first_key": fold(first), "email": email_address, "email_consent": consent, "language": language,
            "date_of_birth": date(1980, 1, 1), "email_bad_at": NOW if bad else None}


@pytest.fixture
def clinic(app):
    with app.uow(write=True) as uow:
        uow.session.execute(insert(Patient), [
            patient("1", "Côté", "Zoé", "famille.cote@example.com"),
            patient("2", "Côté", "Émile", "famille.cote@example.com"),  # same family mailbox
            patient("3", "O'Neil", "Margaret", None, language="en"),
            patient("4", "St-Pierre", "Luc", "luc@example.org", consent=False),
            patient("5", "Leblanc", "Ginette", "g@example.net", bad=True),
        ])
        uow.commit()
    with app.uow(write=True) as uow:
        add_user(uow, username="drtremblay", display_name="Dre Hélène Tremblay", role="provider", password=None)
    with app.uow(write=True) as uow:
        grant_licence(uow, "drtremblay")
    with app.uow() as uow:
        ids = list(uow.session.scalars(select(Patient.id).order_by(Patient.chart_id)))
        sender = uow.session.scalar(select(Message.id))  # none yet
        assert sender is None
        from core.db.models import User
        user_id = uow.session.scalar(select(User.id).where(User.username == "drtremblay"))
    return app, ids, user_id


def draft(ids, user_id, **changes) -> Draft:
    base = dict(patient_ids=tuple(ids), subject="Message de la clinique", salutation="Bonjour @ptFirstName,",
                body_html="<p>Un message vous attend : [weblink]</p><script>alert(1)</script>",
                secure_message="Vos résultats sont normaux.", sender_user_id=user_id,
                options=MessageOptions(allow_reply=True, notify_viewed=True))
    return Draft(**{**base, **changes})


def test_preview_counts_skips_and_renders_first_recipient(clinic) -> None:
    app, ids, user_id = clinic
    with app.uow() as uow:
        preview = preview_draft(uow, draft(ids, user_id), settings=app.settings)
    assert preview.recipients == 2
    assert sorted(s.reason for s in preview.skipped) == ["bad_email", "no_email", "no_email_consent"]
    assert "Bonjour Zoé," in preview.first.text
    assert "<script" not in preview.first.html
    assert "Clinique synthétique du Plateau" in preview.from_header


def test_shared_mailbox_gets_two_emails_with_two_links(clinic) -> None:
    app, ids, user_id = clinic
    with app.uow(write=True) as uow:
        result = send_draft(uow, draft(ids, user_id), settings=app.settings, cipher=app.cipher)
    assert len(result.message_ids) == 2 and len(result.skipped) == 3
    with app.uow() as uow:
        messages = uow.session.scalars(select(Message).order_by(Message.id)).all()
        outbox = uow.session.scalars(select(OutboxItem).order_by(OutboxItem.id)).all()
        contents = uow.session.scalars(select(SecureContent)).all()
        links = []
        for message, item in zip(messages, outbox, strict=True):
            assert item.message_id == message.id and item.state == "pending"
            assert item.payload["to"] == "famille.cote@example.com"
            _, _, raw = decode_email_payload(item.payload, app.cipher)
            mail = email.message_from_bytes(raw, policy=policy.default)
            assert mail["Message-ID"] == message.message_id_header
            assert mail.get_content_type() == "multipart/alternative"
            text = mail.get_body(("plain",)).get_content()
            token = re.search(r"/m/([A-Za-z0-9_-]{43})", text).group(1)
            assert hashlib.sha256(token.encode()).digest() == message.token_hash
            assert token not in message.body_html + message.body_text + str(item.payload)
            links.append(token)
        assert links[0] != links[1]
        for content in contents:
            assert b"normaux" not in content.ciphertext
            assert app.cipher.decrypt_text(content.ciphertext, context="secure_content") == "Vos résultats sont normaux."


def test_events_per_report_rules(clinic) -> None:
    app, ids, user_id = clinic
    with app.uow(write=True) as uow:
        send_draft(uow, draft(ids[:1], user_id, eform_codes=("email_consent", "health_questionnaire")),
                   settings=app.settings, cipher=app.cipher)
        send_draft(uow, draft(ids[1:2], user_id), settings=app.settings, cipher=app.cipher)
    with app.uow() as uow:
        kinds = sorted(uow.session.scalars(select(Event.kind)))
        forms = uow.session.scalar(select(FormRequest.id).limit(1))
    assert kinds == ["form.sent", "form.sent", "link.created", "link.created", "message.sent"]
    assert forms is not None


def test_nothing_is_written_when_a_placeholder_cannot_be_filled(clinic) -> None:
    app, ids, user_id = clinic
    for bad in ("Rendez-vous le @apptDate", "Bonjour @ptNickname"):
        with app.uow(write=True) as uow, pytest.raises(InvalidInput):
            send_draft(uow, draft(ids, user_id, salutation=bad), settings=app.settings, cipher=app.cipher)
    with app.uow() as uow:
        assert uow.session.scalar(select(Message.id)) is None
        assert uow.session.scalar(select(OutboxItem.id)) is None


def test_unlicensed_sender_is_refused(clinic) -> None:
    app, ids, _ = clinic
    with app.uow(write=True) as uow:
        member = add_user(uow, username="drsansl", display_name="Dr Sans Licence", role="provider", password=None)
    with app.uow(write=True) as uow, pytest.raises(NotAllowedToSend, match="licence"):
        send_draft(uow, draft(ids, member.id), settings=app.settings, cipher=app.cipher)


def test_emr_user_without_account_is_warned_about_notifications(clinic) -> None:
    app, ids, _ = clinic
    with app.uow() as uow:
        preview = preview_draft(uow, draft(ids, None, sender_emr_name="Dr EMR"), settings=app.settings)
    assert preview.warnings and "support contact" in preview.warnings[0]


def test_bad_options_are_named(clinic) -> None:
    app, ids, user_id = clinic
    options = MessageOptions(identity_checks=("password",))
    with app.uow() as uow, pytest.raises(InvalidInput, match="needs the password"):
        preview_draft(uow, draft(ids, user_id, options=options), settings=app.settings)


def test_worker_command_delivers_to_the_local_mailbox(clinic, monkeypatch) -> None:
    from accueil.cli import main

    app, ids, user_id = clinic
    with app.uow(write=True) as uow:
        send_draft(uow, draft(ids, user_id), settings=app.settings, cipher=app.cipher)
    monkeypatch.setenv("ACCUEIL_DATABASE_URL", app.settings.resolved_database_url())
    monkeypatch.setenv("ACCUEIL_DATA_DIR", str(app.settings.resolved_data_dir()))
    monkeypatch.setenv("ACCUEIL_SITE_KEY", app.settings.site_key)
    assert main(["worker", "--once"]) == 0
    mails = sorted((app.settings.resolved_data_dir() / "mailbox").glob("*.eml"))
    assert len(mails) == 2
    parsed = email.message_from_bytes(mails[0].read_bytes(), policy=policy.default)
    assert parsed["To"] == "famille.cote@example.com"
    with app.uow() as uow:
        assert set(uow.session.scalars(select(Message.delivery_state))) == {"sent"}


def test_message_send_command_for_emr_integrations(clinic, capsys, monkeypatch) -> None:
    from accueil.cli import main

    app, _, _ = clinic
    monkeypatch.setenv("ACCUEIL_DATABASE_URL", app.settings.resolved_database_url())
    monkeypatch.setenv("ACCUEIL_SITE_KEY", app.settings.site_key)
    base = ["message", "send", "--template", "Défaut - message sécurisé"]
    assert main(base + ["--patient", "1", "--as", "drtremblay"]) == 0
    assert main(base + ["--patient", "2", "--as-emr-user", "Dr DMÉ"]) == 0
    assert main(base + ["--patient", "3", "--as", "drtremblay"]) == 1  # no email address
    assert main(base + ["--patient", "404", "--as", "drtremblay"]) == 2
    err = capsys.readouterr().err
    assert "no email" in err and "No patient with chart ID 404" in err
    with app.uow() as uow:
        senders = uow.session.execute(select(Message.sender_user_id, Message.sender_emr_name)
                                      .order_by(Message.id)).all()
    assert senders[1] == (None, "Dr DMÉ") and senders[0][0] is not None


def test_a_patient_picked_twice_gets_one_message(clinic) -> None:
    app, ids, user_id = clinic
    with app.uow(write=True) as uow:
        result = send_draft(uow, draft([ids[0], ids[0]], user_id), settings=app.settings, cipher=app.cipher)
    assert len(result.message_ids) == 1
    assert "normaux" not in repr(draft(ids, user_id))  # secure content never shows in a repr or traceback
