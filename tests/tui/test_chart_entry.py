"""The patient view's EMR chart entries (``c``): a note read in a modal, a document saved to a file; audited."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from core.bootstrap import Accueil
from core.db.models import AuditEntry, Patient, utcnow
from core.emr.chart import PlannedEntry, add_entries
from screens.chart_entry import ChartEntriesScreen, ChartTextScreen
from screens.confirm import ConfirmScreen
from screens.site_form import SiteFormScreen
from tests.tui.conftest import settle
from tui.app import AccueilApp

AppFactory = Callable[..., AccueilApp]
PDF = b"%PDF-1.4 synthetic scan for Patrick"


def add_chart(clinic: Accueil) -> None:
    with clinic.uow(write=True) as uow:
        patient_id = uow.session.scalar(select(Patient.id).where(Patient.chart_id == "100104"))
        add_entries(uow.session, clinic.cipher, patient_id=patient_id, item_kind="reply", source_id=3, now=utcnow(),
                    entries=[PlannedEntry("doc", "document", "Photo de la plaie", folder="Images",
                                          document_name="plaie.pdf", document=PDF),
                             PlannedEntry("note", "note", "Réponse du patient", body="La plaie guérit bien.")])
        uow.commit()


async def test_a_note_is_read_and_a_document_saved_from_the_chart(make_app: AppFactory, clinic: Accueil,
                                                                   tmp_path: Path) -> None:
    add_chart(clinic)
    target = tmp_path / "plaie.pdf"
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"100104", "enter")
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause()
        entries = app.screen
        assert isinstance(entries, ChartEntriesScreen)
        note = next(i for i, e in enumerate(entries.entries) if e.kind == "note")
        entries.query_one("#chart-list").highlighted = note
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ChartTextScreen)
        assert "La plaie guérit bien." in str(app.screen.query_one("#chart-text-body").render())
        await pilot.press("escape")
        await pilot.pause()
        entries.query_one("#chart-list").highlighted = 1 - note
        for round_ in range(2):
            await pilot.press("s")
            await pilot.pause()
            assert isinstance(app.screen, SiteFormScreen)
            await pilot.press("ctrl+u", *str(target), "enter")
            await settle(pilot)
            if round_ == 0:
                assert target.read_bytes() == PDF
                target.write_bytes(b"someone else's file")
        assert isinstance(app.screen, ConfirmScreen)  # the second time the file was there: asked first
        await pilot.press("y")
        await settle(pilot)
    assert target.read_bytes() == PDF and stat.S_IMODE(target.stat().st_mode) == 0o600
    with clinic.uow() as uow:
        actions = uow.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("chart.%"))
                                     .order_by(AuditEntry.id)).all()
    assert actions == ["chart.view", "chart.export", "chart.export"]
