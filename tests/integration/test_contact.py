"""The "fix this address" list on both backends: a 5.1.1 bounce flags the address, the list shows it
with the bounced message, a correction clears the flag and can send the same email to the new address
once; the patient's message history shows each message's state."""

from __future__ import annotations

from datetime import date
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select

from core.db.models import AuditEntry, Message, OutboxItem, Patient
from core.errors import InvalidInput
from core.licences import grant_licence
from core.messaging.compose import Draft, send_draft
from core.outbox import queue
from core.outbox.worker import decode_email_payload
from core.patients.contact import bad_addresses, correct_email, patient_messages
from core.patients.keys import fold
from core.users import add_user


@pytest.fixture
def bounced(app):
    """Hélène D'Amours-Lévesque's email bounced with 550 5.1.1; Noël Côté's was delivered."""
    with app.uow(write=True) as uow:
        for chart, last, first, address in (("200", "D'Amours-Lévesque", "Hélène", "helene@exemple.invalid"),
                                            ("201", "Côté", "Noël", "noel.cote@example.com")):
            uow.session.add(Patient(chart_id=chart, last_name=last, first_name=first, last_key=fold(last),
                                    first_key=fold(first), email=address, email_consent=True, language="fr",
                                    date_of_birth=date(1970, 6, 1)))
        uow.commit()
    with app.uow() as uow:
        ids = list(uow.session.scalars(select(Patient.id).order_by(Patient.chart_id)))
    with app.uow(write=True) as uow:  # an EMR sender needs an active licence in the clinic (MS-7)
        add_user(uow, username="dre.gagne", display_name="Dre Lucie Gagné", role="provider", password=None)
    with app.uow(write=True) as uow:
        grant_licence(uow, "dre.gagne")
    with app.uow(write=True) as uow:
        result = send_draft(uow, Draft(patient_ids=tuple(ids), subject="Vos résultats", salutation="Bonjour,",
                                       body_html="<p>Lien : [weblink]</p>", sender_emr_name="dr.emr"),
                            settings=app.settings, cipher=app.cipher)
    items = {item.message_id: item for item in queue.claim(app, worker_id="test", limit=10)}
    helene_message, noel_message = result.message_ids
    assert queue.mark_failed(app, items[helene_message], "550 5.1.1 <helene@exemple.invalid>: no such user",
                             address_bad=True)
    assert queue.mark_sent(app, items[noel_message])
    return ids, helene_message


def test_the_list_shows_the_bounced_address_and_message(app, bounced) -> None:
    (helene, _noel), message_id = bounced
    with app.uow(write=True) as uow:
        listed = bad_addresses(uow)
    assert [(b.patient_id, b.email, b.message_id, b.subject) for b in listed] == [
        (helene, "helene@exemple.invalid", message_id, "Vos résultats")]
    assert "5.1.1" in (listed[0].error or "") and "helene@" not in (listed[0].error or "")
    with app.uow() as uow:  # the list view is in the audit trail
        assert uow.session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "patient.list.bad-addresses")) \
            == {"patients": [helene]}


def test_correcting_clears_the_flag_and_resends_once_to_the_new_address(app, bounced) -> None:
    (helene, _noel), message_id = bounced
    with app.uow(write=True) as uow:
        correct_email(uow, helene, " helene.damours@example.org ", cipher=app.cipher, requeue_message_id=message_id)
    with app.uow(write=True) as uow:
        assert bad_addresses(uow) == []
    with app.uow() as uow:
        patient = uow.session.get(Patient, helene)
        assert patient.email == "helene.damours@example.org" and patient.email_bad_at is None
        message = uow.session.get(Message, message_id)
        assert message.delivery_state == "queued" and message.to_address == "helene.damours@example.org"
        items = uow.session.scalars(select(OutboxItem).where(OutboxItem.message_id == message_id)
                                    .order_by(OutboxItem.id)).all()
        assert [item.state for item in items] == ["failed", "pending"]
        sender, to, raw = decode_email_payload(items[1].payload, app.cipher)
        _old_sender, _old_to, old_raw = decode_email_payload(items[0].payload, app.cipher)
        email = message_from_bytes(raw, policy=policy.default)
        assert to == email["To"] == "helene.damours@example.org"
        assert email["Message-ID"] == message_from_bytes(old_raw, policy=policy.default)["Message-ID"]
        actions = list(uow.session.scalars(select(AuditEntry.action).where(AuditEntry.patient_id == helene)))
        assert "patient.email.correct" in actions and "message.resend-corrected-address" in actions
    # A second correction of the same message finds it queued, not failed: refused, nothing queued twice.
    with app.uow(write=True) as uow, pytest.raises(InvalidInput):
        correct_email(uow, helene, "helene.damours@example.org", cipher=app.cipher, requeue_message_id=message_id)


def test_a_bad_address_is_refused_and_nothing_changes(app, bounced) -> None:
    (helene, _noel), _message_id = bounced
    with app.uow(write=True) as uow, pytest.raises(InvalidInput):
        correct_email(uow, helene, "helene at example", cipher=app.cipher)
    with app.uow(write=True) as uow:
        assert [b.patient_id for b in bad_addresses(uow)] == [helene]


def test_message_history_states(app, bounced) -> None:
    (helene, noel), message_id = bounced
    with app.uow() as uow:
        total, lines = patient_messages(uow.session, helene)
        assert total == 1 and [(line.id, line.state) for line in lines] == [(message_id, "failed")]
        _total, lines = patient_messages(uow.session, noel)
        assert lines[0].state == "sent"
