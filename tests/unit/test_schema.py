"""The revision list the start-up check uses matches the migration scripts, in order."""

from __future__ import annotations

import re

from core.db.schema import HEAD, MIGRATIONS, REVISIONS


def test_revision_list_matches_the_migration_chain() -> None:
    parents: dict[str, str | None] = {}
    for script in (MIGRATIONS / "versions").glob("*.py"):
        text = script.read_text(encoding="utf-8")
        revision = re.search(r'^revision = ["\'](\w+)["\']', text, re.M).group(1)
        down = re.search(r'^down_revision = (None|["\'](\w+)["\'])', text, re.M).group(2)
        parents[revision] = down
    chain: list[str] = []
    current: str | None = next(r for r in parents if r not in parents.values())  # the head
    while current is not None:
        chain.append(current)
        current = parents[current]
    assert tuple(reversed(chain)) == REVISIONS
    assert chain[0] == HEAD


def test_portal_retention_has_the_migrations_server_default() -> None:
    from core.db.models import Site

    default = Site.__table__.c.portal_retention_days.server_default
    assert default is not None and str(default.arg) == "30"  # as migration 0006 creates it


def test_the_import_folder_is_flushed_after_each_rename(tmp_path, monkeypatch) -> None:
    import os
    import stat

    from core.emr.dropfolder import write_atomically

    synced: list[bool] = []
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        synced.append(stat.S_ISDIR(os.fstat(descriptor).st_mode))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    target = write_atomically(tmp_path, "accueil-reply-12.pdf", b"%PDF-1.4 synthetic")
    assert target.read_bytes() == b"%PDF-1.4 synthetic"
    assert synced == [False, True]  # the file's data, then the folder holding its new name
