"""``PathSuggester``: completion of file paths in a Textual ``Input`` (→ or End accepts it).

Used by the compose screen's attachment field: the staff member types the start of a path and
the rest of the first matching name is suggested, a folder with a trailing slash so the next
part can be typed at once. ``~`` is the user's home. Hidden entries are offered only when the
typed part starts with a dot. Nothing is read but the folder's names.
"""

from __future__ import annotations

import os
from pathlib import Path

from textual.suggester import Suggester


class PathSuggester(Suggester):
    def __init__(self, *, limit: int = 2000) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.limit = limit

    async def get_suggestion(self, value: str) -> str | None:
        return suggest_path(value, limit=self.limit)


def suggest_path(value: str, *, limit: int = 2000) -> str | None:
    """``value`` completed to the first entry of its folder that starts with what was typed."""
    if not value:
        return None
    if "/" in value:
        folder_part, prefix = value.rsplit("/", 1)
        folder = Path(os.path.expanduser(folder_part or "/"))
    else:
        folder, prefix = Path("."), value
    try:
        with os.scandir(folder) as entries:
            names = []
            for number, entry in enumerate(entries):
                if number >= limit:
                    break
                if entry.name.startswith(prefix) and (prefix.startswith(".") or not entry.name.startswith(".")):
                    names.append((entry.name, entry.is_dir()))
    except OSError:
        return None
    if not names:
        return None
    name, is_dir = min(names)
    completed = value + name[len(prefix):] + ("/" if is_dir else "")
    return completed if completed != value else None


__all__ = ["PathSuggester", "suggest_path"]
