"""Domain errors: what went wrong, in words the clinic's staff can act on.

``message`` is the English source sentence; faces translate it through the catalogue before
showing it (it goes through ``core.i18n`` so every message has a French form). ``title`` is a
short heading for dialogs.
"""

from __future__ import annotations


class AccueilError(Exception):
    title = "Cannot continue"

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title

    def __str__(self) -> str:
        return self.message


class NotFound(AccueilError):
    title = "Not found"


class InvalidInput(AccueilError):
    title = "Check what was entered"
