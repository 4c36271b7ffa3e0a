"""The keymap setting (``settings.keymap``: binding id → keys) checked against the bindings that exist.

Textual applies the keymap itself (``App.set_keymap``) and silently ignores an id it never
meets; a front desk that mistyped ``patient.open`` for ``patients.open`` would never know. So
the app also checks each id against ``known_binding_ids`` and names the unknown ones in a
notification. A key that no keyboard sends (``f55``, ``ctrl+opne``, an empty one) would leave its
action with no key at all: ``usable_keymap`` drops it (the action keeps its usual key) and
``bad_keys`` names it for the same notification; ``taken_keys`` names the actions whose key the
keymap gave to another action of the same screen (they have no key left). The screen classes are imported here, when the check runs (after the first frame),
not when the app module is.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from textual.binding import Binding
from textual.dom import DOMNode
from textual.keys import KEY_DISPLAY_ALIASES, Keys, key_to_character

MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
KEY_NAMES = frozenset({key.value.rpartition("+")[2] for key in Keys} | set(KEY_DISPLAY_ALIASES))


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


def is_key(name: str) -> bool:
    """Whether ``name`` is a key Textual can receive: ``f5``, ``ctrl+p``, ``escape``, ``a``, ``comma``…"""
    *modifiers, base = name.strip().split("+")
    if not base or any(modifier not in MODIFIERS for modifier in modifiers):
        return False
    if len(base) == 1:
        return base.isprintable() and not base.isspace()
    return base in KEY_NAMES or key_to_character(base) is not None


def bad_keys(keymap: dict[str, str]) -> list[tuple[str, str]]:
    """(binding id, key) for every key of the keymap that no keyboard sends."""
    return [(binding_id, key.strip()) for binding_id, keys in sorted(keymap.items())
            for key in keys.split(",") if not is_key(key)]


def taken_keys(keymap: dict[str, str]) -> list[tuple[str, str]]:
    """(key, binding id) for each action whose usual key the keymap gives to another action of the
    same screen or widget (and that the keymap does not move elsewhere): that action has lost its key.
    Textual's own clash check misses these."""
    usable = usable_keymap(keymap)
    taken: set[tuple[str, str]] = set()
    for owner in binding_owners():
        bindings = [binding for binding in owner.BINDINGS if isinstance(binding, Binding) and binding.id]
        for binding in bindings:
            for key in usable.get(binding.id or "", "").split(","):
                taken.update((key, other.id) for other in bindings
                             if other.id and other.id != binding.id and other.id not in usable
                             and key in (part.strip() for part in other.key.split(",")))
    return sorted(taken)


def usable_keymap(keymap: dict[str, str]) -> dict[str, str]:
    """The keymap without the keys that no keyboard sends; an id left with none keeps its usual key."""
    usable: dict[str, str] = {}
    for binding_id, keys in keymap.items():
        kept = [key.strip() for key in keys.split(",") if is_key(key)]
        if kept:
            usable[binding_id] = ",".join(kept)
    return usable


__all__ = ["bad_keys", "binding_owners", "is_key", "known_binding_ids", "taken_keys", "unknown_binding_ids",
           "usable_keymap"]
