"""The keymap setting (``settings.keymap``: binding id → keys) checked against the bindings that exist.

Textual applies the keymap itself (``App.set_keymap``) and silently ignores an id it never
meets; a front desk that mistyped ``patient.open`` for ``patients.open`` would never know. So
the app also checks each id against ``known_binding_ids`` and names the unknown ones in a
notification. The screen classes are imported here, when the check runs (after the first frame),
not when the app module is.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from textual.binding import Binding
from textual.dom import DOMNode


def binding_owners() -> tuple[type[DOMNode], ...]:
    """Every class in the app that declares its own bindings: the app, and each screen and widget
    defined in ``screens`` and ``tui.widgets`` (found by walking the packages, so a new screen is
    covered without being listed here)."""
    import screens
    import tui.widgets
    from tui.app import AccueilApp

    owners: list[type[DOMNode]] = [AccueilApp]
    for package in (screens, tui.widgets):
        for module_info in sorted(pkgutil.iter_modules(package.__path__), key=lambda info: info.name):
            module = importlib.import_module(f"{package.__name__}.{module_info.name}")
            for value in vars(module).values():
                if (isinstance(value, type) and issubclass(value, DOMNode) and value.__module__ == module.__name__
                        and "BINDINGS" in vars(value)):
                    owners.append(value)
    return tuple(owners)


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
