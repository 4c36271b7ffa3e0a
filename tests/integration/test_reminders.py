"""MS-9 on both backends: reminder rules, the scheduled job (once per appointment, even with two
workers), the patient's language, tomorrow's preview, the test mode and the CLI."""

from __future__ import annotations

import email
import threading
from datetime import UTC, date, datetime
from email import policy

import pytest
from sqlalchemy import insert, select

from accueil.cli import main
from core.db.models import Appointment, Message, OutboxItem, Patient, Provider, ReminderSent, User
from core.errors import InvalidInput
from core.licences import grant_licence
from core.messaging.reminder_preview import preview_reminders, send_test_reminders
from core.messaging.reminders import add_rule, list_rules, remove_rule, run_reminders
from core.outbox.scheduler import Scheduler
from core.outbox.worker import decode_email_payload
from core.patients.keys import fold
from core.users import add_user

NOW = datetime(2026, 3, 9, 13, 0, tzinfo=UTC)  # Monday 9:00 in Toronto (EDT)
SEND_DAY = date(2026, 3, 9)  # reminders sent today for tomorrow's appointments (one day before)


def person(chart: str, last: str, first: str, language: str, email_address: str | None) -> dict:
    return {"chart_id": chart, "last_name": last, "first_name": first, "last_key": fold(last),
            "first_key": fold(first), "language": language, "email": email_address, "email_consent": True,
            "date_of_birth": date(1970, 1, 1)}


@pytest.fixture
def clinic(app):
    with app.uow(write=True) as uow:
        add_user(uow, username="drbelanger", display_name="Dre Josée Bélanger", role="provider", password=None,
                 email="josee@clinique.example.org")
    with app.uow(write=True) as uow:
        grant_licence(uow, "drbelanger")
    with app.uow(write=True) as uow:
        session = uow.session
        user_id = session.scalar(select(User.id).where(User.username == "drbelanger"))
        session.execute(insert(Provider), [{"emr_id": "PR1", "display_name": "Dre Josée Bélanger", "user_id": user_id},
                                           {"emr_id": "PR2", "display_name": "Dr Marc-André Roy", "user_id": None}])
        session.execute(insert(Patient), [person("1", "Côté", "Zoé", "fr", "zoe@example.org"),
                                          person("2", "O'Neil", "Margaret", "en", "maggie@example.org"),
                                          person("3", "Gagnon", "Léa", "fr", None),
                                          person("4", "Roy-Lefebvre", "Éric", "fr", "eric@example.org")])
        ids = dict(session.execute(select(Patient.chart_id, Patient.id)).all())
        pr = dict(session.execute(select(Provider.emr_id, Provider.id)).all())
        session.execute(insert(Appointment), [
            {"patient_id": ids["1"], "provider_id": pr["PR1"], "starts_at": datetime(2026, 3, 10, 18, 30, tzinfo=UTC),
             "kind": "visit", "location": "Salle 3, 2e étage", "status": "booked"},
            {"patient_id": ids["2"], "provider_id": pr["PR1"], "starts_at": datetime(2026, 3, 10, 13, 0, tzinfo=UTC),
             "kind": "visit", "location": None, "status": "booked"},
            {"patient_id": ids["3"], "provider_id": pr["PR1"], "starts_at": datetime(2026, 3, 10, 15, 0, tzinfo=UTC),
             "kind": "visit", "status": "booked"},
            {"patient_id": ids["4"], "provider_id": pr["PR2"], "starts_at": datetime(2026, 3, 10, 16, 0, tzinfo=UTC),
             "kind": "visit", "status": "booked"},
            {"patient_id": ids["1"], "provider_id": pr["PR1"], "starts_at": datetime(2026, 3, 12, 16, 0, tzinfo=UTC),
             "kind": "vaccination", "status": "booked"},
            {"patient_id": ids["2"], "provider_id": pr["PR1"], "starts_at": datetime(2026, 3, 10, 17, 0, tzinfo=UTC),
             "kind": "visit", "status": "cancelled"},
        ])
        uow.commit()
    return app


def day_before(app, **changes) -> int:
    arguments = dict(name="La veille", days_before=1, template="Défaut - rappel de rendez-vous",
                     alt_template="Default - appointment reminder")
    with app.uow(write=True) as uow:
        return add_rule(uow, **{**arguments, **changes})


def emails(app) -> dict[str, email.message.EmailMessage]:
    with app.uow() as uow:
        payloads = uow.session.scalars(select(OutboxItem.payload)).all()
    found = {}
    for payload in payloads:
        _from, to, raw = decode_email_payload(payload, app.cipher)
        found[to] = email.message_from_bytes(raw, policy=policy.default)
    return found


def test_preview_lists_tomorrows_reminders_with_what_will_happen(clinic) -> None:
    day_before(clinic)
    with clinic.uow(write=True) as uow:
        rows = preview_reminders(uow, SEND_DAY, settings=clinic.settings)
    assert [(row.chart_id, row.status) for row in rows] == [
        ("2", "will_send"), ("3", "no_email"), ("4", "provider_unlicensed"), ("1", "will_send")]
    assert rows[0].template == "Default - appointment reminder" and rows[3].template.startswith("Défaut")
    assert rows[3].starts_at.hour == 14 and rows[3].starts_at.minute == 30  # clinic time
    with clinic.uow(write=True) as uow:
        assert preview_reminders(uow, date(2026, 3, 8), settings=clinic.settings) == []


def test_job_sends_once_in_the_patients_language(clinic) -> None:
    rule_id = day_before(clinic)
    assert run_reminders(clinic, NOW) == 2
    assert run_reminders(clinic, NOW) == 0
    sent = emails(clinic)
    assert set(sent) == {"zoe@example.org", "maggie@example.org"}
    french = sent["zoe@example.org"].get_body(("plain",)).get_content()
    assert "mardi 10 mars 2026" in french and "14 h 30" in french and "Salle 3, 2e étage" in french
    assert "Dre Josée Bélanger" in french
    assert sent["zoe@example.org"]["Subject"] == "Votre rendez-vous du mardi 10 mars 2026"
    english = sent["maggie@example.org"].get_body(("plain",)).get_content()
    assert "Tuesday, March 10, 2026" in english and "9:00 AM" in english
    assert "Clinique synthétique du Plateau" in english  # no location: the clinic itself
    with clinic.uow() as uow:
        records = uow.session.execute(select(ReminderSent.rule_id, ReminderSent.message_id)).all()
        kinds = set(uow.session.scalars(select(Message.kind)))
    assert len(records) == 2 and all(r.rule_id == rule_id and r.message_id for r in records)
    assert kinds == {"reminder"}
    with clinic.uow(write=True) as uow:
        rows = preview_reminders(uow, SEND_DAY, settings=clinic.settings)
    assert {row.chart_id: row.status for row in rows}["1"] == "already_sent"


def test_two_workers_at_once_send_each_reminder_once(clinic) -> None:
    day_before(clinic)
    start = threading.Barrier(2)
    counts: list[int] = []

    def worker() -> None:
        start.wait()
        counts.append(run_reminders(clinic, NOW))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 2
    with clinic.uow() as uow:
        assert len(uow.session.scalars(select(Message.id)).all()) == 2
        assert len(uow.session.scalars(select(OutboxItem.id)).all()) == 2


def test_the_nearest_rule_wins_and_a_farther_one_never_follows(clinic) -> None:
    week = day_before(clinic, name="Une semaine avant", days_before=7)
    day_before(clinic)
    # Tomorrow's two go by the day-before rule (the week rule is superseded for them); Thursday's
    # vaccination, three days away, is already inside the week rule's span: it goes by that rule.
    assert run_reminders(clinic, NOW) == 3
    assert run_reminders(clinic, NOW) == 0
    with clinic.uow() as uow:
        by_week = uow.session.execute(select(ReminderSent.appointment_id, ReminderSent.message_id)
                                      .where(ReminderSent.rule_id == week)).all()
    assert sorted(message_id is None for _id, message_id in by_week) == [False, True, True]


def test_rule_filters_by_provider_and_kind(clinic) -> None:
    day_before(clinic, name="Vaccins", days_before=3, providers=("PR1",), appointment_kinds=("Vaccination",))
    assert run_reminders(clinic, NOW) == 1
    assert set(emails(clinic)) == {"zoe@example.org"}
    with clinic.uow() as uow:
        [rule] = list_rules(uow.session)
    assert rule.providers == ("Dre Josée Bélanger",) and rule.appointment_kinds == ("vaccination",)


def test_rules_are_checked(clinic) -> None:
    with clinic.uow(write=True) as uow, pytest.raises(InvalidInput, match="not an appointment-reminder"):
        add_rule(uow, name="x", days_before=1, template="Default - secure message")
    with clinic.uow(write=True) as uow, pytest.raises(InvalidInput, match="other language"):
        add_rule(uow, name="x", days_before=1, template="Default - appointment reminder",
                 alt_template="Default - appointment reminder")
    with clinic.uow(write=True) as uow, pytest.raises(InvalidInput, match="No provider"):
        add_rule(uow, name="x", days_before=1, template="Default - appointment reminder", providers=("PR9",))
    day_before(clinic)
    run_reminders(clinic, NOW)
    with clinic.uow(write=True) as uow:
        remove_rule(uow, "la veille")
    with clinic.uow() as uow:
        assert list_rules(uow.session) == [] and uow.session.scalar(select(ReminderSent.id)) is None
        assert len(uow.session.scalars(select(Message.id)).all()) == 2  # the patients' history stays


def test_test_mode_sends_to_the_staff_members_own_address_only(clinic) -> None:
    day_before(clinic)
    with clinic.uow() as uow:
        user_id = uow.session.scalar(select(User.id).where(User.username == "drbelanger"))
    with clinic.uow(write=True) as uow:
        assert send_test_reminders(uow, SEND_DAY, user_id=user_id, settings=clinic.settings,
                                   cipher=clinic.cipher, limit=5) == 2
    sent = emails(clinic)
    assert set(sent) == {"josee@clinique.example.org"}
    with clinic.uow() as uow:
        assert uow.session.scalar(select(ReminderSent.id)) is None
        assert uow.session.scalar(select(Message.id)) is None
    assert run_reminders(clinic, NOW) == 2  # the patients still get theirs


def test_the_workers_scheduler_runs_the_reminders(clinic) -> None:
    day_before(clinic)
    Scheduler().run_due(clinic, NOW)
    with clinic.uow() as uow:
        assert len(uow.session.scalars(select(ReminderSent.id)).all()) == 2


def test_cli_rules_and_preview(clinic, settings, monkeypatch, capsys) -> None:
    for name, value in (("DATABASE_URL", settings.resolved_database_url()),
                        ("CONFIG_DIR", str(settings.resolved_config_dir())),
                        ("DATA_DIR", str(settings.resolved_data_dir())), ("SITE_KEY", settings.site_key)):
        monkeypatch.setenv(f"ACCUEIL_{name}", value)
    assert main(["reminders", "rule", "add", "La veille", "--days-before", "1", "--template",
                 "Défaut - rappel de rendez-vous", "--other-language-template",
                 "Default - appointment reminder"]) == 0
    assert main(["reminders", "rule", "add", "Autre", "--days-before", "1", "--template", "Nope"]) == 2
    assert "No template named 'Nope'" in capsys.readouterr().err
    assert main(["reminders", "rule", "list"]) == 0
    assert "La veille: 1 days before" in capsys.readouterr().out
    assert main(["reminders", "preview", "--date", "2026-03-09", "--test-to", "drbelanger"]) == 0
    out, err = capsys.readouterr()
    assert "O'NEIL" not in out and "O'Neil, Margaret" in out and "provider unlicensed" in out
    assert "2 of 4 reminders will be sent" in err and "2 test reminders queued" in err
    assert main(["reminders", "rule", "remove", "La veille"]) == 0
    assert main(["reminders", "rule", "remove", "La veille"]) == 2
