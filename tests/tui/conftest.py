"""A small fixed clinic for the screen tests and snapshots, on SQLite only.

These tests test screens, not backends, so one SQLite file per test is enough. The patients
are fictional and chosen for the search's hard cases (accents, apostrophes, hyphens, a long
name); every date is fixed and the app's clock is pinned, so ages, the upcoming/recent split and
local times are the same whatever day the tests run.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import inspect
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from textual.pilot import Pilot
from textual.worker import WorkerFailed

from core.bootstrap import Accueil
from core.db.models import Appointment, ConnectedSystem, Patient, Provider, User
from core.i18n import get_language, set_language
from core.licences import enable_support_staff, grant_licence
from core.patients.keys import fold, health_key, phone_key
from core.settings import Settings
from core.users import add_user
from tests.conftest import TEST_SITE_KEY, open_clinic
from tui.app import AccueilApp
from tui.clock import Clock


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests on a fresh event loop (pilot tests), without an asyncio plugin."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(pyfuncitem.obj(**arguments))
    return True


STAFF_USER = "sbelanger"
STAFF_PASSWORD = "l'accueil-2025"
TORONTO = ZoneInfo("America/Toronto")
NOW = datetime(2025, 3, 10, 9, 0, tzinfo=TORONTO)
CLOCK = Clock(zone=TORONTO, fixed_now=NOW)


@dataclass(frozen=True)
class FixedPatient:
    chart_id: str
    last_name: str
    first_name: str
    date_of_birth: date
    sex: str
    language: str
    health_number: str
    health_province: str
    phone: str
    preferred_name: str | None = None
    health_version: str | None = None
    email: str | None = None


PATIENTS = (
    FixedPatient("100101", "Côté", "Marie", date(1980, 5, 12), "F", "fr", "COTM 8005 1212", "QC", "514-555-0101",
                 preferred_name="Mimi", email="marie.cote@example.com"),
    FixedPatient("100102", "Coté", "Jean-François", date(1975, 11, 30), "M", "fr", "COTJ 7511 3014", "QC",
                 "450-555-0102", email="jf.cote@example.org"),
    FixedPatient("100103", "D'Amours", "Lucie", date(1992, 2, 29), "F", "fr", "DAML 9252 2915", "QC", "819-555-0103"),
    FixedPatient("100104", "O'Neil", "Patrick", date(1968, 7, 4), "M", "en", "2975 646 205", "ON", "613-555-0104",
                 health_version="CL", email="patrick.oneil@example.net"),
    FixedPatient("100105", "St-Pierre", "Hélène", date(2001, 9, 17), "F", "fr", "STPH 0159 1716", "QC",
                 "418-555-0105"),
    FixedPatient("100106", "Gauthier-Lévesque", "Marie-Ève", date(1988, 1, 23), "F", "fr", "GAUM 8851 2318", "QC",
                 "514-555-0106", preferred_name="Marie"),
    FixedPatient("100107", "Tremblay", "Noah", date(2015, 6, 8), "M", "en", "7062 444 315", "ON", "416-555-0107",
                 health_version="NO"),
    FixedPatient("100108", "Nguyen", "Linh", date(1959, 12, 1), "F", "en", "5093 221 874", "ON", "905-555-0108"),
)


def add_fixed_clinic(accueil: Accueil) -> None:
    """Two providers, the eight patients, and Marie Côté's full record (consents, app, two appointments)."""
    with accueil.uow(write=True) as uow:
        session = uow.session
        tremblay = Provider(emr_id="PR100", display_name="Dr Anne Tremblay")
        okafor = Provider(emr_id="PR101", display_name="Dr Samuel Okafor")
        session.add_all([tremblay, okafor])
        session.flush()
        for fixed in PATIENTS:
            session.add(Patient(
                chart_id=fixed.chart_id, last_name=fixed.last_name, first_name=fixed.first_name,
                preferred_name=fixed.preferred_name, last_key=fold(fixed.last_name), first_key=fold(fixed.first_name),
                date_of_birth=fixed.date_of_birth, sex=fixed.sex, language=fixed.language,
                health_number=fixed.health_number, health_province=fixed.health_province,
                health_version=fixed.health_version, health_key=health_key(fixed.health_number),
                phone=fixed.phone, phone_key=phone_key(fixed.phone), email=fixed.email,
                primary_provider_id=tremblay.id,
            ))
        session.flush()
        marie = session.query(Patient).filter_by(chart_id="100101").one()
        marie.postal_code = "H2X 1Y4"
        marie.email_bad_at = datetime(2025, 1, 20, 15, 0, tzinfo=UTC)
        marie.email_consent = True
        marie.email_consent_at = datetime(2023, 5, 26, 12, 0, tzinfo=UTC)
        marie.push_enabled = True
        marie.last_visit = date(2025, 2, 3)
        session.add(ConnectedSystem(patient_id=marie.id, system="patient_app",
                                    connected_at=datetime(2024, 4, 2, 12, 0, tzinfo=UTC)))
        session.add_all([
            Appointment(patient_id=marie.id, provider_id=tremblay.id, kind="visit", status="done",
                        starts_at=datetime(2025, 2, 3, 15, 0, tzinfo=UTC)),
            Appointment(patient_id=marie.id, provider_id=okafor.id, kind="follow_up", status="booked",
                        starts_at=datetime(2025, 3, 14, 14, 30, tzinfo=UTC)),
        ])
        uow.commit()
    with accueil.uow(write=True) as uow:  # the front desk's account, mapped to this OS user: no prompt
        add_user(uow, username=STAFF_USER, display_name="Sophie Bélanger", role="moa", password=STAFF_PASSWORD,
                 os_user=getpass.getuser())
    with accueil.uow(write=True) as uow:  # a licensed provider, whose licence lets the front desk send (MS-7)
        add_user(uow, username="dr.okafor", display_name="Dr Samuel Okafor", role="provider", password=None)
    with accueil.uow(write=True) as uow:
        licence = grant_licence(uow, "dr.okafor")
    with accueil.uow(write=True) as uow:
        enable_support_staff(uow, licence, STAFF_USER)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Each test starts in English and leaves the process language as it found it."""
    set_language("en")
    yield
    set_language("en")


@pytest.fixture
def tui_settings(tmp_path: Path, sqlite_template: Path) -> Settings:
    target = tmp_path / "accueil.db"
    shutil.copyfile(sqlite_template, target)
    return Settings(database_url=f"sqlite:///{target}", data_dir=tmp_path / "data", config_dir=tmp_path / "config",
                    site_key=TEST_SITE_KEY)


@pytest.fixture
def clinic(tui_settings: Settings) -> Iterator[Accueil]:
    with open_clinic(tui_settings, add_fixed_clinic) as running:
        yield running


@pytest.fixture
def make_app(tui_settings: Settings, clinic: Accueil) -> Callable[..., AccueilApp]:
    """``make_app()``: the app on the fixed clinic; ``make_app(opener=…)`` to control opening."""

    opened_as = clinic.actor

    def build(opener: Callable[[], Accueil] | None = None) -> AccueilApp:
        clinic.actor = opened_as  # as freshly opened: a previous app's sign-in set it to its user
        speak_test_language(clinic, STAFF_USER)
        return AccueilApp(tui_settings, opener or (lambda: clinic), clock=CLOCK)

    return build


def speak_test_language(clinic: Accueil, *usernames: str) -> None:
    """The signed-in user (whichever of ``usernames``) speaks the language the test set."""
    with clinic.uow(write=True) as uow:
        uow.session.execute(update(User).where(User.username.in_(usernames)).values(language=get_language()))
        uow.commit()


async def settle(pilot: Pilot[int]) -> None:
    """Wait until the clinic is open and no worker is left running (a worker may start another)."""
    app = pilot.app
    quiet = 0
    for _round in range(500):
        if quiet == 2:
            return
        with contextlib.suppress(WorkerFailed):  # the app handles its workers' failures; tests check how
            await app.workers.wait_for_complete()
        await pilot.pause()
        opening = getattr(app, "accueil", None) is None and app.return_code is None
        quiet = 0 if opening or any(worker.is_running for worker in app.workers) else quiet + 1
    raise AssertionError("the app did not settle: the clinic never opened or a worker never finished")


def screen_text(pilot: Pilot[int]) -> str:
    """What the terminal shows now, as plain text (one line per row)."""
    return "\n".join(strip.text for strip in pilot.app.screen._compositor.render_strips())


def sign_in_as(clinic: Accueil, username: str) -> None:
    """Map this OS user to ``username`` instead of the front desk's account (the app signs it in)."""
    with clinic.uow(write=True) as uow:
        uow.session.execute(update(User).where(User.os_user == getpass.getuser()).values(os_user=None))
        uow.session.execute(update(User).where(User.username == username).values(os_user=getpass.getuser()))
        uow.commit()


def low_colour(app: AccueilApp) -> AccueilApp:
    """The app in the low-colour theme (what a 16-colour terminal gets), for snapshots."""
    app.theme = "accueil-low-colour"
    return app
