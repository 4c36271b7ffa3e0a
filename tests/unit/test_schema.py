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
