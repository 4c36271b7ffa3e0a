"""Pilot tests of the Compose screen (MS-1): from the patient view or a selection, template picker,
attachments checked as MS-8 says, preview with the skipped count, send through the core, licence
refusal and render errors shown before sending."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from textual.widgets import Checkbox, Input, OptionList, SelectionList, TextArea

from core.bootstrap import Accueil
from core.db.models import Attachment, FormRequest, Message, OutboxItem, Patient, User
from core.i18n import set_language
from screens.compose import ComposeScreen
from screens.compose_preview import PreviewScreen
from screens.confirm import ConfirmScreen
from screens.patient_view import PatientViewScreen
from screens.template_picker import TemplatePicker
from tests.tui.conftest import STAFF_USER, screen_text, settle
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]


def patient_id(clinic: Accueil, chart_id: str) -> int:
    with clinic.uow() as uow:
        return int(uow.session.scalar(select(Patient.id).where(Patient.chart_id == chart_id)))


@pytest.fixture
def consenting(clinic: Accueil) -> None:
    """Patrick O'Neil and Jean-François Coté agreed to email; Marie Côté's address bounced."""
    with clinic.uow(write=True) as uow:
        for patient in uow.session.scalars(select(Patient).where(Patient.chart_id.in_(["100104", "100102"]))):
            patient.email_consent = True
        uow.commit()


def messages(clinic: Accueil) -> list[tuple[str, str]]:
    """(subject, address) of every message, oldest first."""
    with clinic.uow() as uow:
        return [(row.subject, row.to_address) for row in
                uow.session.execute(select(Message.subject, Message.to_address).order_by(Message.id))]


async def open_compose(pilot, clinic: Accueil, chart_id: str) -> ComposeScreen:  # type: ignore[no-untyped-def]
    await settle(pilot)
    pilot.app.push_screen(PatientViewScreen(patient_id(clinic, chart_id)))
    await settle(pilot)
    await pilot.press("m")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ComposeScreen)
    return screen


def write(screen: ComposeScreen, subject: str, body: str) -> None:
    screen.query_one("#subject", Input).value = subject
    screen.query_one("#salutation", Input).value = "Dear @ptPreferredOrFirstName,"
    screen.query_one("#body", TextArea).text = body


async def test_compose_from_the_patient_view_previews_then_sends(make_app: AppFactory, clinic: Accueil,
                                                                  consenting: None) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compose(pilot, clinic, "100104")
        assert "O'NEIL, Patrick (100104)" in str(screen.query_one("#compose-to").content)
        write(screen, "Your results", "<p>Your results are ready: [weblink]</p>")
        screen.query_one("#secure", TextArea).text = "All normal."
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, PreviewScreen)
        shown = screen_text(pilot)
        assert "Will be sent to 1 patient." in shown
        assert "Dear Patrick," in shown and "Subject: Your results" in shown
        assert messages(clinic) == []  # a preview sends nothing
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, PatientViewScreen)  # back where the message was started
        assert "Messages (1)" in screen_text(pilot) and "queued" in screen_text(pilot)
    sent = messages(clinic)
    assert sent == [("Your results", "patrick.oneil@example.net")]
    with clinic.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxItem)) == 1


async def test_a_selection_counts_the_skipped_and_sends_to_the_others(make_app: AppFactory, clinic: Accueil,
                                                                       consenting: None) -> None:
    with clinic.uow() as uow:
        ids = list(uow.session.scalars(select(Patient.id).order_by(Patient.chart_id)))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(ComposeScreen(ids))
        await settle(pilot)
        screen = app.screen
        assert "To: 8 patients" in str(screen.query_one("#compose-to").content)
        write(screen, "Clinic closed Friday", "<p>The clinic is closed on Friday.</p>")
        await pilot.press("ctrl+s")
        await settle(pilot)
        shown = screen_text(pilot)
        assert "Will be sent to 2 patients." in shown
        # Marie: bounced address; five others have no email address.
        assert "Skipped: 6" in shown and "no email address: 5" in shown and "address bounced" in shown
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, ComposeScreen | PreviewScreen)
    assert sorted(address for _subject, address in messages(clinic)) == ["jf.cote@example.org", "patrick.oneil@example.net"]


async def test_an_unknown_placeholder_is_shown_before_sending(make_app: AppFactory, clinic: Accueil,
                                                              consenting: None) -> None:
    set_language("fr")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compose(pilot, clinic, "100104")
        write(screen, "Rendez-vous", "<p>Votre rendez-vous du @apptDate avec @ptSurnom.</p>")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        status = str(screen.query_one("#compose-status").content)
        assert "@ptSurnom" in status and "@apptDate" in status
        assert "This" not in status  # in French
    assert messages(clinic) == []


async def test_a_support_staff_member_without_licence_is_refused(make_app: AppFactory, clinic: Accueil,
                                                                 consenting: None) -> None:
    with clinic.uow(write=True) as uow:  # the signed-in front desk loses the licence that enabled her
        uow.session.execute(update(User).where(User.username == STAFF_USER).values(enabled_by_licence_id=None))
        uow.commit()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compose(pilot, clinic, "100104")
        assert "from Sophie Bélanger" in str(screen.query_one("#compose-to").content)
        write(screen, "Hello", "<p>Hello</p>")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert "not enabled by any licence" in str(screen.query_one("#compose-status").content)
    assert messages(clinic) == []


async def test_attachments_are_checked_and_sent(make_app: AppFactory, clinic: Accueil, consenting: None,
                                                tmp_path: Path) -> None:
    (tmp_path / "résultats.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
    (tmp_path / "fake.pdf").write_bytes(b"PK\x03\x04 not a pdf at all")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compose(pilot, clinic, "100104")
        write(screen, "Your report", "<p>See the report: [weblink]</p>")
        path = screen.query_one("#attach-path", Input)
        path.focus()
        path.value = str(tmp_path / "fake.pdf")
        await pilot.press("enter")
        await settle(pilot)
        assert "is not a pdf file" in str(screen.query_one("#compose-status").content)
        path.value = str(tmp_path / "rés")
        await pilot.press("right")  # accept the suggested completion
        assert path.value == str(tmp_path / "résultats.pdf")
        await pilot.press("enter")
        await settle(pilot)
        assert screen.query_one("#attachments", OptionList).option_count == 1
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
    with clinic.uow() as uow:
        names = list(uow.session.scalars(select(Attachment.display_name)))
    assert names == ["résultats.pdf"]


async def test_the_template_picker_fills_the_form(make_app: AppFactory, clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compose(pilot, clinic, "100104")
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert isinstance(app.screen, TemplatePicker)
        names = app.screen.names
        for _step in range(names.index("Défaut - message sécurisé")):
            await pilot.press("down")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert screen.query_one("#subject", Input).value == "Un message de votre équipe soignante"
        assert screen.template_id is not None
        await pilot.press("escape")  # something was typed: leaving asks first
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("escape", "y")
        await settle(pilot)
        assert isinstance(app.screen, PatientViewScreen)


async def test_the_palette_writes_to_the_open_patient(make_app: AppFactory, clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"write a message")
        await settle(pilot)
        await pilot.press("enter")  # no patient open: told so, nothing opens
        await settle(pilot)
        assert not isinstance(app.screen, ComposeScreen)
        app.push_screen(PatientViewScreen(patient_id(clinic, "100107")))
        await settle(pilot)
        await pilot.press("ctrl+p", *"write a message")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        assert app.screen.patient_ids == [patient_id(clinic, "100107")]


async def test_a_large_selection_is_sent_in_batches(make_app: AppFactory, clinic: Accueil) -> None:
    from core.patients.keys import fold
    from screens.compose import BATCH

    count = 2 * BATCH + 7
    with clinic.uow(write=True) as uow:
        uow.session.add_all(Patient(chart_id=f"9{number:05d}", last_name="Lévesque-O'Brien", first_name=f"Zoé {number}",
                                    last_key=fold("Lévesque-O'Brien"), first_key=fold(f"Zoé {number}"),
                                    email=f"zoe.{number}@example.org", email_consent=True, language="fr")
                            for number in range(count))
        uow.commit()
    with clinic.uow() as uow:
        ids = list(uow.session.scalars(select(Patient.id).where(Patient.chart_id.like("9%"))))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(ComposeScreen(ids))
        await settle(pilot)
        assert f"To: {count} patients" in str(app.screen.query_one("#compose-to").content)
        write(app.screen, "Clinique fermée vendredi", "<p>La clinique est fermée vendredi.</p>")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert f"Will be sent to {count} patients." in screen_text(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, ComposeScreen | PreviewScreen)
    with clinic.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Message)) == count
        assert uow.session.scalar(select(func.count(func.distinct(OutboxItem.message_id)))) == count


async def test_eforms_and_every_option_reach_the_message(make_app: AppFactory, clinic: Accueil,
                                                         consenting: None) -> None:
    """The eForm picker, reply window (in days), notifications and identity checks, password included."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compose(pilot, clinic, "100104")
        write(screen, "Before your visit", "<p>Please fill in the form: [weblink]</p>")
        screen.query_one("#eforms", SelectionList).select("health_questionnaire")
        for box in ("allow-reply", "allow-attachment", "notify-viewed", "notify-completed"):
            screen.query_one(f"#{box}", Checkbox).value = True
        screen.query_one("#no-response", Input).value = "5"
        screen.query_one("#checks", SelectionList).select("password")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen  # the password check without the password
        assert "password the patient was given" in str(screen.query_one("#compose-status").content)
        screen.query_one("#password", Input).value = "Tulipe-2025"
        screen.query_one("#reply-until", Input).value = "2020-01-01"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert "must end today or later" in str(screen.query_one("#compose-status").content)
        screen.query_one("#reply-until", Input).value = "14"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, PreviewScreen)
        await pilot.press("ctrl+s")
        await settle(pilot)
    with clinic.uow() as uow:
        options, message_id = uow.session.execute(select(Message.options, Message.id)).one()
        forms = uow.session.scalar(select(func.count()).select_from(FormRequest)
                                   .where(FormRequest.message_id == message_id))
    assert forms == 1
    assert {k: v for k, v in options.items() if k != "password_scrypt"} == {
        "allow_reply": True, "allow_attachment": True, "reply_until": None, "reply_days": 14, "notify_viewed": True,
        "notify_completed": True, "notify_no_response_days": 5, "identity_checks": ["date_of_birth", "password"]}
    assert "Tulipe-2025" not in str(options) and options["password_scrypt"]
