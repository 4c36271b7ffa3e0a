"""Pilot tests of the Campaigns section: permission, list, detail, recipients, adding, Start."""

from __future__ import annotations

from collections.abc import Callable

from screens.campaigns import CampaignsScreen
from tests.tui import campaign_clinic as fixtures
from tests.tui.conftest import CLOCK, screen_text, settle
from tui.app import PATIENTS, AccueilApp

campaign_clinic = fixtures.campaign_clinic
campaign_app = fixtures.campaign_app
AppFactory = Callable[..., AccueilApp]




async def test_section_hidden_without_the_permission(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "f4" not in screen_text(pilot).splitlines()[-2]  # the section bar
        await pilot.press("f4")
        await settle(pilot)
        assert app.current_mode == PATIENTS


async def test_list_shows_counts(campaign_app) -> None:
    app = campaign_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "f4 Campaigns" in screen_text(pilot).splitlines()[-2]  # the section bar
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, CampaignsScreen)
        text = screen_text(pilot)
        assert "2 campaigns" in text and "Assig. Sent" in text  # each count: test_campaign_review


async def test_create_an_app_campaign_then_add_by_conditions_start_and_remove(campaign_app, campaign_clinic) -> None:
    from core.campaigns.broadcasts import broadcasts_for
    from screens.campaign_add import AddPatientsScreen
    from screens.campaign_detail import CampaignDetailScreen
    from screens.campaign_recipients import CampaignRecipientsScreen
    from tests.tui.campaign_clinic import campaign_id

    app = campaign_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, CampaignDetailScreen)
        detail = app.screen
        from textual.widgets import Input, Select, TextArea

        detail.query_one("#campaign-kind", Select).value = "app"
        await settle(pilot)
        detail.query_one("#campaign-name", Input).value = "Vaccination d'automne"
        detail.query_one("#campaign-starts", Input).value = "2025-03-01"
        detail.query_one("#campaign-ends", Input).value = "2025-13-31"
        detail.query_one("#campaign-subject", Input).value = "Vaccins, @ptFirstName"
        detail.query_one("#campaign-body", TextArea).text = "Prenez rendez-vous à <b>@clinicName</b>."
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "YYYY-MM-DD" in screen_text(pilot)  # a wrong date: told, nothing saved
        detail.query_one("#campaign-ends", Input).value = "2025-03-31"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CampaignsScreen)
        assert "Vaccination d'automne" in [campaign.name for campaign in app.screen.campaigns]
        new_id = campaign_id(campaign_clinic, "Vaccination d'automne")
        app.screen.table.move_cursor(row=[c.id for c in app.screen.campaigns].index(new_id))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CampaignRecipientsScreen)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AddPatientsScreen)
        assert "7 patients match every condition." in screen_text(pilot)  # not connected to the app
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert isinstance(app.screen, CampaignRecipientsScreen)
        text = screen_text(pilot)
        assert "Assigned 7" in text and "D'AMOURS" not in text and "D'Amours, Lucie" in text
        with campaign_clinic.uow() as uow:  # in progress: the broadcast shows at once (with consent)
            oneil = [r for r in app.screen.loaded.page.rows if r.chart_id == "100104"][0]
            assert [b.title for b in broadcasts_for(uow.session, oneil.patient_id, CLOCK.now())] == \
                ["Vaccins, Patrick"]
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        text = screen_text(pilot)
        assert "sent 2" in text and "skipped 5" in text, text
        assert "Skipped: no marketing consent" in text
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert "removed 1" in screen_text(pilot)


async def test_recipients_search_and_conditions_errors(campaign_app, campaign_clinic) -> None:
    from screens.campaign_add import AddPatientsScreen, ConditionRow
    from screens.campaign_recipients import CampaignRecipientsScreen

    app = campaign_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        invitation = [c.name for c in app.screen.campaigns].index("Invitation à l'application")
        app.screen.table.move_cursor(row=invitation)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CampaignRecipientsScreen)
        assert "link valid 14 days" in screen_text(pilot)
        await pilot.press("slash", *"oneil", "enter")
        await settle(pilot)
        assert [row.chart_id for row in app.screen.loaded.page.rows] == ["100104"]
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AddPatientsScreen)
        await pilot.press("ctrl+n")
        await settle(pilot)
        rows = list(app.screen.query(ConditionRow))
        assert len(rows) == 2
        from textual.widgets import Input

        rows[1].query_one(Input).value = "soixante"
        await settle(pilot)
        assert "whole number" in screen_text(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert isinstance(app.screen, AddPatientsScreen)  # refused, nothing added
        rows[1].query_one(Input).value = "40"
        await settle(pilot)
        assert "3 patients match every condition." in screen_text(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert isinstance(app.screen, CampaignRecipientsScreen)
        assert "Assigned 5" in screen_text(pilot)  # two of the three were in it already
