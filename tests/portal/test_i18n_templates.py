"""PO-7: every text of the portal's Jinja templates (``_("…")`` calls) has a French translation."""

from __future__ import annotations

import re
from pathlib import Path

from core.i18n import catalogue

TEMPLATES = Path(__file__).resolve().parents[2] / "portal" / "templates"
CALL = re.compile(r'_\("((?:[^"\\]|\\.)*)"\)')


def template_strings() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(TEMPLATES.glob("*.html")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for text in CALL.findall(line):
                found[text] = f"{path.name}:{number}"
    return found


def test_templates_have_texts_to_translate() -> None:
    assert len(template_strings()) > 40  # the scan really reads the templates


def test_every_template_text_has_french() -> None:
    french = catalogue("fr")
    assert {text: where for text, where in template_strings().items() if not french.get(text)} == {}


def test_no_untranslated_text_outside_calls() -> None:
    """Words between tags must come from ``_()``, a variable or a value: no bare English in the markup."""
    bare = re.compile(r">\s*([A-Za-z][A-Za-z ,.'’]{3,})\s*<")
    found = {f"{path.name}: {match}" for path in TEMPLATES.glob("*.html")
             for match in bare.findall(path.read_text(encoding="utf-8"))}
    assert found == set()
