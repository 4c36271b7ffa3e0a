"""PT-5 pilot tests: the patient view's access log ("who saw this record")."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from core import audit
from core.bootstrap import Accueil
from core.db.models import Patient
from core.i18n import set_language
from screens.patient_view import ACCESS_LOG_ROWS, PatientViewScreen
from tests.tui.conftest import STAFF_USER, settle
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]


def patient_id(clinic: Accueil, chart_id: str) -> int:
    with clinic.uow() as uow:
        return uow.session.scalar(select(Patient.id).where(Patient.chart_id == chart_id))


def access_log(screen: PatientViewScreen) -> list[str]:
    """The access log's lines as drawn: from its heading to the end of the record."""
    lines = str(screen.query_one("#record-body").render()).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(("Access log", "Journal des accès")))
    return [" ".join(line.split()) for line in lines[start:]]


async def open_marie(pilot) -> PatientViewScreen:
    await settle(pilot)
    await pilot.press(*"cote", "down", "enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, PatientViewScreen)
    return screen


async def test_the_access_log_says_who_did_what_to_this_record_newest_first(make_app: AppFactory,
                                                                           clinic: Accueil) -> None:
    marie, patrick = patient_id(clinic, "100101"), patient_id(clinic, "100104")
    with clinic.uow(write=True) as uow:
        audit.record(uow.session, actor="dr.okafor", action="message.send", patient_id=marie)
        audit.record(uow.session, actor="dr.okafor", action="patient.view", patient_id=patrick)
        audit.record(uow.session, actor="portal", action="portal.some_new_action", patient_id=marie)
        uow.commit()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_marie(pilot)
        log = access_log(screen)
        assert log[0] == "Access log (latest 3)"
        assert [line.split(" ", 2)[2] for line in log[1:]] == [  # after the date and the time
            f"{STAFF_USER} opened the record", "portal portal.some_new_action", "dr.okafor sent a message"]
        await pilot.press("escape", "enter")  # open it again: the new view is listed first
        await settle(pilot)
        assert isinstance(app.screen, PatientViewScreen)
        log = access_log(app.screen)
        assert log[0] == "Access log (latest 4)"
        assert log[1].endswith(f"{STAFF_USER} opened the record") and log[2].endswith("opened the record")


async def test_the_access_log_is_bounded_and_speaks_french(make_app: AppFactory, clinic: Accueil) -> None:
    marie = patient_id(clinic, "100101")
    with clinic.uow(write=True) as uow:
        audit.record_many(uow.session, actor="dr.okafor", action="chart.view",
                          entries=[(marie, None)] * (ACCESS_LOG_ROWS + 5))
        uow.commit()
    set_language("fr")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_marie(pilot)
        log = access_log(screen)
        assert log[0] == f"Journal des accès ({ACCESS_LOG_ROWS} derniers)"
        assert len(log) == 1 + ACCESS_LOG_ROWS
        assert log[1].endswith(f"{STAFF_USER} a ouvert le dossier")
        assert all(line.endswith("dr.okafor a lu une entrée du dossier") for line in log[2:])


async def test_a_patient_with_no_entry_but_this_view_shows_only_it(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_marie(pilot)
        log = access_log(screen)
        assert log[0] == "Access log (latest 1)" and log[1].endswith(f"{STAFF_USER} opened the record")
