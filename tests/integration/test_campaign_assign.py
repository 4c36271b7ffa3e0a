"""Adding by conditions (CA-4) on both backends: the limit refuses a whole addition, nobody twice, removed stay out."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.campaigns import campaigns as cs
from core.campaigns.conditions import Condition
from core.campaigns.recipients import assign_by_conditions, assign_csv, list_recipients, remove_recipient
from core.db.models import AuditEntry, CampaignRecipient, Patient
from core.errors import InvalidInput
from tests.integration.campaign_fixtures import NOW, TODAY, add_staff_and_patients, invitation_draft

HAS_EMAIL = [Condition("has_email", "is", "yes")]  # 1001, 1002, 1003, 1005


@pytest.fixture
def campaign(app, monkeypatch):
    monkeypatch.setattr("core.campaigns.recipients.MAX_RECIPIENTS", 4)
    ids = add_staff_and_patients(app)
    with app.uow(write=True) as uow:
        return app, ids, cs.create_campaign(uow, invitation_draft())


def assign(app, campaign_id, conditions):
    with app.uow(write=True) as uow:
        return assign_by_conditions(uow, campaign_id, conditions, today=TODAY, now=NOW)


def in_campaign(app, campaign_id) -> dict[str, str]:
    with app.uow() as uow:
        return dict(uow.session.execute(
            select(Patient.chart_id, CampaignRecipient.state).join(Patient, Patient.id == CampaignRecipient.patient_id)
            .where(CampaignRecipient.campaign_id == campaign_id)).all())


def assign_entries(app) -> list[dict]:
    with app.uow() as uow:
        return [entry for entry in uow.session.scalars(select(AuditEntry.detail).where(
            AuditEntry.action == "campaign.assign").order_by(AuditEntry.id))]


def test_an_addition_past_the_limit_is_refused_whole_with_the_count(campaign) -> None:
    app, _ids, campaign_id = campaign
    with app.uow(write=True) as uow:
        assign_csv(uow, campaign_id, b"Chart ID\n1004\n", today=TODAY)
    with pytest.raises(InvalidInput, match="4 more patients would bring this campaign to 5, over the limit of 4"):
        assign(app, campaign_id, HAS_EMAIL)
    assert in_campaign(app, campaign_id) == {"1004": "assigned"}
    assert [entry["added"] for entry in assign_entries(app)] == [1]  # the refusal wrote nothing
    # Room for exactly three: the same addition narrowed to three patients fits to the last place.
    result = assign(app, campaign_id, [*HAS_EMAIL, Condition("email_consent", "is", "yes")])
    assert (result.added, result.already, result.total) == (3, 0, 4)
    with pytest.raises(InvalidInput, match="1 more patients would bring this campaign to 5"):
        assign(app, campaign_id, HAS_EMAIL)
    assert len(in_campaign(app, campaign_id)) == 4


def test_nobody_is_added_twice_and_removed_patients_stay_out(campaign) -> None:
    app, _ids, campaign_id = campaign
    first = assign(app, campaign_id, [Condition("language", "is", "fr")])  # 1001, 1003, 1004
    assert (first.added, first.already, first.total) == (3, 0, 3)
    with app.uow(write=True) as uow:
        page = list_recipients(uow, campaign_id)
    assert {row.added_at for row in page.rows} == {NOW}
    cote = next(row.id for row in page.rows if row.chart_id == "1001")
    with app.uow(write=True) as uow:
        remove_recipient(uow, campaign_id, cote)
    # 1001 is removed (not counted against the limit, never added again), 1003 is in already:
    # 1002 and 1005 are new, which brings the campaign to exactly the limit of 4.
    again = assign(app, campaign_id, HAS_EMAIL)
    assert (again.added, again.already, again.total) == (2, 2, 4)
    assert in_campaign(app, campaign_id) == {"1001": "removed", "1002": "assigned", "1003": "assigned",
                                             "1004": "assigned", "1005": "assigned"}
    same = assign(app, campaign_id, HAS_EMAIL)
    assert (same.added, same.already, same.total) == (0, 4, 4)
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(CampaignRecipient)) == 5
    assert [entry["added"] for entry in assign_entries(app)] == [3, 2, 0]
