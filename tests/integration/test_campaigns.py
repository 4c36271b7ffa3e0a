"""Campaigns on both backends: permission, detail, conditions, CSV, limit, Start, consent, portal calls."""

from __future__ import annotations

import email
import hashlib
import re
import threading
from datetime import date, timedelta
from email import policy

import pytest
from sqlalchemy import func, insert, select, update

from core.campaigns import campaigns as cs
from core.campaigns.broadcasts import broadcasts_for
from core.campaigns.conditions import Condition, count_matching, save_set, saved_sets
from core.campaigns.invitations import InvitationInvalid, accept_invitation
from core.campaigns.recipients import (
    CsvRefused,
    assign_by_conditions,
    assign_csv,
    assign_patient,
    list_recipients,
    remove_recipient,
)
from core.campaigns.start import start_campaign
from core.db.models import CampaignConsent, CampaignRecipient, ConnectedSystem, Event, OutboxItem, Patient
from core.errors import InvalidInput
from core.outbox.worker import decode_email_payload
from core.patients.keys import fold
from tests.integration.campaign_fixtures import (
    NOW,
    TODAY,
    add_staff_and_patients,
    app_draft,
    invitation_draft,
)


@pytest.fixture
def clinic(app):
    return app, add_staff_and_patients(app)


def create(app, draft) -> int:
    with app.uow(write=True) as uow:
        return cs.create_campaign(uow, draft)


def start(app, campaign_id):
    with app.uow(write=True) as uow:
        return start_campaign(uow, campaign_id, settings=app.settings, cipher=app.cipher, now=NOW)


def test_only_staff_with_the_permission_use_campaigns(app) -> None:
    add_staff_and_patients(app, actor_can=False)
    with app.uow(write=True) as uow, pytest.raises(cs.CampaignsForbidden):
        cs.list_campaigns(uow, TODAY)
    with app.uow(write=True) as uow:
        cs.set_permission(uow, "campagnes", True)
    with app.uow() as uow:
        assert cs.list_campaigns(uow, TODAY) == []


def test_detail_rules_and_type_locked_after_start(clinic) -> None:
    app, ids = clinic
    with app.uow(write=True) as uow, pytest.raises(InvalidInput, match="apptDate"):
        cs.create_campaign(uow, cs.CampaignDraft("app", "x", TODAY, TODAY, app_title="t", app_body="@apptDate"))
    with app.uow(write=True) as uow, pytest.raises(InvalidInput, match="weblink"):
        cs.create_campaign(uow, cs.CampaignDraft("invitation", "x", email_subject="s", email_body="no link"))
    with app.uow(write=True) as uow, pytest.raises(InvalidInput, match="last day"):
        cs.create_campaign(uow, app_draft(starts=TODAY, ends=TODAY - timedelta(days=1)))
    campaign_id = create(app, invitation_draft())
    with app.uow(write=True) as uow:
        detail = cs.get_campaign(uow, campaign_id, TODAY)
    assert (detail.summary.mode, detail.summary.status, detail.invitation_days) == ("email", "draft", 14)
    with app.uow(write=True) as uow:
        assign_patient(uow, campaign_id, ids["1001"], today=TODAY)
    start(app, campaign_id)
    with app.uow(write=True) as uow, pytest.raises(InvalidInput, match="type of a campaign"):
        cs.update_campaign(uow, campaign_id, app_draft())
    with app.uow(write=True) as uow:
        cs.update_campaign(uow, campaign_id, invitation_draft("Renamed"))
    with app.uow() as uow:
        [summary] = cs.list_campaigns(uow, TODAY)
    assert (summary.name, summary.status, summary.counts.assigned, summary.counts.sent) == ("Renamed", "started", 1, 1)


def test_conditions_compile_to_one_query_with_fitting_comparators(clinic) -> None:
    app, _ids = clinic

    def count(*rows: tuple[str, str, str]) -> int:
        with app.uow() as uow:
            return count_matching(uow.session, [Condition(*row) for row in rows], today=TODAY)

    assert count(("connected_system", "is_not", "patient_app")) == 4
    assert count(("connected_system", "is", "patient_app")) == 1
    assert count(("age", "ge", "65")) == 2  # born 1950 and 1960
    assert count(("age", "eq", "16")) == 1
    assert count(("language", "is", "fr"), ("has_email", "is", "yes"), ("marketing_consent", "is", "yes")) == 1
    assert count(("sex", "is", "M")) == 1
    assert count(("postal_prefix", "starts_with", "k1a")) == 1
    assert count(("push_enabled", "is", "no")) == 2
    assert count(("email_consent", "is", "no")) == 1
    assert count(("last_visit", "after", "2025-01-01")) == 1
    assert count(("appointment", "between", "2026-03-10..2026-03-10")) == 1
    assert count(("appointment", "between", "2026-03-11..2026-03-20")) == 0
    with app.uow() as uow:
        provider = [row for row in uow.session.execute(select(Patient.primary_provider_id))][0][0]
    assert count(("primary_provider", "is", str(provider))) == 5
    for bad, message in ((("age", "ge", "soixante"), "whole number"), (("last_visit", "after", "2025-13-01"),
                                                                         "not a date"),
                         (("age", "starts_with", "6"), "does not fit"), (("sex", "is", "Q"), "values offered"),
                         (("appointment", "between", "2026-03-10"), "two dates")):
        with pytest.raises(InvalidInput, match=message):
            count(bad)
    with app.uow(write=True) as uow:
        save_set(uow, "Aînés sans l'app", [Condition("age", "ge", "65"),
                                            Condition("connected_system", "is_not", "patient_app")], today=TODAY)
    with app.uow() as uow:
        [saved] = saved_sets(uow.session)
    assert saved.name == "Aînés sans l'app" and saved.conditions[0] == Condition("age", "ge", "65")


def test_csv_report_and_limit_refuse_the_whole_addition(clinic, monkeypatch) -> None:
    app, ids = clinic
    campaign_id = create(app, invitation_draft())
    bad = "No de dossier;Nom\n1001;Côté\n9999;Inconnu\n1001;Côté\n".encode("cp1252")
    with app.uow(write=True) as uow, pytest.raises(CsvRefused) as refused:
        assign_csv(uow, campaign_id, bad, today=TODAY)
    assert [(p.row, p.chart_id) for p in refused.value.problems] == [(3, "9999"), (4, "1001")]
    assert "row 2" in refused.value.problems[1].reason
    with app.uow(write=True) as uow, pytest.raises(CsvRefused, match="chart ID column"):
        assign_csv(uow, campaign_id, b"Name,Phone\nx,y\n", today=TODAY)
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(CampaignRecipient)) == 0
    with app.uow(write=True) as uow:
        result = assign_csv(uow, campaign_id, b"Chart ID\n1001\n1002\n", today=TODAY)
    assert (result.added, result.total) == (2, 2)
    monkeypatch.setattr("core.campaigns.recipients.MAX_RECIPIENTS", 3)
    with app.uow(write=True) as uow, pytest.raises(InvalidInput, match="bring this campaign to 4"):
        assign_by_conditions(uow, campaign_id, [Condition("has_email", "is", "yes")], today=TODAY)
    with app.uow(write=True) as uow, pytest.raises(InvalidInput, match="bring this campaign to 5"):
        assign_csv(uow, campaign_id, b"Chart ID\n1003\n1004\n1005\n", today=TODAY)
    with app.uow(write=True) as uow:
        assert assign_csv(uow, campaign_id, b"Chart ID\n1001\n1003\n", today=TODAY).added == 1


def test_csv_of_5001_rows_is_refused_with_the_count(clinic) -> None:
    app, _ids = clinic
    campaign_id = create(app, invitation_draft())
    with app.uow(write=True) as uow:
        uow.session.execute(insert(Patient), [
            {"chart_id": f"X{n}", "last_name": "Lévesque", "first_name": "Test", "last_key": "levesque",
             "first_key": "test"} for n in range(5001)])
        uow.commit()
    data = ("Chart ID\n" + "\n".join(f"X{n}" for n in range(5001))).encode()
    with app.uow(write=True) as uow, pytest.raises(InvalidInput, match="5001, over the limit of 5000"):
        assign_csv(uow, campaign_id, data, today=TODAY)
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(CampaignRecipient)) == 0


def test_invitation_start_gates_ledger_link_and_accept(clinic) -> None:
    app, ids = clinic
    campaign_id = create(app, invitation_draft())
    with app.uow(write=True) as uow:
        assign_by_conditions(uow, campaign_id, [Condition("connected_system", "is_not", "patient_app")], today=TODAY)
    with app.uow() as uow:  # assigning an invitation sends nothing
        assert uow.session.scalar(select(func.count()).select_from(OutboxItem)) == 0
    result = start(app, campaign_id)
    assert (result.sent, result.skipped) == (2, 2)
    assert result.reasons == {"no_email_consent": 1, "no_email": 1}
    with app.uow() as uow:
        payload = uow.session.scalars(select(OutboxItem.payload).order_by(OutboxItem.id)).first()
        ledger = uow.session.execute(select(CampaignConsent.outcome, CampaignConsent.marketing_consent)
                                     .order_by(CampaignConsent.id)).all()
        states = dict(uow.session.execute(select(CampaignRecipient.patient_id, CampaignRecipient.skip_reason)).all())
    assert len(ledger) == 4 and ledger[0].marketing_consent is True
    assert {row.outcome for row in ledger} == {"sent", "skipped"}
    assert states[ids["1003"]] == "no_email_consent" and states[ids["1004"]] == "no_email"
    _sender, to, raw = decode_email_payload(payload, app.cipher)
    assert to == "m.oneil@example.org"
    mail = email.message_from_bytes(raw, policy=policy.default)
    text = mail.get_body(("plain",)).get_content()
    token = re.search(r"http://127\.0\.0\.1:8765/invitation/([\w-]+)", text).group(1)
    with app.uow() as uow:  # only the hash is stored
        recipient = uow.session.scalar(select(CampaignRecipient).where(CampaignRecipient.patient_id == ids["1002"]))
        assert recipient.invite_token_hash == hashlib.sha256(token.encode()).digest()
        assert recipient.invite_expires_at == NOW + timedelta(days=14)
    assert start(app, campaign_id).sent == 0  # nothing new
    with app.uow(write=True) as uow, pytest.raises(InvitationInvalid):
        accept_invitation(uow, token, NOW + timedelta(days=14, seconds=1), enable_push=True)
    with app.uow(write=True) as uow, pytest.raises(InvitationInvalid):
        accept_invitation(uow, "nope", NOW, enable_push=True)
    with app.uow(write=True) as uow:
        accepted = accept_invitation(uow, token, NOW + timedelta(days=3), enable_push=True)
    assert (accepted.patient_id, accepted.push_enabled, accepted.already_connected) == (ids["1002"], True, False)
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(ConnectedSystem)
                                  .where(ConnectedSystem.patient_id == ids["1002"])) == 1
        assert count_matching(uow.session, [Condition("connected_system", "is_not", "patient_app")], today=TODAY) == 3


def test_app_campaign_broadcast_push_remove_and_start_only_new(clinic) -> None:
    app, ids = clinic
    campaign_id = create(app, app_draft())
    with app.uow(write=True) as uow:
        result = assign_patient(uow, campaign_id, ids["1001"], today=TODAY)
    assert result.broadcast_visible
    with app.uow() as uow:
        [shown] = broadcasts_for(uow.session, ids["1001"], NOW)
        assert broadcasts_for(uow.session, ids["1001"], date(2026, 4, 1)) == []
    assert shown.title == "Nouvel horaire, Zoé" and "<b>Clinique" in shown.body_html and "script" not in shown.body_html
    with app.uow(write=True) as uow:
        assign_patient(uow, campaign_id, ids["1003"], today=TODAY)  # no marketing consent
        assign_patient(uow, campaign_id, ids["1005"], today=TODAY)  # push off
    with app.uow() as uow:
        assert broadcasts_for(uow.session, ids["1003"], NOW) == []
    result = start(app, campaign_id)
    assert (result.sent, result.reasons) == (1, {"no_marketing_consent": 1, "push_off": 1})
    with app.uow(write=True) as uow:
        assign_patient(uow, campaign_id, ids["1002"], today=TODAY)
    assert start(app, campaign_id).sent == 1
    with app.uow() as uow:
        keys = sorted(uow.session.scalars(select(OutboxItem.kind)))
        assert keys == ["push", "push"]
    with app.uow(write=True) as uow:
        page = list_recipients(uow, campaign_id)
    first = page.rows[0]
    with app.uow(write=True) as uow:
        remove_recipient(uow, campaign_id, first.id)
    with app.uow(write=True) as uow, pytest.raises(InvalidInput, match="already removed"):
        remove_recipient(uow, campaign_id, first.id)
    with app.uow() as uow:
        assert broadcasts_for(uow.session, ids["1001"], NOW) == []
    with app.uow(write=True) as uow:
        statuses = {row.name: (row.status, row.reason) for row in list_recipients(uow, campaign_id).rows}
        searched = list_recipients(uow, campaign_id, search="o'ne").rows
    assert statuses["Côté, Zoé"] == ("removed", None)
    assert statuses["St-Pierre, Luc"] == ("skipped", "no_marketing_consent")
    assert [row.name for row in searched] == ["O'Neil, Margaret"]


def test_removed_before_start_never_receives_and_pages(clinic) -> None:
    app, ids = clinic
    campaign_id = create(app, invitation_draft())
    with app.uow(write=True) as uow:
        assign_csv(uow, campaign_id, b"Chart ID\n1001\n1002\n1005\n", today=TODAY)
    with app.uow(write=True) as uow:
        first = list_recipients(uow, campaign_id, limit=2)
        second = list_recipients(uow, campaign_id, after=first.next_after, limit=2)
    assert len(first.rows) == 2 and [row.chart_id for row in second.rows] == ["1005"] and second.next_after is None
    with app.uow(write=True) as uow:
        remove_recipient(uow, campaign_id, first.rows[1].id)
    assert start(app, campaign_id).sent == 2
    with app.uow() as uow:
        payloads = uow.session.scalars(select(OutboxItem.payload)).all()
    assert {decode_email_payload(payload, app.cipher)[1] for payload in payloads} == {"zoe.cote@example.com",
                                                                                       "linh@example.com"}


def test_failed_outbox_item_shows_the_recipient_failed(clinic) -> None:
    app, ids = clinic
    campaign_id = create(app, invitation_draft())
    with app.uow(write=True) as uow:
        assign_patient(uow, campaign_id, ids["1001"], today=TODAY)
    start(app, campaign_id)
    with app.uow(write=True) as uow:
        uow.session.execute(update(OutboxItem).values(state="failed"))
        uow.commit()
    with app.uow() as uow:
        [summary] = cs.list_campaigns(uow, TODAY)
        assert uow.session.scalar(select(func.count()).select_from(Event).where(Event.kind == "campaign.sent")) == 1
    assert (summary.counts.sent, summary.counts.failed) == (0, 1)


def test_two_staff_pressing_start_at_once_send_once(clinic) -> None:
    app, ids = clinic
    campaign_id = create(app, invitation_draft())
    with app.uow(write=True) as uow:
        uow.session.execute(update(Patient).values(email_consent=True, email="famille@example.com"))
        uow.commit()
    with app.uow(write=True) as uow:
        assign_csv(uow, campaign_id, b"Chart ID\n1001\n1002\n1003\n1004\n1005\n", today=TODAY)
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def press() -> None:
        try:
            with app.uow(write=True) as uow:
                barrier.wait(timeout=30)
                results.append(start_campaign(uow, campaign_id, settings=app.settings, cipher=app.cipher,
                                              now=NOW).sent)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(results) == [0, 5]
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxItem)) == 5
        assert uow.session.scalar(select(func.count()).select_from(CampaignConsent)) == 5


def test_search_key_is_folded() -> None:
    assert fold("O'Neil") == "oneil"


def test_cli_gives_and_takes_the_campaigns_permission(app, capsys, monkeypatch) -> None:
    from accueil.cli import main

    add_staff_and_patients(app, actor_can=False)
    monkeypatch.setenv("ACCUEIL_DATABASE_URL", app.settings.resolved_database_url())
    monkeypatch.setenv("ACCUEIL_SITE_KEY", app.settings.site_key)
    assert main(["user", "campaigns", "campagnes"]) == 0
    with app.uow() as uow:
        assert cs.can_use_campaigns(uow.session, app.actor)
    assert main(["user", "campaigns", "campagnes", "--off"]) == 0
    with app.uow() as uow:
        assert not cs.can_use_campaigns(uow.session, app.actor)
    assert main(["user", "campaigns", "personne"]) == 2
    assert "No user named" in capsys.readouterr().err
