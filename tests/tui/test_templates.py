"""Pilot tests of the Templates screen (MS-3): listed from the database, created with every
option, edited, copied under a free name, deleted after confirmation, refusals shown translated."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Checkbox, DataTable, Input, SelectionList, TextArea

from core.bootstrap import Accueil
from core.i18n import set_language
from core.messaging.templates import find_template, list_templates
from screens.confirm import ConfirmScreen
from screens.template_form import TemplateFormScreen
from screens.templates import TemplatesScreen, free_copy_name
from tests.tui.conftest import settle
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]


async def open_templates(pilot) -> None:  # type: ignore[no-untyped-def]
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    await pilot.press("t")
    await settle(pilot)
    assert isinstance(pilot.app.screen, TemplatesScreen)


def names(app: AccueilApp) -> list[str]:
    table = app.screen.query_one("#templates-list", DataTable)
    return [str(table.get_row_at(row)[0]) for row in range(table.row_count)]


async def test_the_defaults_are_listed(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_templates(pilot)
        assert set(names(app)) == {"Default - secure message", "Défaut - message sécurisé",
                                   "Default - appointment reminder", "Défaut - rappel de rendez-vous"}
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, TemplatesScreen)


async def test_a_new_template_saves_every_option(make_app: AppFactory, clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_templates(pilot)
        await pilot.press("n")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TemplateFormScreen)
        screen.query_one("#template-name", Input).value = "Résultats d'analyse"
        screen.query_one("#subject", Input).value = "Vos résultats"
        screen.query_one("#salutation", Input).value = "Bonjour @ptFirstName,"
        screen.query_one("#body", TextArea).text = "<p>Vos résultats sont prêts : [weblink]</p>"
        screen.query_one("#secure", TextArea).text = "Tout est normal."
        screen.query_one("#eforms", SelectionList).select("health_questionnaire")
        for box in ("allow-reply", "allow-attachment", "notify-viewed", "notify-completed"):
            screen.query_one(f"#{box}", Checkbox).value = True
        screen.query_one("#reply-until", Input).value = "2025-04-30"
        screen.query_one("#no-response", Input).value = "7"
        checks = screen.query_one("#checks", SelectionList)
        checks.select("health_number")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, TemplatesScreen)
        assert "Résultats d'analyse" in names(app)
    with clinic.uow() as uow:
        saved = find_template(uow.session, "Résultats d'analyse")
    assert saved.subject == "Vos résultats" and saved.secure_message == "Tout est normal."
    assert saved.eform_codes == ("health_questionnaire",)
    options = saved.options
    assert options.allow_reply and options.allow_attachment and options.notify_viewed and options.notify_completed
    assert options.reply_until is not None and options.reply_until.isoformat() == "2025-04-30"
    assert options.notify_no_response_days == 7
    assert options.identity_checks == ("date_of_birth", "health_number")


async def test_an_unknown_placeholder_is_refused_in_french(make_app: AppFactory, clinic: Accueil) -> None:
    set_language("fr")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_templates(pilot)
        await pilot.press("n")
        await settle(pilot)
        screen = app.screen
        screen.query_one("#template-name", Input).value = "Essai"
        screen.query_one("#subject", Input).value = "Bonjour @ptPrenom"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen  # not saved, the form keeps what was typed
        status = str(screen.query_one("#template-status").content)
        assert status.startswith("Ce modèle ne peut pas être enregistré")
        assert "@ptPrenom" in status
    with clinic.uow() as uow:
        assert "Essai" not in {t.name for t in list_templates(uow.session)}


async def test_edit_copy_and_delete(make_app: AppFactory, clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_templates(pilot)
        row = names(app).index("Default - secure message")
        app.screen.query_one("#templates-list", DataTable).move_cursor(row=row)
        await pilot.press("enter")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, TemplateFormScreen)
        assert form.query_one("#subject", Input).value == "A message from your health care team"
        assert form.query_one("#allow-reply", Checkbox).value is True
        form.query_one("#subject", Input).value = "A message from the clinic"
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert "Default - secure message (copy)" in names(app)
        row = names(app).index("Default - secure message (copy)")
        app.screen.query_one("#templates-list", DataTable).move_cursor(row=row)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert "Default - secure message (copy)" not in names(app)
    with clinic.uow() as uow:
        assert find_template(uow.session, "Default - secure message").subject == "A message from the clinic"


def test_copy_names_are_free() -> None:
    assert free_copy_name("Rappel", {"Rappel"}) == "Rappel (copy)"
    assert free_copy_name("Rappel", {"Rappel", "rappel (COPY)"}) == "Rappel (copy 2)"
