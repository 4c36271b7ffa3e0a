"""Pilot tests and snapshots (80×24, EN and FR) of the Site section (F6) against a loopback DNS server."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from textual.pilot import Pilot

from core.bootstrap import Accueil
from core.db.models import AuditEntry, OutboxItem, Site, utcnow
from core.i18n import set_language
from core.sender import approval
from core.settings import Settings
from core.users import add_user
from screens.site import SiteScreen
from tests.conftest import TEST_SITE_KEY
from tests.dnsserver import ZoneServer
from tests.sender_zones import clinic as clinic_zone
from tests.sender_zones import sender_settings, zones
from tests.tui.conftest import NOW, low_colour, settle, sign_in_as
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]
SIZE = (80, 24)


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dkim") / "dkim.key"


@pytest.fixture
def dns_server(key_file: Path) -> Iterator[ZoneServer]:
    server = ZoneServer(zones(key_file))
    yield server
    server.close()


@pytest.fixture
def tui_settings(tmp_path: Path, sqlite_template: Path, dns_server: ZoneServer, key_file: Path) -> Settings:
    target = tmp_path / "accueil.db"
    shutil.copyfile(sqlite_template, target)
    return Settings(database_url=f"sqlite:///{target}", data_dir=tmp_path / "data", config_dir=tmp_path / "config",
                    site_key=TEST_SITE_KEY, sender=sender_settings(dns_server.port, key_file))


@pytest.fixture
def operator(clinic: Accueil) -> Accueil:
    with clinic.uow(write=True) as uow:
        add_user(uow, username="opal", display_name="Opal Côté", role="operator", password=None)
    sign_in_as(clinic, "opal")
    return clinic


def page(pilot: Pilot[int]) -> str:
    return str(pilot.app.screen.query_one("#site-text").render())


async def open_site(pilot: Pilot[int]) -> SiteScreen:
    await settle(pilot)
    await pilot.press("f6")
    await settle(pilot)
    assert isinstance(pilot.app.screen, SiteScreen)
    return pilot.app.screen


async def test_site_shows_the_account_and_edits_it(make_app: AppFactory, clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_site(pilot)
        text = page(pilot)
        assert "Clinique synthétique du Plateau" in text and "no-reply@accueil.example" in text
        assert "None: email is sent from the default no-reply address" in text
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("ctrl+u", *"Clinique du Plateau", "tab", *"direction@plateau.example", "ctrl+s")
        await settle(pilot)
        assert "Clinique du Plateau" in page(pilot) and "direction@plateau.example" in page(pilot)
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("tab", "ctrl+u", *"pas une adresse", "ctrl+s")
        await settle(pilot)
        assert "pas une adresse is not an email address." in [n.message for n in app._notifications]
    with clinic.uow() as uow:
        site = uow.session.execute(select(Site.email_friendly_name, Site.admin_contact_email)).one()
        actions = uow.session.scalars(select(AuditEntry.action)).all()
    assert tuple(site) == ("Clinique du Plateau", "direction@plateau.example")
    assert actions.count("site.details_changed") == 1


async def test_a_yellow_address_shows_what_is_wrong_and_waits_for_the_operator(make_app: AppFactory,
                                                                                operator: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_site(pilot)
        assert not screen.check_action("decide", (True,))
        await pilot.press("f")
        await pilot.pause()
        await pilot.press(*"no-reply@spfonly.test", "enter")
        await settle(pilot)
        text = page(pilot)
        assert "● yellow" in text and "waiting for an operator's approval" in text
        assert "✗ DKIM No CNAME record at accueil1._domainkey.spfonly.test." in text
        assert "accueil2._domainkey.spfonly.test  CNAME  accueil2._domainkey.accueil.example" in text
        assert "Email is sent from: no-reply@accueil.example" in text
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard.splitlines() == [
            "accueil1._domainkey.spfonly.test\tCNAME\taccueil1._domainkey.accueil.example",
            "accueil2._domainkey.spfonly.test\tCNAME\taccueil2._domainkey.accueil.example"]
        await pilot.press("a")
        await settle(pilot)
        assert "approved: in use" in page(pilot) and "Email is sent from: no-reply@spfonly.test" in page(pilot)
    with operator.uow() as uow:
        assert uow.session.scalar(select(OutboxItem.payload))["to"] == "operator@accueil.example"


async def test_without_an_operator_nothing_can_be_approved(make_app: AppFactory, clinic: Accueil) -> None:
    approval.submit(clinic, "no-reply@green.test")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_site(pilot)
        assert "● green" in page(pilot)
        assert not screen.check_action("decide", (True,))
        await pilot.press("a")
        await settle(pilot)
    with clinic.uow() as uow:
        assert uow.session.scalar(select(Site.custom_from_state)) == "pending"


async def test_a_fallback_is_shown_first(make_app: AppFactory, operator: Accueil, dns_server: ZoneServer) -> None:
    approval.submit(operator, "no-reply@green.test")
    with operator.uow(write=True) as uow:
        approval.decide(uow, "no-reply@green.test", operator="opal", approve=True)
    dns_server.set_zone("green.test", clinic_zone("green.test", ""))
    assert approval.revalidate(operator, utcnow() + timedelta(days=2)) == 1
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_site(pilot)
        text = page(pilot)
        assert text.startswith("The custom From address no-reply@green.test failed its daily check")
        assert "● red" in text and "failed its daily check: not used" in text


@pytest.fixture
def pending_yellow(clinic: Accueil) -> None:
    approval.submit(clinic, "no-reply@spfonly.test", now=NOW)


def test_site_snapshot(snap_compare: Callable[..., bool], make_app: AppFactory, pending_yellow: None) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=open_site)


def test_site_snapshot_in_french(snap_compare: Callable[..., bool], make_app: AppFactory, pending_yellow: None) -> None:
    set_language("fr")
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=open_site)


async def test_the_audit_viewer_shows_who_saw_a_record_and_exports(make_app: AppFactory, clinic: Accueil) -> None:
    from core import audit
    from core.db.models import Patient
    from screens.audit_viewer import AuditViewerScreen

    with clinic.uow(write=True) as uow:
        marie = uow.session.scalar(select(Patient.id).where(Patient.chart_id == "100101"))
        audit.record(uow.session, actor="reception2", action="patient.view", patient_id=marie)
        uow.commit()
    with clinic.uow(write=True) as uow:  # only an administrator reads the trail
        add_user(uow, username="zoe.admin", display_name="Zoé Admin", role="administrator", password=None)
    sign_in_as(clinic, "zoe.admin")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_site(pilot)
        await pilot.press("u")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AuditViewerScreen)
        assert str(screen.query_one("#audit-verify").render()).startswith("Audit trail intact:")
        await pilot.press(*"100101", "enter")
        await settle(pilot)
        # The first page (all entries) named this patient: that look was audited too.
        assert [(r.actor, r.action, r.chart_id) for r in screen.rows] == [
            (clinic.actor, "audit.view", "100101"), ("reception2", "patient.view", "100101")]
        await pilot.press("tab", "tab", *"2025-13-01", "enter")
        await settle(pilot)
        assert "2025-13-01 is not a date (YYYY-MM-DD)." in [n.message for n in app._notifications]
        await pilot.press("ctrl+u", "ctrl+s")
        await settle(pilot)
        exported = list((clinic.data_dir / "exports").glob("audit-*.csv"))
        assert len(exported) == 1 and "reception2" in exported[0].read_text(encoding="utf-8-sig")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SiteScreen)
    with clinic.uow() as uow:
        actions = uow.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["audit.view", "audit.export"]


async def test_the_front_desk_cannot_read_the_audit_trail(make_app: AppFactory, clinic: Accueil) -> None:
    from screens.audit_viewer import AuditViewerScreen

    app = make_app()  # the front desk (a moa) is signed in
    async with app.run_test(size=SIZE) as pilot:
        await open_site(pilot)
        await pilot.press("u")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AuditViewerScreen)
        assert screen.rows == ()
        assert "Only an administrator can read or export the audit trail." in [n.message for n in app._notifications]
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not list((clinic.data_dir / "exports").glob("audit-*.csv"))


async def test_staff_administration(make_app: AppFactory, clinic: Accueil) -> None:
    from screens.admin_users import StaffScreen

    with clinic.uow(write=True) as uow:  # the person running the TUI administers the clinic
        add_user(uow, username="zoe.admin", display_name="Zoé Admin", role="administrator", password=None)
    sign_in_as(clinic, "zoe.admin")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_site(pilot)
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, StaffScreen)
        assert [r.username for r in screen.rows] == ["dr.okafor", "sbelanger", "zoe.admin"]
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"dre.tremblay", "tab", *"Dre Anne Tremblay", "tab", "ctrl+u", *"provider", "ctrl+s")
        await settle(pilot)
        assert [r.username for r in screen.rows] == ["dr.okafor", "dre.tremblay", "sbelanger", "zoe.admin"]
        await pilot.press("g", "k")
        await settle(pilot)
        await pilot.press("m")
        await pilot.pause()
        await pilot.press(*"adjointe@plateau.example", "enter")
        await settle(pilot)
        row = screen.rows[0]
        assert (row.holds_licence, row.can_campaigns, row.delegates) == (True, True, ("adjointe@plateau.example",))
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("ctrl+u", *"chirurgien", "enter")
        await settle(pilot)
        assert any("Unknown role chirurgien" in n.message for n in app._notifications)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SiteScreen)


async def test_only_an_administrator_changes_staff_accounts(make_app: AppFactory, clinic: Accueil) -> None:
    from screens.admin_users import StaffScreen

    app = make_app()  # the front desk (a moa) is signed in
    async with app.run_test(size=SIZE) as pilot:
        await open_site(pilot)
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, StaffScreen)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"dre.tremblay", "tab", *"Dre Anne Tremblay", "tab", "ctrl+u", *"provider", "ctrl+s")
        await settle(pilot)
        assert "dre.tremblay" not in [row.username for row in screen.rows]  # the front desk is no administrator
        assert any("Only an administrator" in n.message for n in app._notifications)


def test_site_snapshot_low_colour_in_french(snap_compare: Callable[..., bool], make_app: AppFactory,
                                            pending_yellow: None) -> None:
    set_language("fr")
    assert snap_compare(low_colour(make_app()), terminal_size=SIZE, run_before=open_site)
