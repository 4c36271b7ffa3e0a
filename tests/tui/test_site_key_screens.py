"""The site key from the Site section (F6): show it (audited, emailed) and change it, for administrators."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select, update
from textual.pilot import Pilot

from core.bootstrap import Accueil, bootstrap
from core.crypto import write_key_file
from core.db.models import AuditEntry, KeyRotation, OutboxItem, User
from core.i18n import set_language
from core.settings import Settings
from core.users import add_user
from screens.confirm import ConfirmScreen
from screens.site_key import KeyShownScreen, RotateKeyScreen
from tests.integration.key_clinic import NEW_KEY, OLD_KEY, counts, fill, readable
from tests.tui.conftest import settle, sign_in_as
from tests.tui.test_site import open_site, page
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]
SIZE = (80, 24)


@pytest.fixture
def tui_settings(tmp_path: Path, sqlite_template: Path) -> Settings:
    """The fixed clinic with its key in a key file (a key from the environment cannot be rotated)."""
    target = tmp_path / "accueil.db"
    shutil.copyfile(sqlite_template, target)
    settings = Settings(database_url=f"sqlite:///{target}", data_dir=tmp_path / "data",
                        config_dir=tmp_path / "config", site_key=None)
    write_key_file(settings.resolved_key_file(), OLD_KEY)
    return settings


@pytest.fixture
def administrator(clinic: Accueil) -> Accueil:
    with clinic.uow(write=True) as uow:
        add_user(uow, username="adele", display_name="Adèle Admin", role="administrator", password=None,
                 email="adele@clinic.example")
    sign_in_as(clinic, "adele")
    fill(clinic, 6)
    return clinic


async def test_the_key_actions_are_for_administrators_only(make_app: AppFactory, clinic: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_site(pilot)
        assert "Site encryption key" not in page(pilot)
        for key in ("k", "n"):
            await pilot.press(key)
            await settle(pilot)
            assert not isinstance(pilot.app.screen, ConfirmScreen | RotateKeyScreen)


async def test_show_the_key_after_confirming_is_audited_and_emailed(make_app: AppFactory,
                                                                     administrator: Accueil) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_site(pilot)
        assert "k shows it" in page(pilot)
        await pilot.press("k")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ConfirmScreen)
        await pilot.press("n")  # no: nothing shown, nothing recorded
        await settle(pilot)
        with administrator.uow() as uow:
            assert uow.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "site.key_shown")) is None
        await pilot.press("k")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, KeyShownScreen)
        assert str(screen.query_one("#key-shown-value").render()) == OLD_KEY
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(pilot.app.screen, KeyShownScreen)
    with administrator.uow() as uow:
        actors = uow.session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "site.key_shown")).all()
        mails = uow.session.scalars(select(OutboxItem.idempotency_key).where(
            OutboxItem.idempotency_key.like("key-shown:%"))).all()
    assert actors == ["adele"] and any(key.endswith(":adele@clinic.example") for key in mails)


async def open_rotate(pilot: Pilot[int]) -> RotateKeyScreen:
    await open_site(pilot)
    await pilot.press("n")
    await settle(pilot)
    assert isinstance(pilot.app.screen, RotateKeyScreen)
    return pilot.app.screen


async def type_key(pilot: Pilot[int], first: str, again: str) -> None:
    screen = pilot.app.screen
    screen.query_one("#key-new").value = first
    screen.query_one("#key-again").value = again
    screen.query_one("#key-again").focus()
    await pilot.press("enter")


async def test_change_the_key_with_policy_and_progress(make_app: AppFactory, administrator: Accueil,
                                                       tui_settings: Settings) -> None:
    before = counts(administrator)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_rotate(pilot)
        await type_key(pilot, "too-short-1A", "too-short-1A")
        status = str(screen.query_one("#key-status").render())
        assert "too weak" in status and "at least 16 characters" in status
        await type_key(pilot, NEW_KEY, NEW_KEY + "x")
        assert "differ" in str(screen.query_one("#key-status").render())
        await type_key(pilot, NEW_KEY, NEW_KEY)
        await settle(pilot)
        assert screen.result is not None and screen.result.finished
        assert "Site encryption key changed" in str(screen.query_one("#key-status").render())
        total = sum(before.values())
        assert f"{total} of {total} encrypted items" in str(screen.query_one("#long-work-count").render())
    assert tui_settings.resolved_key_file().read_text().strip() == NEW_KEY
    reopened = bootstrap(tui_settings)
    try:
        assert readable(reopened, reopened.cipher)["secure_contents.ciphertext"] == before["secure_contents.ciphertext"]
    finally:
        reopened.dispose()


async def test_esc_stops_between_batches_and_ctrl_r_finishes(make_app: AppFactory, administrator: Accueil,
                                                              tui_settings: Settings) -> None:
    before = counts(administrator)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_site(pilot)
        screen = RotateKeyScreen(batch=1)
        await pilot.app.push_screen(screen)
        await settle(pilot)
        widget, reports = screen.progress, []
        report = widget.report

        def esc_after_three_batches(done: int, total: int) -> None:
            if threading.get_ident() == pilot.app._thread_id:  # the widget redrawing on the app's thread
                report(done, total)
                return
            reports.append(done)
            report(done, total)
            if len(reports) == 4:  # the Esc key's action, run on the app's thread while the worker waits
                pilot.app.call_from_thread(screen.action_back_or_cancel)

        widget.report = esc_after_three_batches  # type: ignore[method-assign]
        await type_key(pilot, NEW_KEY, NEW_KEY)
        await settle(pilot)
        del widget.report
        assert reports[:4] == [0, 1, 2, 3]
        assert screen.result is not None and not screen.result.finished
        assert "Stopped between two batches" in str(screen.query_one("#key-status").render())
        assert tui_settings.resolved_key_file().read_text().strip() == OLD_KEY
        assert readable(administrator, administrator.cipher) == before  # the old key still reads everything
        with administrator.uow() as uow:
            assert uow.session.scalar(select(KeyRotation.state)) == "staging"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert screen.result.finished
    assert tui_settings.resolved_key_file().read_text().strip() == NEW_KEY
    assert readable(administrator, administrator.cipher)["replies.body_ciphertext"] == before["replies.body_ciphertext"]


def test_rotate_screen_snapshot(snap_compare: Callable[..., bool], make_app: AppFactory,
                                administrator: Accueil) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=open_rotate)


def test_rotate_screen_snapshot_in_french(snap_compare: Callable[..., bool], make_app: AppFactory,
                                          administrator: Accueil) -> None:
    set_language("fr")
    with administrator.uow(write=True) as uow:  # the signed-in administrator speaks French
        uow.session.execute(update(User).where(User.username == "adele").values(language="fr"))
        uow.commit()
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=open_rotate)


def test_key_shown_snapshot(snap_compare: Callable[..., bool], make_app: AppFactory, administrator: Accueil) -> None:
    async def show(pilot: Pilot[int]) -> None:
        await open_site(pilot)
        await pilot.press("k")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=show)


async def test_generate_shows_the_new_key_once(make_app: AppFactory, administrator: Accueil,
                                               tui_settings: Settings) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_rotate(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert screen.result is not None and screen.result.finished
        generated = tui_settings.resolved_key_file().read_text().strip()
        assert generated != OLD_KEY and screen.generated == generated
        assert generated in str(screen.query_one("#key-status").render())
        await pilot.press("c")
        assert pilot.app.clipboard == generated
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(pilot.app.screen, RotateKeyScreen)
    with administrator.uow() as uow:
        detail = uow.session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "site.key_rotation_started"))
    assert detail["generated"] is True and generated not in str(detail)
