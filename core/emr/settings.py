"""The site's EMR settings (EM-1..EM-4): profile, consult notes, secure message notes, destination.

They live on the Site row. ``read_settings`` returns them as a dataclass; ``save_settings`` checks
and stores them (audited), and sends items that waited for a missing setting back to the queue so
they import by themselves on the worker's next pass.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit
from core.db.models import ImportItem, Site
from core.errors import InvalidInput, NotFound
from core.uow import UnitOfWork

PROFILES = ("generic", "oscar_pro", "accuro")
CONSULT_STATES = ("active", "completed")
SECURE_NOTES = ("folder", "encounter_note")
DESTINATIONS = ("chart", "folder")
MAX_RETENTION_DAYS = 3650


@dataclass(frozen=True)
class EmrSettings:
    profile: str = "generic"
    consult_notes_as: str = "active"
    secure_notes_as: str = "folder"
    folder: str | None = None
    subfolder: str | None = None
    destination: str = "chart"
    import_path: str | None = None
    retention_days: int | None = 30

    def to_data(self) -> dict[str, Any]:
        return {"profile": self.profile, "consult_notes_as": self.consult_notes_as,
                "secure_notes_as": self.secure_notes_as, "folder": self.folder, "subfolder": self.subfolder,
                "destination": self.destination, "import_path": self.import_path,
                "retention_days": self.retention_days}


def _site(session: Session, *, lock: bool = False) -> Site:
    query = select(Site).order_by(Site.id).limit(1)
    site = session.scalar(query.with_for_update() if lock else query)
    if site is None:
        raise NotFound("This database has no clinic yet.")
    return site


def read_settings(session: Session) -> EmrSettings:
    site = _site(session)
    return EmrSettings(profile=site.emr_profile, consult_notes_as=site.consult_notes_as,
                       secure_notes_as=site.secure_notes_as, folder=site.notes_folder or None,
                       subfolder=site.notes_subfolder or None, destination=site.emr_destination,
                       import_path=site.emr_import_path or None, retention_days=site.portal_retention_days)


def _choice(value: str, allowed: tuple[str, ...], message: str) -> str:
    if value not in allowed:
        raise InvalidInput(message)
    return value


def _clean_name(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    if len(value) > 200:
        raise InvalidInput("A folder or subfolder name is longer than 200 characters.")
    return value or None


def check_settings(settings: EmrSettings) -> EmrSettings:
    """The settings cleaned, or InvalidInput saying what is wrong."""
    _choice(settings.profile, PROFILES, "The EMR profile must be generic, oscar_pro or accuro.")
    _choice(settings.consult_notes_as, CONSULT_STATES, "Consult notes are created as active or completed.")
    _choice(settings.secure_notes_as, SECURE_NOTES, "Secure message notes are saved as folder or encounter_note.")
    _choice(settings.destination, DESTINATIONS, "The destination must be chart or folder.")
    folder = _clean_name(settings.folder)
    subfolder = _clean_name(settings.subfolder)
    if subfolder and not folder:
        raise InvalidInput("A subfolder needs a folder.")
    path = (settings.import_path or "").strip() or None
    if path is not None and not Path(path).is_absolute():
        raise InvalidInput("The import folder must be an absolute path.")
    if settings.destination == "folder" and path is None:
        raise InvalidInput("The import folder destination needs the folder's path.")
    days = settings.retention_days
    if days is not None and not 0 <= days <= MAX_RETENTION_DAYS:
        raise InvalidInput("Retention must be between 0 and 3650 days.")
    return replace(settings, folder=folder, subfolder=subfolder, import_path=path)


def save_settings(uow: UnitOfWork, settings: EmrSettings) -> EmrSettings:
    """Store the settings, audit the change, and put waiting items back in the queue. Commits."""
    clean = check_settings(settings)
    session = uow.session
    site = _site(session, lock=True)
    before = read_settings(session)
    site.emr_profile, site.consult_notes_as = clean.profile, clean.consult_notes_as
    site.secure_notes_as, site.notes_folder, site.notes_subfolder = clean.secure_notes_as, clean.folder, clean.subfolder
    site.emr_destination, site.emr_import_path = clean.destination, clean.import_path
    site.portal_retention_days = clean.retention_days
    # Waiting items are tried again by the worker: the missing setting may be there now.
    requeued = session.execute(update(ImportItem).where(ImportItem.state == "waiting")
                               .values(state="pending", reason=None)).rowcount
    changed = {key: value for key, value in clean.to_data().items() if before.to_data()[key] != value}
    audit.record(session, actor=uow.actor, action="emr.settings", detail={"changed": changed, "requeued": requeued})
    uow.commit()
    return clean
