"""Snapshots at 80×24 (English, French, low-colour in French): the find-or-create screen with a match
and with the new-patient form refusing a Quebec number, and the patient view scrolled to its access log.

The audit trail's clock is pinned (``core.audit.utcnow``) so the access log's times are the same on
every run, as the app's own clock is. Update with ``pytest tests/tui --snapshot-update`` and read
the SVGs' text before committing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from textual.pilot import Pilot

from core import audit
from core.bootstrap import Accueil
from core.db.models import Patient
from core.i18n import set_language
from tests.tui.conftest import settle
from tests.tui.test_snapshots import _open_marie_cote
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]
SIZE = (80, 24)


@pytest.fixture
def pinned_audit_clock(monkeypatch: pytest.MonkeyPatch, clinic: Accueil) -> Iterator[None]:
    """Marie Côté's trail: a message, a chart read, then each view; each entry a minute after the last."""
    times = (datetime(2025, 3, 10, 13, 0, tzinfo=UTC) + timedelta(minutes=n) for n in range(1000))
    monkeypatch.setattr(audit, "utcnow", lambda: next(times))
    with clinic.uow(write=True) as uow:
        marie = uow.session.scalar(select(Patient.id).where(Patient.chart_id == "100101"))
        audit.record(uow.session, actor="dr.okafor", action="message.send", patient_id=marie)
        audit.record(uow.session, actor="dr.okafor", action="chart.view", patient_id=marie)
        uow.commit()
    yield


async def _access_log(pilot: Pilot[int]) -> None:
    await _open_marie_cote(pilot)
    await pilot.press("end")
    await settle(pilot)


async def _one_match(pilot: Pilot[int]) -> None:
    await settle(pilot)
    await pilot.press("ctrl+n", *"COTM 8005 1212", "enter")
    await settle(pilot)


async def _form_refusing(pilot: Pilot[int]) -> None:
    await settle(pilot)
    await pilot.press("ctrl+n", *"LEVA 9052 1401", "enter")
    await settle(pilot)
    await pilot.press(*"Lévesque", "enter", *"Anaïs", "enter", *"1990-02-15", "ctrl+s")
    await settle(pilot)


SCREENS: dict[str, Callable[[Pilot[int]], Awaitable[None]]] = {
    "access_log": _access_log, "find_one_match": _one_match, "find_form_refusing": _form_refusing,
}


@pytest.mark.usefixtures("pinned_audit_clock")
@pytest.mark.parametrize("look", ["en", "fr", "fr-low-colour"])
@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_find_or_create_and_access_log(snap_compare: Callable[..., bool], make_app: AppFactory, screen: str,
                                       look: str) -> None:
    set_language(look[:2])
    app = make_app()
    if look.endswith("low-colour"):
        app.theme = "accueil-low-colour"
    assert snap_compare(app, terminal_size=SIZE, run_before=SCREENS[screen])
