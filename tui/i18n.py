"""Translation glue for Textual: key bindings declared in English, shown in the user's language.

``BINDINGS`` are class attributes, evaluated when a module is imported, possibly before the
user's language is known. So they are declared with ``N_`` (which only marks the text for the
catalogue) and each screen calls ``translate_bindings(self)`` in its constructor, which swaps in
copies whose description and tooltip went through ``core.i18n._``.
"""

from __future__ import annotations

from dataclasses import replace

from textual.binding import Binding
from textual.dom import DOMNode

from core.i18n import _


def N_(message: str) -> str:  # noqa: N802 - the gettext name for "mark, translate later"
    """Mark ``message`` for the French catalogue; it is translated where it is shown."""
    return message


def translate_bindings(node: DOMNode) -> None:
    """Give ``node`` its own bindings with description and tooltip in the current language."""
    table = node._bindings.key_to_bindings
    for key, bindings in table.items():
        table[key] = [_translated(binding) for binding in bindings]


def _translated(binding: Binding) -> Binding:
    return replace(
        binding,
        description=_(binding.description) if binding.description else "",
        tooltip=_(binding.tooltip) if binding.tooltip else "",
    )


__all__ = ["N_", "translate_bindings"]
