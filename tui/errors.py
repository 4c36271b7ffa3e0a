"""How a failed worker is told to the user: one translated line, never patient data.

Domain errors (``core.errors.AccueilError``) carry a sentence written for the front desk; it is
shown as is (translated). Anything else is reported by its kind only: ``str()`` of a database
error can quote the statement's parameters, that is what was typed or read, which may be
patient data.
"""

from __future__ import annotations

from core.errors import AccueilError
from core.i18n import _


def error_text(error: BaseException) -> str:
    if isinstance(error, AccueilError):
        return " ".join(_(error.message).split())
    return _("unexpected {kind}").format(kind=type(error).__name__)


__all__ = ["error_text"]
