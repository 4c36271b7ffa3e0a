"""The fixed clinic of the screen tests with campaigns: the actor has the permission, two campaigns."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from core.bootstrap import Accueil
from core.campaigns import campaigns as cs
from core.campaigns.recipients import assign_csv
from core.campaigns.start import start_campaign
from core.campaigns.templates import default_invitation
from core.db.models import Patient, User
from core.settings import Settings
from tests.conftest import open_clinic
from tests.tui.conftest import CLOCK, NOW, STAFF_USER, add_fixed_clinic, speak_test_language
from tui.app import AccueilApp

ADDED = datetime(2025, 3, 3, 14, 0, tzinfo=UTC)


def add_campaign_clinic(accueil: Accueil) -> None:
    add_fixed_clinic(accueil)
    with accueil.uow(write=True) as uow:
        uow.session.add(User(username="chantal", display_name="Chantal Campagne", role="administrator",
                             os_user=accueil.actor, can_campaigns=True))
        # The front desk signed in at the keyboard has the Campaigns permission too.
        uow.session.execute(update(User).where(User.username == STAFF_USER).values(can_campaigns=True))
        uow.session.execute(update(Patient).where(Patient.chart_id.in_(["100102", "100104"]))
                            .values(email_consent=True, marketing_consent=True, push_enabled=True))
        uow.commit()
    template = default_invitation("fr")
    with accueil.uow(write=True) as uow:
        invitation = cs.create_campaign(uow, cs.CampaignDraft("invitation", "Invitation à l'application",
                                                              email_subject=template.subject,
                                                              email_body=template.body))
    with accueil.uow(write=True) as uow:
        cs.create_campaign(uow, cs.CampaignDraft("app", "Congé de Pâques", date(2025, 4, 1), date(2025, 4, 30),
                                                 app_title="Horaire de Pâques",
                                                 app_body="La clinique est fermée le <b>18 avril</b>."))
    with accueil.uow(write=True) as uow:
        assign_csv(uow, invitation, b"Chart ID\n100101\n100102\n100103\n100104\n", today=NOW.date(), now=ADDED)


def start_invitation(accueil: Accueil) -> None:
    """Start the invitation (needs the site key, so on the bootstrapped clinic)."""
    with accueil.uow(write=True) as uow:
        start_campaign(uow, campaign_id(accueil, "Invitation à l'application"), settings=accueil.settings,
                       cipher=accueil.cipher, now=NOW)


def campaign_id(accueil: Accueil, name: str) -> int:
    from core.db.models import Campaign

    with accueil.uow() as uow:
        return int(uow.session.scalar(select(Campaign.id).where(Campaign.name == name)) or 0)


@pytest.fixture
def campaign_clinic(tui_settings: Settings) -> Iterator[Accueil]:
    with open_clinic(tui_settings, add_campaign_clinic) as running:
        start_invitation(running)
        yield running


@pytest.fixture
def campaign_app(tui_settings: Settings, campaign_clinic: Accueil) -> Callable[[], AccueilApp]:
    opened_as = campaign_clinic.actor

    def build() -> AccueilApp:
        campaign_clinic.actor = opened_as  # as freshly opened: a previous app signed in on it
        speak_test_language(campaign_clinic, "chantal", STAFF_USER)
        return AccueilApp(tui_settings, lambda: campaign_clinic, clock=CLOCK)

    return build
