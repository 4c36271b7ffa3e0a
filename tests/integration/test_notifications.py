"""MS-6 on both backends: the seed's four scenarios, delegates, EMR senders, no-response; the portal's calls."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from core.db.models import (
    DelegateEmail,
    Event,
    FormRequest,
    Notification,
    OutboxItem,
    Patient,
    Reply,
    Site,
    User,
)
from core.errors import InvalidInput
from core.licences import grant_licence
from core.messaging.compose import Draft, MessageOptions, send_draft
from core.messaging.eforms import FormAnswerError
from core.messaging.notifications import check_no_response
from core.messaging.patient_actions import ReplyNotAllowed, record_form_completed, record_reply, record_viewed
from core.users import add_user


@pytest.fixture
def clinic(app):
    with app.uow(write=True) as uow:
        uow.session.execute(insert(Patient), [{
            "chart_id": "900", "last_name": "Bélanger", "first_name": "Noémie", "last_key": "belanger",
            "first_key": "noemie", "email": "noemie@example.com", "email_consent": True, "language": "fr",
            "date_of_birth": date(1992, 4, 4)}])
        uow.commit()
    for name, mail in (("usera", "a@clinique.example.org"), ("userb", "b@clinique.example.org")):
        with app.uow(write=True) as uow:
            add_user(uow, username=name, display_name=name.upper(), role="provider", password=None, email=mail)
        with app.uow(write=True) as uow:
            grant_licence(uow, name)
    with app.uow() as uow:
        ids = {u.username: u.id for u in uow.session.scalars(select(User))}
        patient_id = uow.session.scalar(select(Patient.id))
    return app, patient_id, ids


def send(app, patient_id, user_id, *, forms=(), **options) -> int:
    draft = Draft(patient_ids=(patient_id,), subject="Message", salutation="Bonjour @ptFirstName,",
                  body_html="Voir [weblink]", secure_message="Contenu", eform_codes=forms, sender_user_id=user_id,
                  options=MessageOptions(**options))
    with app.uow(write=True) as uow:
        return send_draft(uow, draft, settings=app.settings, cipher=app.cipher).message_ids[0]


def told(app) -> dict[str, int]:
    with app.uow() as uow:
        rows = uow.session.execute(select(Notification.email, Notification.kind)).all()
    counts: dict[str, int] = {}
    for address, kind in rows:
        key = f"{address.split('@')[0]}:{kind}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def view(app, *message_ids) -> int:
    with app.uow(write=True) as uow:
        return record_viewed(uow, list(message_ids), settings=app.settings, cipher=app.cipher)


def complete_all(app, message_id) -> None:
    with app.uow() as uow:
        requests = uow.session.scalars(select(FormRequest.id).where(FormRequest.message_id == message_id)).all()
    for request_id in requests:
        with app.uow(write=True) as uow:
            record_form_completed(uow, request_id, _answers(app, request_id), language="fr",
                                  settings=app.settings, cipher=app.cipher)


def _answers(app, request_id) -> dict:
    from core.db.models import EForm

    with app.uow() as uow:
        definition = uow.session.scalar(
            select(EForm.definition).join(FormRequest, FormRequest.eform_id == EForm.id)
            .where(FormRequest.id == request_id))
    answers = {}
    for field in definition["fields"]:
        if not field.get("required"):
            continue
        kind = field["type"]
        answers[field["name"]] = {
            "yes_no": "yes", "date": "2026-01-15", "number": 1, "text": "Oui", "long_text": "Rien à signaler",
            "single_choice": field.get("choices", [{}])[0].get("value"),
            "multiple_choice": [field.get("choices", [{}])[0].get("value")],
        }[kind]
    return answers


def test_viewed_in_sequence(clinic) -> None:
    app, patient, ids = clinic
    a = send(app, patient, ids["usera"], notify_viewed=True)
    assert view(app, a) == 1
    assert told(app) == {"a:viewed": 1}
    b = send(app, patient, ids["userb"], notify_viewed=True)
    view(app, a, b)  # the patient's page shows A's old message and B's new one
    assert told(app) == {"a:viewed": 1, "b:viewed": 1}
    assert view(app, a, b) == 0  # viewing again tells nobody


def test_a_notified_user_is_told_again_only_after_asking_again(clinic) -> None:
    """The seed's exception: A, already notified, hears nothing about B's content or A's own later
    message sent without a request, until A sends content with a notification requested again."""
    app, patient, ids = clinic
    a = send(app, patient, ids["usera"], notify_viewed=True)
    view(app, a)
    quiet = send(app, patient, ids["usera"])  # no notification asked this time
    b = send(app, patient, ids["userb"], notify_viewed=True)
    view(app, a, quiet, b)
    assert told(app) == {"a:viewed": 1, "b:viewed": 1}
    again = send(app, patient, ids["usera"], notify_viewed=True)
    assert view(app, a, quiet, b, again) == 1
    assert told(app) == {"a:viewed": 2, "b:viewed": 1}

def test_viewed_at_the_same_time(clinic) -> None:
    app, patient, ids = clinic
    a = send(app, patient, ids["usera"], notify_viewed=True)
    b = send(app, patient, ids["userb"], notify_viewed=True)
    assert view(app, a, b) == 2
    assert told(app) == {"a:viewed": 1, "b:viewed": 1}
    with app.uow() as uow:
        assert len(uow.session.scalars(select(Event).where(Event.kind == "message.confirmed")).all()) == 2


def test_completed_in_sequence(clinic) -> None:
    app, patient, ids = clinic
    a = send(app, patient, ids["usera"], forms=("email_consent",), notify_completed=True)
    complete_all(app, a)
    assert told(app) == {"a:completed": 1}
    b = send(app, patient, ids["userb"], forms=("email_consent",), notify_completed=True)
    complete_all(app, b)
    assert told(app) == {"a:completed": 1, "b:completed": 1}


def test_completed_at_the_same_time(clinic) -> None:
    app, patient, ids = clinic
    a = send(app, patient, ids["usera"], forms=("email_consent",), notify_completed=True)
    b = send(app, patient, ids["userb"], forms=("health_questionnaire",), notify_completed=True)
    complete_all(app, a)
    complete_all(app, b)
    assert told(app) == {"a:completed": 1, "b:completed": 1}


def test_delegates_and_emr_senders(clinic) -> None:
    app, patient, ids = clinic
    with app.uow(write=True) as uow:
        uow.session.add(DelegateEmail(user_id=ids["usera"], email="delegue@clinique.example.org"))
        uow.session.execute(update(Site).values(support_contact_email="soutien@clinique.example.org"))
        uow.commit()
    a = send(app, patient, ids["usera"], notify_viewed=True)
    draft = Draft(patient_ids=(patient,), subject="EMR", salutation="Bonjour", body_html="[weblink]",
                  sender_emr_name="Dr DMÉ", options=MessageOptions(notify_viewed=True))
    with app.uow(write=True) as uow:
        emr = send_draft(uow, draft, settings=app.settings, cipher=app.cipher).message_ids[0]
    view(app, a, emr)
    assert told(app) == {"a:viewed": 1, "delegue:viewed": 1, "soutien:viewed": 1}
    with app.uow() as uow:
        emails = uow.session.scalars(select(OutboxItem.payload).where(OutboxItem.idempotency_key.like("notify:%")))
        assert sorted(p["to"] for p in emails) == ["a@clinique.example.org", "delegue@clinique.example.org",
                                                    "soutien@clinique.example.org"]


def test_no_response_after_n_days(clinic) -> None:
    app, patient, ids = clinic
    quiet = send(app, patient, ids["usera"], allow_reply=True, notify_no_response_days=3)
    answered = send(app, patient, ids["userb"], allow_reply=True, notify_no_response_days=3)
    with app.uow(write=True) as uow:
        record_reply(uow, answered, "Merci, tout va bien.", settings=app.settings, cipher=app.cipher)
    later = datetime.now(UTC) + timedelta(days=4)
    with app.uow(write=True) as uow:
        assert check_no_response(uow.session, settings=app.settings, cipher=app.cipher, now=datetime.now(UTC)) == 0
        assert check_no_response(uow.session, settings=app.settings, cipher=app.cipher, now=later) == 1
        uow.commit()
    with app.uow(write=True) as uow:
        assert check_no_response(uow.session, settings=app.settings, cipher=app.cipher, now=later) == 0
    assert told(app) == {"a:no_response": 1}
    assert quiet


def test_reply_rules(clinic) -> None:
    app, patient, ids = clinic
    closed = send(app, patient, ids["usera"], allow_reply=True, reply_until=date(2020, 1, 1))
    no_reply = send(app, patient, ids["usera"])
    files_only = send(app, patient, ids["usera"], allow_attachment=True)
    with app.uow(write=True) as uow, pytest.raises(ReplyNotAllowed, match="expired on 2020-01-01"):
        record_reply(uow, closed, "Bonjour", settings=app.settings, cipher=app.cipher)
    with app.uow(write=True) as uow, pytest.raises(ReplyNotAllowed):
        record_reply(uow, no_reply, "Bonjour", settings=app.settings, cipher=app.cipher)
    with app.uow(write=True) as uow:  # attachments are allowed independently of replies (MS-1)
        record_reply(uow, files_only, "", [("photo.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 64)],
                     settings=app.settings, cipher=app.cipher)
    with app.uow() as uow:
        assert uow.session.scalar(select(Reply.body_ciphertext).where(Reply.message_id == files_only)) is None


def test_form_answers_are_validated_and_encrypted(clinic) -> None:
    app, patient, ids = clinic
    message = send(app, patient, ids["usera"], forms=("health_questionnaire",))
    with app.uow() as uow:
        request_id = uow.session.scalar(select(FormRequest.id).where(FormRequest.message_id == message))
    with app.uow(write=True) as uow, pytest.raises(FormAnswerError):
        record_form_completed(uow, request_id, {}, language="fr", settings=app.settings, cipher=app.cipher)
    complete_all(app, message)
    with app.uow(write=True) as uow, pytest.raises(InvalidInput, match="already completed"):
        record_form_completed(uow, request_id, _answers(app, request_id), language="fr", settings=app.settings,
                              cipher=app.cipher)
    with app.uow() as uow:
        stored = uow.session.scalar(select(FormRequest.answers_ciphertext).where(FormRequest.id == request_id))
    assert b"2026-01-15" not in stored and b"Oui" not in stored


def test_the_workers_scheduler_runs_the_no_response_check_once_per_interval(clinic) -> None:
    from core.outbox.scheduler import JOBS, Job, Scheduler

    app, patient, ids = clinic
    send(app, patient, ids["usera"], allow_reply=True, notify_no_response_days=3)
    broken = Job("broken", "core.outbox.scheduler:no_such_job", timedelta(minutes=1))
    scheduler = Scheduler(jobs=(broken, *JOBS))  # a failing job must not keep the next one from running
    later = datetime.now(UTC) + timedelta(days=4)
    assert scheduler.run_due(app, later) == 1
    assert scheduler.run_due(app, later + timedelta(minutes=1)) == 0  # not due again yet
    assert Scheduler().run_due(app, later + timedelta(minutes=10)) == 0  # a fresh worker: nothing twice
    assert told(app) == {"a:no_response": 1}
