"""Pilot tests of the signed-in user's own theme and language (TU-3, TU-4): applied at sign-in,
switched from the palette, kept for the next sign-in."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select, update

from core.bootstrap import Accueil
from core.db.models import AuditEntry, User
from core.errors import InvalidInput
from core.i18n import get_language
from core.users import save_preferences
from tests.tui.conftest import STAFF_USER, screen_text, settle
from tests.tui.test_identity import wait_for
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]
SIZE = (80, 24)


def _saved(clinic: Accueil) -> tuple[str | None, str]:
    with clinic.uow() as uow:
        user = uow.session.scalars(select(User).where(User.username == STAFF_USER)).one()
        return user.theme, user.language


def _set_theme(clinic: Accueil, theme: str | None) -> None:
    with clinic.uow(write=True) as uow:
        uow.session.execute(update(User).where(User.username == STAFF_USER).values(theme=theme))
        uow.commit()


async def test_the_users_theme_applies_at_sign_in(make_app: AppFactory, clinic: Accueil) -> None:
    _set_theme(clinic, "light")
    app = make_app()
    assert app.theme == "accueil-dark"  # nobody has signed in yet: the setting's
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.user is not None and app.user.theme == "light"
        assert app.theme == "accueil-light"


async def test_the_palette_switches_the_theme_and_keeps_it_for_the_next_sign_in(make_app: AppFactory,
                                                                                  clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"high contrast")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.theme == "accueil-high-contrast"
    assert _saved(clinic)[0] == "high-contrast"
    with clinic.uow() as uow:
        entry = uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.preferences")).one()
        assert entry.actor == STAFF_USER
    again = make_app()
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert again.theme == "accueil-high-contrast"


async def test_the_language_switched_at_run_time_is_kept_for_the_next_sign_in(make_app: AppFactory,
                                                                               clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.command_language()
        await wait_for(pilot, lambda: "Quitter" in screen_text(pilot))
        await settle(pilot)
    assert _saved(clinic)[1] == "fr"
    with clinic.uow(write=True) as uow:  # the next app: the user's saved language, not the process's
        assert uow.session.scalar(select(User.language).where(User.username == STAFF_USER)) == "fr"
    again = AccueilApp(app.settings, lambda: clinic, clock=app.clock)
    async with again.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "Quitter" in screen_text(pilot))
        assert get_language() == "fr"


async def test_an_unknown_saved_theme_is_named_and_the_setting_kept(make_app: AppFactory, clinic: Accueil) -> None:
    _set_theme(clinic, "solarized")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.pause()
        assert app.theme == "accueil-dark"
        assert any("solarized" in str(n.message) for n in app._notifications)


def test_saving_preferences_refuses_what_is_not_one(clinic: Accueil) -> None:
    with clinic.uow(write=True) as uow:
        user_id = uow.session.scalar(select(User.id).where(User.username == STAFF_USER))
        with pytest.raises(InvalidInput):
            save_preferences(uow, user_id, language="de")
        with pytest.raises(InvalidInput):
            save_preferences(uow, user_id, theme="Light; DROP")
    assert _saved(clinic) == (None, "en")
