"""Pilot tests of TU-2: who is at the keyboard (OS account or login), the idle lock, the language.

The fixed clinic's front-desk account is mapped to the OS user running the tests; the login
tests remove that mapping first. Time moves by giving the app a later clock, never by sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, update
from textual.pilot import Pilot
from textual.widgets import Input

from core.bootstrap import Accueil
from core.db.models import AuditEntry, User
from core.i18n import get_language, set_language
from screens.help import HelpScreen
from screens.lock import LockScreen
from screens.login import LoginScreen
from screens.patient_view import PatientViewScreen
from screens.patients import PatientsScreen
from tests.tui.conftest import CLOCK, NOW, STAFF_PASSWORD, STAFF_USER, screen_text, settle
from tui.app import PATIENTS, AccueilApp
from tui.clock import Clock

AppFactory = Callable[..., AccueilApp]


def unmap_os_user(clinic: Accueil) -> None:
    with clinic.uow(write=True) as uow:
        uow.session.execute(update(User).values(os_user=None))
        uow.commit()


def audit_actions(clinic: Accueil) -> list[tuple[str, str]]:
    with clinic.uow() as uow:
        return [(row.actor, row.action) for row in uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


async def wait_for(pilot: Pilot[int], condition: Callable[[], bool]) -> None:
    """Let the app run until ``condition()`` holds (sign-in workers may fail on purpose)."""
    for _round in range(2000):
        await pilot.pause(0.005)
        if condition():
            return
    raise AssertionError("the condition never came true")


async def type_into(pilot: Pilot[int], field_id: str, text: str) -> None:
    field = pilot.app.screen.query_one(f"#{field_id}", Input)
    field.focus()
    field.value = text
    await pilot.pause()


async def sign_in(pilot: Pilot[int], username: str, password: str) -> None:
    await type_into(pilot, "username", username)
    await type_into(pilot, "password", password)
    await pilot.press("enter")
    await wait_for(pilot, lambda: pilot.app.user is not None or _message(pilot) not in ("", "Checking…", "Vérification…"))


def _message(pilot: Pilot[int]) -> str:
    return str(pilot.app.screen.query_one("#sign-in-message").render())


async def test_the_os_account_signs_in_without_a_prompt_and_is_the_actor(make_app: AppFactory,
                                                                          clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, PatientsScreen)
        assert app.user is not None and app.user.username == STAFF_USER
        assert app.accueil is not None and app.accueil.actor == STAFF_USER
        await pilot.press(*"cote", "enter")
        await settle(pilot)
        assert isinstance(app.screen, PatientViewScreen)
    actions = audit_actions(clinic)
    assert (STAFF_USER, "login.os-user") in actions
    assert (STAFF_USER, "patient.view") in actions  # the record was opened in this user's name


async def test_login_refuses_a_wrong_password_then_signs_in(make_app: AppFactory, clinic: Accueil) -> None:
    unmap_os_user(clinic)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen))
        assert app.accueil is None  # nothing of the clinic before someone signs in
        await pilot.press("f3")  # section keys do nothing under the login screen
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen) and app.current_mode == PATIENTS
        await sign_in(pilot, STAFF_USER, "not the password")
        assert "Wrong user name or password." in screen_text(pilot)
        assert app.screen.query_one("#password", Input).value == ""
        await sign_in(pilot, STAFF_USER.upper(), STAFF_PASSWORD)
        await wait_for(pilot, lambda: app.user is not None)
        assert isinstance(app.screen, PatientsScreen)
        assert app.accueil is not None and app.accueil.actor == STAFF_USER
        await pilot.press(*"tremblay")
        await settle(pilot)
        assert "TREMBLAY, Noah" in screen_text(pilot)
    assert [a for a in audit_actions(clinic) if a[1].startswith("login")] == [
        (STAFF_USER, "login.failed"), (STAFF_USER, "login.ok")]


async def test_five_wrong_passwords_lock_the_account_with_a_french_message(make_app: AppFactory,
                                                                           clinic: Accueil) -> None:
    unmap_os_user(clinic)
    set_language("fr")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen))
        await sign_in(pilot, "", "")
        assert "Tapez votre nom d'utilisateur et votre mot de passe." in screen_text(pilot)
        for _attempt in range(5):
            await sign_in(pilot, STAFF_USER, "wrong password")
        assert "Trop de tentatives échouées" in screen_text(pilot)
        assert "encore 15 minutes." in screen_text(pilot)
        await sign_in(pilot, STAFF_USER, STAFF_PASSWORD)  # even the right password, while locked
        assert "Trop de tentatives échouées" in screen_text(pilot)
        assert app.user is None and isinstance(app.screen, LoginScreen)
    assert (STAFF_USER, "login.locked") in audit_actions(clinic)
    assert (STAFF_USER, "login.refused-locked") in audit_actions(clinic)


async def test_a_disabled_account_is_refused_like_a_wrong_password(make_app: AppFactory, clinic: Accueil) -> None:
    unmap_os_user(clinic)
    with clinic.uow(write=True) as uow:
        uow.session.execute(update(User).values(active=False))
        uow.commit()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen))
        await sign_in(pilot, STAFF_USER, STAFF_PASSWORD)
        assert "Wrong user name or password." in screen_text(pilot)  # no hint that the name exists
        assert app.user is None


async def test_the_idle_lock_covers_the_screen_and_unlocking_returns_to_it(make_app: AppFactory,
                                                                         clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"cote", "enter")
        await settle(pilot)
        record = app.screen
        assert isinstance(record, PatientViewScreen)
        app.clock = Clock(zone=CLOCK.zone, fixed_now=NOW + timedelta(minutes=29))
        app.lock_if_idle()
        await pilot.pause()
        assert app.screen is record  # not yet
        app.clock = Clock(zone=CLOCK.zone, fixed_now=NOW + timedelta(minutes=30))
        app.lock_if_idle()
        await wait_for(pilot, lambda: isinstance(app.screen, LockScreen))
        shown = screen_text(pilot)
        assert "Accueil is locked" in shown and "Jean-François" not in shown  # the record is covered
        await pilot.press("ctrl+p", "f2")
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)  # no palette, no section change while locked
        await type_into(pilot, "password", "wrong password")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Wrong user name or password." in screen_text(pilot))
        await type_into(pilot, "password", STAFF_PASSWORD)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is record)
        assert "COTÉ, Jean-François" in screen_text(pilot)
        app.lock_if_idle()  # unlocking counts as activity: not locked again at once
        await pilot.pause()
        assert app.screen is record
    assert (STAFF_USER, "login.ok") in audit_actions(clinic)


async def test_a_key_press_puts_the_lock_off(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.clock = Clock(zone=CLOCK.zone, fixed_now=NOW + timedelta(minutes=25))
        await pilot.press("c")
        app.clock = Clock(zone=CLOCK.zone, fixed_now=NOW + timedelta(minutes=50))
        app.lock_if_idle()
        await pilot.pause()
        assert isinstance(app.screen, PatientsScreen)


async def test_an_account_disabled_while_locked_is_told_so(make_app: AppFactory, clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.command_lock()
        await wait_for(pilot, lambda: isinstance(app.screen, LockScreen))
        with clinic.uow(write=True) as uow:
            uow.session.execute(update(User).values(active=False))
            uow.commit()
        await type_into(pilot, "password", STAFF_PASSWORD)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "This account has been disabled" in screen_text(pilot))
        assert isinstance(app.screen, LockScreen)


async def test_the_users_language_applies_at_sign_in_and_switches_at_run_time(make_app: AppFactory,
                                                                             clinic: Accueil) -> None:
    app = make_app()
    with clinic.uow(write=True) as uow:
        uow.session.execute(update(User).values(language="fr"))
        uow.commit()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: "f3 Messages" in screen_text(pilot) and "Quitter" in screen_text(pilot))
        assert get_language() == "fr"
        assert "Tapez pour chercher" in screen_text(pilot)
        app.command_language()
        await wait_for(pilot, lambda: "^q Quit" in screen_text(pilot))
        assert get_language() == "en"
        assert "Type to search the clinic's patients." in screen_text(pilot)
        assert isinstance(app.screen, PatientsScreen)
        await pilot.press(*"cote")
        await settle(pilot)
        assert "2 patients" in screen_text(pilot)  # the rebuilt section works


async def test_a_terminal_smaller_than_80x24_is_told_in_its_language_and_still_works(make_app: AppFactory) -> None:
    set_language("fr")
    app = make_app()
    async with app.run_test(size=(60, 18)) as pilot:
        await settle(pilot)
        assert any("Ce terminal fait 60×18" in str(n.message) for n in app._notifications)
        await pilot.press(*"cote", "enter")
        await settle(pilot)
        assert isinstance(app.screen, PatientViewScreen)
        await pilot.press("f3")
        await settle(pilot)
        app.command_lock()
        await wait_for(pilot, lambda: isinstance(app.screen, LockScreen))


async def test_low_bandwidth_stops_every_cursor_blinking(make_app: AppFactory) -> None:
    from dataclasses import replace

    for setting, blinks in ((True, False), (False, True)):
        base = make_app()
        app = AccueilApp(replace(base.settings, low_bandwidth=setting), base._opener, clock=CLOCK)
        assert app.low_bandwidth is setting
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("ctrl+p")
            await settle(pilot)
            assert isinstance(app.focused, Input) and app.focused.cursor_blink is blinks  # the palette's field


def test_the_low_bandwidth_setting_reads_the_environment_variable() -> None:
    from pathlib import Path

    from core.settings import load_settings

    nowhere = Path("/nonexistent/accueil.toml")
    assert load_settings({"ACCUEIL_LOW_BANDWIDTH": "1"}, config_path=nowhere).low_bandwidth is True
    assert load_settings({}, config_path=nowhere).low_bandwidth is None  # automatic: a terminal of 16 colours or fewer


async def test_no_app_key_gets_past_the_lock_screen(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.command_lock()
        await wait_for(pilot, lambda: isinstance(app.screen, LockScreen))
        await pilot.press("f3", "ctrl+p", "escape")
        await pilot.pause()
        assert isinstance(app.screen, LockScreen) and app.current_mode == PATIENTS
        assert app.signed_out_screen_up
        await pilot.press("f1", "f3", "ctrl+p")  # under the help too
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) and app.current_mode == PATIENTS
        assert "Sophie" not in screen_text(pilot) and "COTÉ" not in screen_text(pilot)


async def test_f1_shows_help_on_the_login_screen_in_the_users_language(make_app: AppFactory, clinic: Accueil) -> None:
    unmap_os_user(clinic)
    set_language("fr")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen) and "Effacer" in screen_text(pilot))
        assert screen_text(pilot).splitlines()[-1].split() == ["esc", "Effacer", "f1", "Aide", "^q", "Quitter"]
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        shown = screen_text(pilot)
        assert "Votre nom d'utilisateur Accueil" in shown  # the focused field's help
        assert "Après cinq mots de passe erronés" in shown  # the screen's
        await pilot.press("f1")  # F1 again closes it
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen))
        assert isinstance(app.focused, Input) and app.focused.id == "username"
        await sign_in(pilot, STAFF_USER, STAFF_PASSWORD)
        await wait_for(pilot, lambda: isinstance(app.screen, PatientsScreen))


async def test_f1_shows_help_on_the_lock_screen_and_esc_returns_to_it(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.command_lock()
        await wait_for(pilot, lambda: isinstance(app.screen, LockScreen) and "Quit" in screen_text(pilot))
        assert screen_text(pilot).splitlines()[-1].split() == ["f1", "Help", "^q", "Quit"]
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "Your password; Enter unlocks." in screen_text(pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, LockScreen))
        await type_into(pilot, "password", STAFF_PASSWORD)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PatientsScreen))
