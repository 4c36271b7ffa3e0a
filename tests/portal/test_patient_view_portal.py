"""PT-5 and PT-6 in the TUI's patient view: the portal status, ``l`` clears a lock-out, ``P`` purges."""

from __future__ import annotations

import asyncio
import hashlib

from sqlalchemy import select

from core.db.models import AuditEntry, Message, Patient
from core.portal.access import checks_for, link_key, verify_identity
from screens.patient_view import PatientViewScreen
from tests.tui.conftest import _english, clinic, make_app, settle, tui_settings  # noqa: F401 - fixtures

TOKEN = "t" * 43


def locked_message_for_marie(accueil) -> int:  # noqa: ANN001
    with accueil.uow(write=True) as uow:
        marie = uow.session.scalar(select(Patient).where(Patient.chart_id == "100101"))
        marie.portal_reference = "REFMARIE01"
        message = Message(patient_id=marie.id, kind="secure_message", portal_reference="REFMARIE01",
                          to_address="marie.cote@example.com", subject="Résultats", body_html="", body_text="",
                          options={"identity_checks": ["date_of_birth"]},
                          token_hash=hashlib.sha256(TOKEN.encode()).digest(), message_id_header="<m1@example>")
        uow.session.add(message)
        uow.commit()
        marie_id = marie.id
    for _ in range(6):
        with accueil.uow(write=True) as uow:
            verify_identity(uow, link_key(TOKEN), {"date_of_birth": "1999-01-01"})
    return marie_id


def body(app) -> str:  # noqa: ANN001
    return str(app.screen.query_one("#record-body").render())


def test_lock_status_clear_and_purge(clinic, make_app) -> None:  # noqa: F811
    marie_id = locked_message_for_marie(clinic)
    app = make_app()

    async def drive() -> None:
        async with app.run_test(size=(80, 40)) as pilot:
            await settle(pilot)
            await pilot.press(*"cote", "down", "enter")
            await settle(pilot)
            assert isinstance(app.screen, PatientViewScreen)
            assert "REFMARIE01" in body(app) and "Locked: 1 link(s)" in body(app)
            await pilot.press("l")
            await settle(pilot)
            assert "No link locked" in body(app)
            await pilot.press("P")
            await pilot.pause()
            await pilot.press("y")
            await settle(pilot)
            assert "none yet" in body(app)

    asyncio.run(drive())
    with clinic.uow() as uow:
        message = uow.session.scalar(select(Message))
        assert message.revoked_at is not None and message.locked_at is None
        assert uow.session.get(Patient, marie_id).portal_reference is None
        assert checks_for(uow, link_key(TOKEN)) is None  # the link is dead: the portal's generic page
        actions = uow.session.scalars(select(AuditEntry.action)).all()
        assert "portal.lockout_cleared" in actions and "portal.purge" in actions
