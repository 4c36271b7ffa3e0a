"""PT-4 pilot tests: find or create a patient by health number, every key path, on the fixed clinic."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import select
from textual.widgets import DataTable, Select

from core.bootstrap import Accueil
from core.db.models import AuditEntry, Patient
from core.i18n import set_language
from core.patients.keys import fold, health_key
from screens.help import HelpScreen
from screens.patient_find import FindOrCreateScreen
from screens.patient_view import PatientViewScreen
from screens.patients import PatientsScreen
from tests.tui.conftest import STAFF_USER, screen_text, settle
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]


async def open_find(pilot) -> FindOrCreateScreen:
    await settle(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, FindOrCreateScreen)
    return screen


async def choose_province(pilot, downs: int) -> None:
    """From the number: Shift+Tab to the province, open its list, move ``downs`` rows, Enter."""
    await pilot.press("shift+tab", "enter", *(["down"] * downs), "enter", "tab")
    await settle(pilot)


def check_line(screen: FindOrCreateScreen) -> str:
    return str(screen.query_one("#number-check").render())


def match_names(screen: FindOrCreateScreen) -> list[str]:
    table = screen.query_one("#matches", DataTable)
    return [str(table.get_row_at(row)[0]) for row in range(table.row_count)] if table.display else []


async def test_found_one_and_enter_opens_the_record(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_find(pilot)
        await pilot.press(*"cotm-8005-1212")
        assert check_line(screen) == "✓ Valid health number (Quebec): COTM 8005 1212"
        await pilot.press("enter")
        await settle(pilot)
        assert match_names(screen) == ["CÔTÉ, Marie (Mimi)"]
        assert "1 patient has this number" in screen_text(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PatientViewScreen)
        assert "CÔTÉ, Marie (Mimi)" in screen_text(pilot)
        await pilot.press("escape")  # back to the match, still listed
        await settle(pilot)
        assert app.screen is screen and match_names(screen) == ["CÔTÉ, Marie (Mimi)"]


async def test_found_several_lists_each_and_opens_the_highlighted(make_app: AppFactory, clinic: Accueil) -> None:
    with clinic.uow(write=True) as uow:  # an EMR import can bring the same card twice
        uow.session.add(Patient(chart_id="200999", last_name="Côté", first_name="Marie", last_key=fold("Côté"),
                                first_key="marie", date_of_birth=date(1980, 5, 12), health_number="COTM 8005 1212",
                                health_province="QC", health_key=health_key("COTM 8005 1212")))
        uow.commit()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_find(pilot)
        await pilot.press(*"COTM 8005 1212", "enter")
        await settle(pilot)
        assert match_names(screen) == ["CÔTÉ, Marie (Mimi)", "CÔTÉ, Marie"]  # name order, then the older
        assert "2 patients have this number" in screen_text(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, PatientViewScreen)
        assert "200999" in screen_text(pilot) and "(Mimi)" not in screen_text(pilot)


async def test_ontario_number_is_found_after_choosing_the_province(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_find(pilot)
        await pilot.press(*"2975646205CL")
        assert "Quebec health number (RAMQ) is 4 letters" in check_line(screen)
        await choose_province(pilot, 1)
        assert screen.query_one("#province", Select).value == "ON"
        assert check_line(screen) == "✓ Valid health number (Ontario): 2975 646 205 CL"
        await pilot.press("enter")
        await settle(pilot)
        assert match_names(screen) == ["O'NEIL, Patrick"]


async def test_invalid_numbers_per_province_are_named_and_not_looked_up(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_find(pilot)
        await pilot.press(*"COTM 8013 1212", "enter")  # month 13 (or 63): not a date
        await settle(pilot)
        assert check_line(screen) == "The birth date inside this Quebec health number is not a real date."
        assert screen.looked_up is None and match_names(screen) == []
        await choose_province(pilot, 1)
        await pilot.press("ctrl+a", "ctrl+k", *"2975 646 206", "enter")  # a wrong check digit
        await settle(pilot)
        assert check_line(screen) == "This Ontario health number's check digit is wrong: check for a typing error."
        await pilot.press("ctrl+a", "ctrl+k", *"12345")
        assert check_line(screen) == ("An Ontario health number is 10 digits, then an optional version code of 1 "
                                      "or 2 letters.")
        assert screen.looked_up is None and not screen.form.display


async def test_invalid_numbers_are_named_in_french(make_app: AppFactory) -> None:
    set_language("fr")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_find(pilot)
        await pilot.press(*"COTM 8013 1212")
        assert check_line(screen) == "La date de naissance contenue dans ce numéro d'assurance maladie du Québec " \
                                     "n'est pas une vraie date."
        await choose_province(pilot, 2)  # British Columbia: digits and length only
        await pilot.press("ctrl+a", "ctrl+k", *"12345")
        assert check_line(screen) == "Un numéro d'assurance maladie de BC compte 10 chiffres."


async def test_not_found_then_create_opens_the_new_record_and_audits(make_app: AppFactory, clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_find(pilot)
        await pilot.press(*"LEVA 9052 1401", "enter")
        await settle(pilot)
        assert screen.form.display and match_names(screen) == []
        assert "No patient has this number" in screen_text(pilot)
        await pilot.press("ctrl+s")  # empty form: refused with a reason
        await settle(pilot)
        assert "Last name and first name are both needed." in screen_text(pilot)
        await pilot.press(*"Lévesque", "enter", *"Anaïs", "enter", *"14/02/1990", "tab")
        await pilot.press("enter", "down", "enter", "tab")  # sex: Female
        await pilot.press("tab", *"anais@example.com", "enter", *"514-555-0199", "tab", "space", "tab")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, PatientViewScreen)
        text = screen_text(pilot)
        assert "LÉVESQUE, Anaïs" in text and "LEVA 9052 1401 (QC)" in text
    with clinic.uow() as uow:
        patient = uow.session.scalars(select(Patient).where(Patient.health_key == "LEVA90521401")).one()
        actions = uow.session.execute(select(AuditEntry.actor, AuditEntry.action)
                                      .where(AuditEntry.patient_id == patient.id).order_by(AuditEntry.id)).all()
        assert (patient.sex, patient.date_of_birth, patient.email, patient.phone) == (
            "F", date(1990, 2, 14), "anais@example.com", "514-555-0199")
        assert patient.email_consent and patient.email_consent_at is not None and not patient.marketing_consent
    assert [tuple(a) for a in actions] == [(STAFF_USER, "patient.create"), (STAFF_USER, "patient.view")]


async def test_quebec_number_is_checked_against_the_name_birth_and_sex(make_app: AppFactory,
                                                                       clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_find(pilot)
        await pilot.press(*"LEVA 9052 1401", "enter")
        await settle(pilot)
        await pilot.press(*"Tremblay", "enter", *"Anaïs", "enter")
        assert check_line(screen) == "The letters of this Quebec health number do not match the patient's name."
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FindOrCreateScreen)
        await pilot.press("shift+tab", "shift+tab", "ctrl+a", "ctrl+k", *"Lévesque", "tab", "tab", *"1990-02-15")
        assert check_line(screen) == "The birth date inside this Quebec health number does not match the patient's."
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Not created: see the message under the health number." in str(screen.query_one("#form-check").render())
        assert isinstance(app.screen, FindOrCreateScreen)
    with clinic.uow() as uow:
        assert uow.session.scalar(select(Patient.id).where(Patient.health_key == "LEVA90521401")) is None


async def test_escape_goes_back_to_the_number_then_to_patients(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_find(pilot)
        await pilot.press(*"LEVA 9052 1401", "enter")
        await settle(pilot)
        assert screen.form.display
        await pilot.press("escape")
        assert not screen.form.display and screen.looked_up is None
        assert app.focused is not None and app.focused.id == "health-number"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, PatientsScreen)


async def test_the_palette_opens_it_and_f1_explains_the_focused_field(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"find or create")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FindOrCreateScreen)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        topic = app.screen.topic
        assert "an Ontario version code may follow the 10 digits" in topic.focus_text
        assert ("esc", "Back") in [(key.key, key.description) for key in topic.screen_keys]
        await pilot.press("escape", "shift+tab", "f1")  # the help closed, then on the province
        await settle(pilot)
        assert "Quebec and Ontario numbers are fully checked" in app.screen.topic.focus_text


async def test_a_refusal_from_core_is_shown_in_french_and_nothing_is_created(make_app: AppFactory,
                                                                            clinic: Accueil) -> None:
    set_language("fr")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_find(pilot)
        await choose_province(pilot, 1)
        await pilot.press(*"1234 567 897", "enter")  # Ontario, nobody has it
        await settle(pilot)
        await pilot.press(*"Nguyen", "enter", *"Linh", "enter", *"1959-12-01", "tab", "tab", "tab", "tab", "tab")
        await pilot.press("space", "ctrl+s")  # email consent ticked, but no email address
        await settle(pilot)
        assert str(screen.query_one("#form-check").render()) == \
            "Le consentement aux courriels demande une adresse courriel."
        assert isinstance(app.screen, FindOrCreateScreen)
    with clinic.uow() as uow:
        assert uow.session.scalar(select(Patient.id).where(Patient.health_key == "1234567897")) is None
