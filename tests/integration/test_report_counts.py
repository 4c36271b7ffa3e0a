"""RP-1 on both backends, the cases the seed's definitions turn on that the first count test does
not build: a secure message carrying text *and* an eForm, a reminder carrying an eForm, a message
opened on two days, and campaign invitations (a link without a message) next to an app campaign
(no email, no link)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core.campaigns import campaigns as cs
from core.campaigns.conditions import Condition
from core.campaigns.recipients import assign_by_conditions
from core.campaigns.start import start_campaign
from core.db.models import FormRequest, Provider, User
from core.db.models.base import utcnow
from core.messaging.patient_actions import record_form_completed, record_viewed
from core.reports import definitions as names
from core.reports.query import ReportQuery, count, daily_counts, iter_rows, page, sortable_columns
from tests.integration.campaign_fixtures import (
    NOW,
    TODAY,
    add_staff_and_patients,
    app_draft,
    invitation_draft,
)
from tests.integration.test_notifications import _answers
from tests.integration.test_reports import _all, _query, _send, _today, clinic, dated  # noqa: F401 - fixture

ZONE = "America/Toronto"


def _totals(app, **changes) -> dict[str, int]:
    with app.uow() as uow:
        return {spec.name: count(uow.session, _query(app, spec.name, **changes)) for spec in names.REPORTS}


def test_forms_decide_the_sent_report_and_views_count_once(clinic) -> None:  # noqa: F811
    app, patients, users, _providers = clinic
    with_text = _send(app, patients["1001"], users["tremblay"], forms=("email_consent",), secure="Résultats")
    reminder = _send(app, patients["1002"], users["moa"], kind="reminder", forms=("health_questionnaire",),
                     secure=None)
    first = utcnow()
    for day in (0, 2):  # opened today, and again two days later
        with app.uow(write=True) as uow:
            record_viewed(uow, [with_text, reminder], settings=app.settings, cipher=app.cipher,
                          now=first + timedelta(days=day))
    with app.uow() as uow:
        request_id = uow.session.scalar(select(FormRequest.id).where(FormRequest.message_id == reminder))
    with app.uow(write=True) as uow:
        record_form_completed(uow, request_id, _answers(app, request_id), language="fr", settings=app.settings,
                              cipher=app.cipher, channel="kiosk")
    wide = {"date_to": _today(app) + timedelta(days=5)}
    assert _totals(app, **wide) == {
        names.MESSAGES_SENT: 0,  # the secure message carries an eForm: it is a form sent, not a message sent
        names.FORMS_SENT: 2,  # its form, and the reminder's
        names.LINKS_CREATED: 2,  # each email once: the message and the reminder
        names.MESSAGES_CONFIRMED: 1,  # opened on two days, one row; the reminder is no secure message
        names.FORMS_COMPLETED: 1,
        names.CAMPAIGN_RECIPIENTS: 0,
    }
    [confirmed] = _all(app, _query(app, names.MESSAGES_CONFIRMED, **wide))
    local = first.astimezone(ZoneInfo(app.settings.timezone))
    assert confirmed[1] == str(with_text) and confirmed[0] == local.strftime("%Y-%m-%d %H:%M")  # the first opening
    kinds = sorted((r[1], r[4]) for r in _all(app, _query(app, names.LINKS_CREATED, **wide)))
    assert kinds == sorted([(str(with_text), "secure message"), (str(reminder), "reminder")])
    [completed] = _all(app, _query(app, names.FORMS_COMPLETED, **wide))
    assert (completed[1], completed[5]) == (str(reminder), "tablet/kiosk")


def test_campaign_invitations_are_links_and_app_campaigns_are_not(app) -> None:
    ids = add_staff_and_patients(app)
    with app.uow(write=True) as uow:
        invitation = cs.create_campaign(uow, invitation_draft())
        broadcast = cs.create_campaign(uow, app_draft())
    with app.uow(write=True) as uow:
        assign_by_conditions(uow, invitation, [Condition("connected_system", "is_not", "patient_app")], today=TODAY)
        assign_by_conditions(uow, broadcast, [Condition("connected_system", "is", "patient_app")], today=TODAY)
    for campaign_id in (invitation, broadcast):
        with app.uow(write=True) as uow:
            start_campaign(uow, campaign_id, settings=app.settings, cipher=app.cipher, now=NOW)
    query = ReportQuery(names.LINKS_CREATED, TODAY, TODAY, timezone=ZONE, sort="chart", descending=False)
    rows = _all(app, query)
    # Four patients invited: two emailed (each a link), two skipped (no consent, no email): no link.
    assert [(r[1], r[2], r[4]) for r in rows] == [("", "1002", "invitation"), ("", "1005", "invitation")]
    with app.uow() as uow:
        assert count(uow.session, query) == 2 and sum(d.count for d in daily_counts(uow.session, query)) == 2
    added = _today(app)  # recipients are dated when added (now), not when the campaign was sent
    recipients = ReportQuery(names.CAMPAIGN_RECIPIENTS, added - timedelta(days=1), added + timedelta(days=1),
                             timezone=app.settings.timezone, sort="chart", descending=False)
    assert [(r[2], r[4]) for r in _all(app, recipients)] == [  # four invited, one in the app campaign
        ("1001", "sent"), ("1002", "sent"), ("1003", "skipped"), ("1004", "skipped"), ("1005", "sent")]
    assert set(ids) >= {"1001", "1005"}


def test_every_sort_pages_one_row_at_a_time_like_the_whole(dated) -> None:  # noqa: F811
    app, _patients, _users, _providers, query = dated
    from dataclasses import replace

    for column in sortable_columns(query.spec):
        for descending in (False, True):
            ordered = replace(query, sort=column, descending=descending)
            with app.uow() as uow:
                whole = [row.cells for row in iter_rows(uow.session, ordered)]
                paged, after = [], None
                while True:
                    chunk = page(uow.session, ordered, after=after, limit=1)  # every row a page boundary
                    paged += [row.cells for row in chunk.rows]
                    if chunk.next_key is None:
                        break
                    after = chunk.next_key
            assert paged == whole and len(whole) == 4, (column, descending)
            index = [c.key for c in query.spec.columns].index(column)
            shown = [row[index] for row in whole]
            if column != "patient":  # the patient sorts by folded name (accents ignored): checked apart
                assert shown == sorted(shown, reverse=descending), (column, descending)


def test_invitation_links_name_the_campaign_sender_and_the_patient_provider(app) -> None:
    add_staff_and_patients(app)
    with app.uow(write=True) as uow:
        invitation = cs.create_campaign(uow, invitation_draft())
    with app.uow(write=True) as uow:
        assign_by_conditions(uow, invitation, [Condition("connected_system", "is_not", "patient_app")], today=TODAY)
    with app.uow(write=True) as uow:
        start_campaign(uow, invitation, settings=app.settings, cipher=app.cipher, now=NOW)
    with app.uow() as uow:
        sender = uow.session.scalar(select(User.id).where(User.username == "campagnes"))
        provider = uow.session.scalar(select(Provider.id))
    query = ReportQuery(names.LINKS_CREATED, TODAY, TODAY, timezone=ZONE)
    from dataclasses import replace

    assert len(_all(app, replace(query, sender_id=sender))) == 2
    assert len(_all(app, replace(query, provider_id=provider))) == 2
    assert {(r[5], r[6]) for r in _all(app, query)} == {("Chantal Campagne", "Dre Anne Tremblay")}


def test_every_report_exported_holds_no_secure_content(clinic, tmp_path) -> None:  # noqa: F811
    from core.reports.export import export_csv

    app, patients, users, _providers = clinic
    plain = _send(app, patients["1001"], users["tremblay"], secure="Secret XYZ-42")
    with_form = _send(app, patients["1001"], users["tremblay"], forms=("email_consent",), secure="Autre XYZ-42")
    with app.uow(write=True) as uow:
        record_viewed(uow, [plain, with_form], settings=app.settings, cipher=app.cipher)
    with app.uow() as uow:
        request_id = uow.session.scalar(select(FormRequest.id).where(FormRequest.message_id == with_form))
    with app.uow(write=True) as uow:
        record_form_completed(uow, request_id, _answers(app, request_id), language="fr", settings=app.settings,
                              cipher=app.cipher)
    for spec in names.REPORTS:
        target = tmp_path / f"{spec.name}.csv"
        export_csv(app, _query(app, spec.name), target)
        text = target.read_text(encoding="utf-8-sig")
        for secret in ("XYZ-42", "Bonjour", "weblink", "example.com", "1980"):  # content, greeting, body, email, birth
            assert secret not in text, (spec.name, secret)
        if spec.name != names.CAMPAIGN_RECIPIENTS:
            assert "1001" in text and "CÔTÉ, Zoé" in text  # the chart ID and the name are what it carries
