"""Snapshots at 80×24 (EN and FR) of the Messages screens: Templates, a template's form, Compose,
its preview and the "fix this address" list.

Update with ``pytest tests/tui/test_snapshots_messages.py --snapshot-update`` and read the SVGs'
text before committing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from core.bootstrap import Accueil
from core.db.models import Patient
from core.i18n import set_language
from screens.compose import ComposeScreen
from tests.tui.conftest import low_colour, settle
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]
SIZE = (80, 24)
LANGUAGES = ["en", "fr"]


@pytest.fixture(params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> str:
    set_language(request.param)
    return str(request.param)


async def _templates(pilot: Pilot[int]) -> None:
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    await pilot.press("t")
    await settle(pilot)


async def _template_form(pilot: Pilot[int]) -> None:
    await _templates(pilot)
    await pilot.press("enter")
    await settle(pilot)


def _patrick(clinic: Accueil) -> int:
    with clinic.uow(write=True) as uow:
        patrick = uow.session.scalars(select(Patient).where(Patient.chart_id == "100104")).one()
        patrick.email_consent = True
        uow.commit()
        return patrick.id


def _compose_run(patient_id: int, *, preview: bool) -> Callable[[Pilot[int]], object]:
    async def run(pilot: Pilot[int]) -> None:
        await settle(pilot)
        pilot.app.push_screen(ComposeScreen([patient_id]))
        await settle(pilot)
        screen = pilot.app.screen
        screen.query_one("#subject", Input).value = "Vos résultats / Your results"
        screen.query_one("#salutation", Input).value = "Bonjour @ptPreferredOrFirstName,"
        screen.query_one("#body", TextArea).text = "<p>Vos résultats sont prêts : [weblink]</p>"
        if preview:
            await pilot.press("ctrl+s")
        await settle(pilot)

    return run


async def _fix_addresses(pilot: Pilot[int]) -> None:
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    await pilot.press("a")
    await settle(pilot)


def test_templates_screen(snap_compare: Callable[..., bool], make_app: AppFactory, language: str) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_templates)


def test_template_form(snap_compare: Callable[..., bool], make_app: AppFactory, language: str) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_template_form)


def test_compose_screen(snap_compare: Callable[..., bool], make_app: AppFactory, clinic: Accueil,
                        language: str) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_compose_run(_patrick(clinic), preview=False))


def test_compose_preview(snap_compare: Callable[..., bool], make_app: AppFactory, clinic: Accueil,
                         language: str) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_compose_run(_patrick(clinic), preview=True))


def test_fix_addresses_screen(snap_compare: Callable[..., bool], make_app: AppFactory, clinic: Accueil,
                              language: str) -> None:
    from core.messaging.compose import Draft, send_draft
    from core.outbox import queue

    patient_id = _patrick(clinic)
    with clinic.uow(write=True) as uow:
        send_draft(uow, Draft(patient_ids=(patient_id,), subject="Rappel de vaccination", salutation="Bonjour,",
                              body_html="<p>[weblink]</p>", sender_emr_name="accueil"),
                   settings=clinic.settings, cipher=clinic.cipher)
    [item] = queue.claim(clinic, worker_id="snapshot", limit=5)
    queue.mark_failed(clinic, item, "550 5.1.1 <patrick.oneil@example.net>: user unknown", address_bad=True)
    with clinic.uow(write=True) as uow:  # a fixed time, so the snapshot does not follow the clock
        uow.session.execute(update(Patient).where(Patient.id == patient_id)
                            .values(email_bad_at=datetime(2025, 3, 7, 14, 5, tzinfo=UTC)))
        uow.commit()
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_fix_addresses)


@pytest.mark.parametrize("screen", ["templates", "template_form", "compose"])
def test_messages_low_colour_in_french(snap_compare: Callable[..., bool], make_app: AppFactory, clinic: Accueil,
                                       screen: str) -> None:
    set_language("fr")
    before = {"templates": _templates, "template_form": _template_form,
              "compose": _compose_run(_patrick(clinic), preview=False)}[screen]
    assert snap_compare(low_colour(make_app()), terminal_size=SIZE, run_before=before)
