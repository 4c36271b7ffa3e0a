"""RP-1/RP-2 on both backends: each report counts exactly what the seed says, from the events the
messaging services really write; local days, filters, search, sort, keyset pages, daily counts,
the audit of every view and export."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from core import events
from core.db.models import (
    AuditEntry,
    Campaign,
    CampaignRecipient,
    FormRequest,
    Message,
    Patient,
    Provider,
    User,
)
from core.errors import InvalidInput
from core.licences import grant_licence
from core.messaging.compose import Draft, send_draft
from core.messaging.patient_actions import record_form_completed, record_viewed
from core.patients.keys import fold
from core.reports import definitions as names
from core.reports.definitions import preset_range
from core.reports.query import ReportQuery, count, daily_counts, iter_rows, page
from core.reports.service import filter_choices, open_report, view_key
from core.users import add_user
from tests.integration.test_notifications import _answers

ZONE = "America/Toronto"


def _patient(chart: str, last: str, first: str, provider_id: int | None = None) -> dict:
    return {"chart_id": chart, "last_name": last, "first_name": first, "last_key": fold(last),
            "first_key": fold(first), "email": f"p{chart}@example.com", "email_consent": True, "language": "fr",
            "date_of_birth": date(1980, 1, 1), "primary_provider_id": provider_id}


@pytest.fixture
def clinic(app):
    with app.uow(write=True) as uow:
        uow.session.add_all([Provider(emr_id="PR1", display_name="Dre Anne Tremblay"),
                             Provider(emr_id="PR2", display_name="Dr Samuel Okafor")])
        uow.commit()
    with app.uow() as uow:
        providers = dict(uow.session.execute(select(Provider.emr_id, Provider.id)).all())
    with app.uow(write=True) as uow:
        uow.session.execute(insert(Patient), [
            _patient("1001", "Côté", "Zoé", providers["PR1"]),
            _patient("1002", "O'Neil", "Margaret", providers["PR2"]),
            _patient("1003", "St-Pierre", "Jean-Luc", providers["PR1"]),
        ])
        uow.commit()
    for name, shown in (("tremblay", "Dre Anne Tremblay"), ("moa", "Lise Gagnon")):
        with app.uow(write=True) as uow:
            add_user(uow, username=name, display_name=shown, role="provider", password=None)
    with app.uow(write=True) as uow:
        grant_licence(uow, "tremblay")
    with app.uow(write=True) as uow:
        grant_licence(uow, "moa")
    with app.uow() as uow:
        users = dict(uow.session.execute(select(User.username, User.id)).all())
        patients = dict(uow.session.execute(select(Patient.chart_id, Patient.id)).all())
    return app, patients, users, providers


def _send(app, patient_id: int, user_id: int, *, forms=(), kind="secure_message", secure="Vos résultats") -> int:
    draft = Draft(patient_ids=(patient_id,), subject="Message", salutation="Bonjour,", body_html="Voir [weblink]",
                  secure_message=secure, eform_codes=forms, sender_user_id=user_id, kind=kind)
    with app.uow(write=True) as uow:
        return send_draft(uow, draft, settings=app.settings, cipher=app.cipher).message_ids[0]


def _today(app) -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(app.settings.timezone)).date()


def _query(app, name: str, **changes) -> ReportQuery:
    today = _today(app)
    base = {"report": name, "date_from": today - timedelta(days=1), "date_to": today + timedelta(days=1),
            "timezone": app.settings.timezone}
    return ReportQuery(**{**base, **changes})


def _all(app, query: ReportQuery) -> list[tuple[str, ...]]:
    with app.uow() as uow:
        return [row.cells for row in iter_rows(uow.session, query)]


def test_each_report_counts_what_the_seed_says(clinic) -> None:
    app, patients, users, _providers = clinic
    plain = _send(app, patients["1001"], users["tremblay"])
    two_forms = _send(app, patients["1002"], users["moa"], forms=("email_consent", "health_questionnaire"),
                      secure=None)
    reminder = _send(app, patients["1003"], users["tremblay"], kind="reminder", secure=None)
    for _ in range(3):  # the patient opens the plain message three times, then the reminder
        with app.uow(write=True) as uow:
            record_viewed(uow, [plain], settings=app.settings, cipher=app.cipher)
    with app.uow(write=True) as uow:
        record_viewed(uow, [reminder, two_forms], settings=app.settings, cipher=app.cipher)
    with app.uow() as uow:
        requests = uow.session.scalars(select(FormRequest.id).where(FormRequest.message_id == two_forms)
                                       .order_by(FormRequest.id)).all()
    for request_id, channel in zip(requests, ("online", "kiosk"), strict=True):
        with app.uow(write=True) as uow:
            record_form_completed(uow, request_id, _answers(app, request_id), language="fr", settings=app.settings,
                                  cipher=app.cipher, channel=channel)

    sent = _all(app, _query(app, names.MESSAGES_SENT))
    assert [(r[1], r[2], r[3], r[4]) for r in sent] == [(str(plain), "1001", "CÔTÉ, Zoé", "Dre Anne Tremblay")]
    forms = _all(app, _query(app, names.FORMS_SENT, sort="at", descending=False))
    assert [(r[1], r[2]) for r in forms] == [(str(two_forms), "1002")] * 2  # one row per form
    assert sorted(r[4] for r in forms) == ["Consent to email communication", "Health questionnaire"]
    links = _all(app, _query(app, names.LINKS_CREATED, sort="at", descending=False))
    assert [(r[1], r[4]) for r in links] == [(str(plain), "secure message"), (str(two_forms), "secure message"),
                                             (str(reminder), "reminder")]  # one link for the two forms
    confirmed = _all(app, _query(app, names.MESSAGES_CONFIRMED, sort="at", descending=False))
    # Viewed three times: one row. The reminder is not a secure message.
    assert [r[1] for r in confirmed] == [str(plain), str(two_forms)]
    completed = _all(app, _query(app, names.FORMS_COMPLETED, sort="at", descending=False))
    assert sorted(r[5] for r in completed) == ["online", "tablet/kiosk"]
    with app.uow() as uow:
        totals = {spec.name: count(uow.session, _query(app, spec.name)) for spec in names.REPORTS}
        charted = {spec.name: sum(d.count for d in daily_counts(uow.session, _query(app, spec.name)))
                   for spec in names.REPORTS}
        first_pages = {spec.name: len(page(uow.session, _query(app, spec.name)).rows) for spec in names.REPORTS}
    assert totals == {names.MESSAGES_SENT: 1, names.FORMS_SENT: 2, names.LINKS_CREATED: 3,
                      names.MESSAGES_CONFIRMED: 2, names.FORMS_COMPLETED: 2, names.CAMPAIGN_RECIPIENTS: 0}
    # The total, the chart and the rows are three statements (the confirmed report's message-kind
    # check even takes another form in the count on PostgreSQL): they agree.
    assert charted == totals and first_pages == totals


def test_no_secure_content_and_only_chart_and_name_of_the_patient(clinic) -> None:
    app, patients, users, _providers = clinic
    _send(app, patients["1001"], users["tremblay"], secure="Résultat confidentiel XYZ-42")
    for spec in names.REPORTS:
        for row in _all(app, _query(app, spec.name)):
            text = " ".join(row)
            assert "XYZ-42" not in text and "Message" not in text and "example.com" not in text
            assert "1980" not in text  # no birth date


def _event(kind: str, at: datetime, patient_id: int, **columns) -> dict:
    return {"kind": kind, "at": at, "patient_id": patient_id, **columns}


@pytest.fixture
def dated(clinic):
    """Hand-built link events on fixed local days around a daylight-saving change (9 March 2025)."""
    app, patients, users, providers = clinic
    zone = ZoneInfo(ZONE)
    rows = []
    times = [datetime(2025, 3, 8, 0, 0, tzinfo=zone),    # first instant of the first day
             datetime(2025, 3, 8, 23, 59, tzinfo=zone),
             datetime(2025, 3, 9, 3, 30, tzinfo=zone),   # after the clocks moved
             datetime(2025, 3, 10, 23, 59, 59, tzinfo=zone),
             datetime(2025, 3, 11, 0, 0, tzinfo=zone)]   # the day after the range
    for i, moment in enumerate(times):
        chart = ("1001", "1002", "1003")[i % 3]
        rows.append(_event(events.LINK_CREATED, moment.astimezone(UTC), patients[chart],
                           user_id=users["tremblay" if i % 2 == 0 else "moa"],
                           provider_id=providers["PR1" if chart != "1002" else "PR2"]))
    with app.uow(write=True) as uow:
        events.record_events(uow.session, rows)
        uow.commit()
    query = ReportQuery(names.LINKS_CREATED, date(2025, 3, 8), date(2025, 3, 10), timezone=ZONE)
    return app, patients, users, providers, query


def test_local_days_bound_the_range_and_the_daily_counts(dated) -> None:
    app, _patients, _users, _providers, query = dated
    with app.uow() as uow:
        assert count(uow.session, query) == 4
        assert [(d.day.day, d.count) for d in daily_counts(uow.session, query)] == [(8, 2), (9, 1), (10, 1)]
    rows = _all(app, query)
    assert [r[0] for r in rows] == ["2025-03-10 23:59", "2025-03-09 03:30", "2025-03-08 23:59", "2025-03-08 00:00"]


def test_filters_search_and_sort(dated) -> None:
    app, _patients, users, providers, query = dated
    from dataclasses import replace

    assert {r[5] for r in _all(app, replace(query, sender_id=users["moa"]))} == {"Lise Gagnon"}
    assert {r[6] for r in _all(app, replace(query, provider_id=providers["PR2"]))} == {"Dr Samuel Okafor"}
    assert {r[3] for r in _all(app, replace(query, search="cote"))} == {"CÔTÉ, Zoé"}
    assert {r[3] for r in _all(app, replace(query, search="ST-PIERRE jean"))} == {"ST-PIERRE, Jean-Luc"}
    assert {r[2] for r in _all(app, replace(query, search="1002"))} == {"1002"}
    assert _all(app, replace(query, search="zzz")) == []
    by_patient = [r[3] for r in _all(app, replace(query, sort="patient", descending=False))]
    assert by_patient == sorted(by_patient, key=fold)
    by_sender = [r[5] for r in _all(app, replace(query, sort="sender", descending=True))]
    assert by_sender == sorted(by_sender, reverse=True)
    with app.uow() as uow, pytest.raises(InvalidInput):
        page(uow.session, replace(query, sort="form"))
    with pytest.raises(InvalidInput):
        replace(query, date_from=date(2025, 3, 11)).bounds()


def test_keyset_pages_cover_every_row_once_in_order(clinic) -> None:
    app, patients, users, _providers = clinic
    moment = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    rows = [_event(events.FORM_SENT, moment + timedelta(minutes=i // 3), patients["1001"], user_id=users["moa"])
            for i in range(25)]  # three rows share each instant: the id breaks the tie
    with app.uow(write=True) as uow:
        events.record_events(uow.session, rows)
        uow.commit()
    query = ReportQuery(names.FORMS_SENT, date(2025, 6, 1), date(2025, 6, 1), timezone=ZONE)
    seen = []
    after = None
    with app.uow() as uow:
        while True:
            chunk = page(uow.session, query, after=after, limit=7)
            assert len(chunk.rows) <= 7
            seen.extend(chunk.rows)
            if chunk.next_key is None:
                break
            after = chunk.next_key
    keys = [row.key for row in seen]
    assert len(keys) == 25 and len(set(keys)) == 25
    assert keys == sorted(keys, reverse=True)


def test_campaign_recipients_by_date_added(clinic) -> None:
    app, patients, users, providers = clinic
    added = datetime(2025, 5, 2, 14, 0, tzinfo=UTC)
    with app.uow(write=True) as uow:
        campaign = Campaign(name="Vaccination antigrippale", kind="invitation", mode="email", status="started",
                            created_by=users["moa"])
        uow.session.add(campaign)
        uow.session.flush()
        uow.session.add_all([
            CampaignRecipient(campaign_id=campaign.id, patient_id=patients["1001"], state="sent", added_at=added,
                              sent_at=added + timedelta(days=40)),
            CampaignRecipient(campaign_id=campaign.id, patient_id=patients["1002"], state="skipped",
                              skip_reason="no_email_consent", added_at=added),
            CampaignRecipient(campaign_id=campaign.id, patient_id=patients["1003"], state="assigned",
                              added_at=added + timedelta(days=30)),
        ])
        uow.commit()
    query = ReportQuery(names.CAMPAIGN_RECIPIENTS, date(2025, 5, 1), date(2025, 5, 31), timezone=ZONE,
                        sort="chart", descending=False)
    rows = _all(app, query)
    assert [(r[1], r[2], r[4], r[5], r[6]) for r in rows] == [
        ("Vaccination antigrippale", "1001", "sent", "2025-06-11 10:00", ""),  # sent later: still by date added
        ("Vaccination antigrippale", "1002", "skipped", "", "no email consent")]
    from dataclasses import replace

    assert len(_all(app, replace(query, provider_id=providers["PR2"]))) == 1
    assert len(_all(app, replace(query, sender_id=users["tremblay"]))) == 0
    with app.uow() as uow:
        assert count(uow.session, replace(query, sender_id=users["moa"])) == 2
        assert sum(d.count for d in daily_counts(uow.session, query)) == 2


def test_opening_a_report_is_audited_without_patient_data(dated) -> None:
    app, _patients, _users, _providers, query = dated
    from dataclasses import replace

    view = open_report(app, replace(query, search="Côté"), limit=1)
    assert view.total == 2 and len(view.first_page.rows) == 1 and view.first_page.next_key is not None
    with app.uow() as uow:
        actor, detail = uow.session.execute(select(AuditEntry.actor, AuditEntry.detail)
                                            .where(AuditEntry.action == "report.view")).one()
    assert actor == "test-runner"
    assert detail == {"report": names.LINKS_CREATED, "from": "2025-03-08", "to": "2025-03-10", "rows": 2,
                            "sender_id": None, "provider_id": None, "searched": True}
    # A face re-reading a view it has audited (another order) says so: no second entry.
    again = open_report(app, replace(query, search="Côté", sort="chart"), limit=1, audit_view=False)
    assert again.total == 2
    with app.uow() as uow:
        assert len(uow.session.scalars(select(AuditEntry.id).where(AuditEntry.action == "report.view")).all()) == 1
    assert view_key(replace(query, search=" CÔTÉ ", sort="chart", descending=False)) == view_key(
        replace(query, search="côté"))  # the order is not part of a view; the search text is
    assert view_key(replace(query, search="côt")) != view_key(replace(query, search="côté"))
    choices = filter_choices(app)
    assert [c.name for c in choices.providers] == ["Dr Samuel Okafor", "Dre Anne Tremblay"]
    assert "Lise Gagnon" in [c.name for c in choices.senders]


def test_presets() -> None:
    today = date(2025, 3, 10)
    assert preset_range("today", today) == (today, today)
    assert preset_range("last7", today) == (date(2025, 3, 4), today)
    assert preset_range("last30", today) == (date(2025, 2, 9), today)
    assert preset_range("month", today) == (date(2025, 3, 1), today)
    with pytest.raises(InvalidInput):
        preset_range("custom", today)


def test_message_rows_name_the_emr_sender_without_an_account(clinic) -> None:
    app, patients, _users, _providers = clinic
    draft = Draft(patient_ids=(patients["1003"],), subject="Message", salutation="Bonjour,", body_html="[weblink]",
                  secure_message="Texte", sender_emr_name="Dr Émile Roy (DMÉ)")
    with app.uow(write=True) as uow:
        send_draft(uow, draft, settings=app.settings, cipher=app.cipher)
    with app.uow() as uow:
        assert uow.session.scalar(select(Message.sender_emr_name)) == "Dr Émile Roy (DMÉ)"
    assert [r[4] for r in _all(app, _query(app, names.MESSAGES_SENT))] == ["Dr Émile Roy (DMÉ)"]


def test_the_reports_count_core_events_own_kinds() -> None:
    counted = {spec.kind for spec in names.REPORTS if spec.kind is not None}
    assert counted == {events.MESSAGE_SENT, events.FORM_SENT, events.LINK_CREATED, events.MESSAGE_CONFIRMED,
                       events.FORM_COMPLETED}
    assert counted <= set(events.KINDS)
