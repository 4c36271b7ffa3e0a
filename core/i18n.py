"""One translation function for every face: ``_("English source text")``.

English is the source language; the French catalogue is ``core/locale/fr.po`` plus one file
per area, ``core/locale/fr-AREA.po`` (gettext's PO format, so translators' tools work on
them; one file per area keeps parallel work on different sections from colliding). The catalogue is parsed on first use, not at
import. The interface language is per process (one SSH session = one process = one user) and
``set_language`` switches it at run time; the portal, which serves many patients in one
process, passes the language explicitly to ``translate``.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

LANGUAGES = ("en", "fr")
LOCALE_DIR = Path(__file__).with_name("locale")

_default_language = "en"


def set_language(language: str) -> None:
    global _default_language
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    _default_language = language


def get_language() -> str:
    return _default_language


def _(message: str) -> str:
    """Translate ``message`` into the current language (unknown messages come back as given)."""
    language = get_language()
    if language == "en":
        return message
    return catalogue(language).get(message) or message


def translate(message: str, language: str) -> str:
    return message if language == "en" else (catalogue(language).get(message) or message)


@cache
def catalogue(language: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    for path in [LOCALE_DIR / f"{language}.po", *sorted(LOCALE_DIR.glob(f"{language}-*.po"))]:
        if path.exists():
            entries.update(parse_po(path.read_text(encoding="utf-8")))
    return entries


def parse_po(text: str) -> dict[str, str]:
    """The msgid/msgstr pairs of a PO file (no plural forms: messages format counts themselves)."""
    entries: dict[str, str] = {}
    msgid: list[str] | None = None
    msgstr: list[str] | None = None
    current: list[str] | None = None

    def flush() -> None:
        if msgid is not None and msgstr is not None:
            key = "".join(msgid)
            if key:
                entries[key] = "".join(msgstr)

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("msgid "):
            flush()
            msgid, msgstr = [ast.literal_eval(line[6:])], None
            current = msgid
        elif line.startswith("msgstr "):
            msgstr = [ast.literal_eval(line[7:])]
            current = msgstr
        elif line.startswith('"') and current is not None:
            current.append(ast.literal_eval(line))
    flush()
    return entries
