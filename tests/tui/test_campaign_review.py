"""Pilot tests of issue 7's bad input and remaining lines at the screens: a CSV with problems shows its
row-numbered report and adds nothing, the type of a started campaign is locked (and refused with a
clear message if forced), removing a patient someone already removed says so, the invitation comes
pre-filled in both languages, push notifications show in the Outbox screen."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static, TabbedContent, TextArea

from core.campaigns.conditions import Condition
from core.campaigns.push import deliver_due
from core.campaigns.recipients import assign_csv, list_recipients, remove_recipient
from core.campaigns.start import start_campaign
from core.campaigns.templates import default_invitation
from core.db.models import CampaignRecipient, utcnow
from screens.campaign_add import AddPatientsScreen
from screens.campaign_detail import CampaignDetailScreen
from screens.campaign_recipients import CampaignRecipientsScreen
from screens.campaigns import CampaignsScreen
from tests.tui import campaign_clinic as fixtures
from tests.tui.conftest import CLOCK, NOW, screen_text, settle

campaign_clinic = fixtures.campaign_clinic
campaign_app = fixtures.campaign_app
INVITATION = "Invitation à l'application"


async def open_campaigns(pilot: Pilot[int]) -> CampaignsScreen:
    await settle(pilot)
    await pilot.press("f4")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, CampaignsScreen)
    return screen


async def open_patients(pilot: Pilot[int], name: str = INVITATION) -> CampaignRecipientsScreen:
    screen = await open_campaigns(pilot)
    screen.table.move_cursor(row=[c.name for c in screen.campaigns].index(name))
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, CampaignRecipientsScreen)
    return pilot.app.screen


def recipient_count(clinic) -> int:
    with clinic.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(CampaignRecipient)) or 0)


async def test_the_list_shows_type_mode_status_and_every_count(campaign_app) -> None:
    app = campaign_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_campaigns(pilot)
        rows = {screen.table.get_row_at(index)[0].split(" ")[0]: screen.table.get_row_at(index)[1:]
                for index in range(screen.table.row_count)}
    assert rows["Invitation"] == ["Invitation", "Email", "Started", "4", "2", "2", "0", "0"]
    assert rows["Congé"] == ["App", "App", "Draft", "0", "0", "0", "0", "0"]


async def test_a_csv_with_problems_shows_its_report_and_adds_nobody(campaign_app, campaign_clinic,
                                                                     tmp_path: Path) -> None:
    bad = tmp_path / "liste.csv"
    bad.write_text("No de dossier;Nom\n100105;St-Pierre\n999999;Inconnu\n100105;St-Pierre\n", encoding="cp1252")
    wrong = tmp_path / "courriels.csv"
    wrong.write_text("Courriel\nx@example.org\n")
    before = recipient_count(campaign_clinic)
    app = campaign_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_patients(pilot)
        await pilot.press("a")
        await settle(pilot)
        add = app.screen
        assert isinstance(add, AddPatientsScreen)
        add.query_one("#add-tabs", TabbedContent).active = "tab-csv"
        add.query_one("#csv-path", Input).value = str(bad)
        await settle(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert app.screen is add  # refused: the screen stays with the report
        report = str(add.query_one("#csv-report", Static).render())
        assert "Nothing was added: 2 rows of the file have a problem." in report
        assert "Row 3: 999999 no patient has this chart ID" in report
        assert "Row 4: 100105 duplicate of row 2" in report
        add.query_one("#csv-path", Input).value = str(wrong)
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert "No chart ID column" in str(add.query_one("#csv-report", Static).render())
        add.query_one("#csv-path", Input).value = str(tmp_path / "absent.csv")
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert "cannot be read" in str(add.query_one("#add-count", Static).render())
    assert recipient_count(campaign_clinic) == before


async def test_the_type_of_a_started_campaign_is_locked_and_refused_if_forced(campaign_app) -> None:
    app = campaign_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_patients(pilot)
        await pilot.press("e")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, CampaignDetailScreen)
        kind = detail.query_one("#campaign-kind", Select)
        assert kind.disabled and kind.value == "invitation"
        assert detail.query_one("#campaign-name", Input).value == INVITATION
        kind.value = "app"  # forced past the locked field: the service refuses it, and says why first
        detail.query_one("#campaign-starts", Input).value = "2025-03-01"
        detail.query_one("#campaign-ends", Input).value = "2025-03-31"
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is detail
        assert "cannot change: create a new campaign" in str(detail.query_one("#campaign-error", Static).render())
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CampaignRecipientsScreen)
        assert "Invitation · Started" in screen_text(pilot)


async def test_removing_a_patient_someone_else_removed_says_so(campaign_app, campaign_clinic) -> None:
    app = campaign_app()
    async with app.run_test(size=(80, 24)) as pilot:
        patients = await open_patients(pilot)
        row = patients.highlighted()
        assert row is not None
        with campaign_clinic.uow(write=True) as uow:  # another workstation removes it meanwhile
            remove_recipient(uow, patients.campaign_id, row.id)
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        messages = [notification.message for notification in app._notifications]
        assert any("already removed" in message for message in messages), messages
        assert patients.loaded is not None
        assert next(r for r in patients.loaded.page.rows if r.id == row.id).status == "removed"
    with campaign_clinic.uow(write=True) as uow:
        assert [r.status for r in list_recipients(uow, patients.campaign_id).rows].count("removed") == 1


async def test_a_new_invitation_is_pre_filled_and_ctrl_t_gives_the_other_language(campaign_app) -> None:
    app = campaign_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_campaigns(pilot)
        await pilot.press("n")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, CampaignDetailScreen)
        english, french = default_invitation("en"), default_invitation("fr")
        assert detail.query_one("#campaign-subject", Input).value == english.subject
        assert detail.query_one("#campaign-body", TextArea).text == english.body
        assert "14 days after it is sent" in screen_text(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert detail.query_one("#campaign-subject", Input).value == french.subject
        assert detail.query_one("#campaign-body", TextArea).text == french.body


async def test_push_notifications_show_in_the_outbox_screen(campaign_app, campaign_clinic) -> None:
    from screens.outbox import OutboxScreen

    easter = fixtures.campaign_id(campaign_clinic, "Congé de Pâques")
    with campaign_clinic.uow(write=True) as uow:
        assign_csv(uow, easter, b"Chart ID\n100102\n100104\n", today=CLOCK.today())  # consent and push on
    with campaign_clinic.uow(write=True) as uow:
        result = start_campaign(uow, easter, settings=campaign_clinic.settings, cipher=campaign_clinic.cipher,
                                now=NOW)
    assert result.sent == 2
    assert deliver_due(campaign_clinic, utcnow()) == 2  # the default transport: the local mailbox
    assert len(list((campaign_clinic.data_dir / "mailbox").glob("*-push-*.json"))) == 2
    app = campaign_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)
        await settle(pilot)
        text = screen_text(pilot)
    assert text.count("push") == 2, text


async def test_a_new_campaign_switched_to_app_drops_the_invitation_text(campaign_app) -> None:
    app = campaign_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_campaigns(pilot)
        await pilot.press("n")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, CampaignDetailScreen)
        subject, body = detail.query_one("#campaign-subject", Input), detail.query_one("#campaign-body", TextArea)
        detail.query_one("#campaign-kind", Select).value = "app"
        await settle(pilot)
        assert (subject.value, body.text) == ("", "")  # the link [weblink] has no place in an app message
        assert "Title" in screen_text(pilot) and "Shown from" in screen_text(pilot)
        subject.value = "Horaire des fêtes"
        detail.query_one("#campaign-kind", Select).value = "invitation"
        await settle(pilot)
        assert subject.value == "Horaire des fêtes" and body.text == ""  # typed text is never replaced
        subject.value = ""
        detail.query_one("#campaign-kind", Select).value = "app"
        await settle(pilot)
        detail.query_one("#campaign-kind", Select).value = "invitation"
        await settle(pilot)
        assert subject.value == default_invitation("en").subject


async def test_add_one_patient_by_search_then_refresh_shows_others_additions(campaign_app, campaign_clinic) -> None:
    app = campaign_app()
    async with app.run_test(size=(80, 24)) as pilot:
        patients = await open_patients(pilot)
        assert patients.loaded is not None and patients.loaded.detail.summary.counts.assigned == 4
        assert "2025-03-03" in screen_text(pilot)  # the day added, not the day sent (2025-03-10)
        assert "2025-03-10" not in screen_text(pilot)
        await pilot.press("a")
        await settle(pilot)
        add = app.screen
        assert isinstance(add, AddPatientsScreen)
        add.query_one("#add-tabs", TabbedContent).active = "tab-one"
        add.query_one("#one-search", Input).value = "Nguyen"
        await settle(pilot)
        add.query_one("#one-search", Input).focus()
        await pilot.press("enter")  # from the search field to the results
        await settle(pilot)
        assert app.screen.focused is add.query_one("#one-results")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is patients
        assert patients.loaded.detail.summary.counts.assigned == 5
        assert "Nguyen, Linh" in screen_text(pilot)
        with campaign_clinic.uow(write=True) as uow:  # someone else adds one meanwhile
            assign_csv(uow, patients.campaign_id, b"Chart ID\n100107\n", today=CLOCK.today())
        await pilot.press("r")
        await settle(pilot)
        assert patients.loaded.detail.summary.counts.assigned == 6
        assert "Tremblay, Noah" in screen_text(pilot)


async def test_a_saved_condition_set_loads_into_the_builder_with_its_count(campaign_app) -> None:
    from screens.campaign_add import ConditionRow

    app = campaign_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_patients(pilot)
        await pilot.press("a")
        await settle(pilot)
        add = app.screen
        assert isinstance(add, AddPatientsScreen)
        await pilot.press("ctrl+n")
        await settle(pilot)
        rows = list(add.query(ConditionRow))
        rows[1].query_one(Input).value = "40"
        add.query_one("#set-name", Input).value = "Adultes de 40 ans et plus"
        await settle(pilot)
        assert "3 patients match every condition." in screen_text(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Condition set saved." in screen_text(pilot)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        again = app.screen
        assert isinstance(again, AddPatientsScreen) and again is not add
        assert len(list(again.query(ConditionRow))) == 1
        again.query_one("#saved-sets", Select).value = "Adultes de 40 ans et plus"
        await settle(pilot)
        assert [row.condition() for row in again.query(ConditionRow)] == [
            Condition("connected_system", "is_not", "patient_app"), Condition("age", "ge", "40")]
        assert "3 patients match every condition." in screen_text(pilot)
