"""The keymap setting (``settings.keymap``: binding id → keys) checked against the bindings that exist.

Textual applies the keymap itself (``App.set_keymap``) and silently ignores an id it never
meets; a front desk that mistyped ``patient.open`` for ``patients.open`` would never know. So
the app also checks each id against ``known_binding_ids`` and names the unknown ones in a
notification. The screen classes are imported here, when the check runs (after the first frame),
not when the app module is.
"""

from __future__ import annotations

from functools import cache

from textual.binding import Binding
from textual.dom import DOMNode


def binding_owners() -> tuple[type[DOMNode], ...]:
    """Every class in the app that declares remappable bindings."""
    from screens.confirm import ConfirmScreen
    from screens.email_view import EmailViewScreen
    from screens.help import HelpScreen
    from screens.outbox import OutboxScreen
    from screens.patient_view import PatientViewScreen
    from screens.patients import PatientsScreen
    from screens.report_export import ReportExportScreen
    from screens.reports import ReportsScreen
    from tui.app import AccueilApp

    return (AccueilApp, PatientsScreen, PatientViewScreen, OutboxScreen, EmailViewScreen, HelpScreen,
            ConfirmScreen, ReportsScreen, ReportExportScreen)


@cache
def known_binding_ids() -> frozenset[str]:
    return frozenset(
        binding.id for owner in binding_owners() for binding in owner.BINDINGS
        if isinstance(binding, Binding) and binding.id
    )


def unknown_binding_ids(keymap: dict[str, str]) -> list[str]:
    known = known_binding_ids()
    return sorted(binding_id for binding_id in keymap if binding_id not in known)


__all__ = ["binding_owners", "known_binding_ids", "unknown_binding_ids"]
