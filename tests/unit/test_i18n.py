"""French and English: every string given to ``_()`` has a French translation, and the PO parser reads them."""

from __future__ import annotations

import ast
from pathlib import Path

from core.i18n import _ as translate_current
from core.i18n import catalogue, parse_po, set_language, translate

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("core", "tui", "screens", "accueil", "themes", "portal")


def translatable_strings() -> dict[str, str]:
    found: dict[str, str] = {}
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*.py") if (ROOT / folder).is_dir() else ():
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_")
                        and node.args and isinstance(node.args[0], ast.Constant)
                        and isinstance(node.args[0].value, str)):
                    found[node.args[0].value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_translatable_string_has_a_french_translation() -> None:
    french = catalogue("fr")
    missing = {text: where for text, where in translatable_strings().items() if not french.get(text)}
    assert missing == {}


def test_no_two_catalogues_translate_one_string_differently() -> None:
    """Each area keeps its own French catalogue; one English string must read the same in all."""
    from core.i18n import LOCALE_DIR

    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for path in sorted(LOCALE_DIR.glob("fr*.po")):
        for msgid, msgstr in parse_po(path.read_text(encoding="utf-8")).items():
            if not msgid:
                continue
            if msgid in seen and seen[msgid][1] != msgstr:
                clashes.append((msgid[:60], seen[msgid][0], path.name))
            seen.setdefault(msgid, (path.name, msgstr))
    assert clashes == []


def test_po_parser_reads_multiline_and_escapes() -> None:
    entries = parse_po('msgid ""\nmsgstr "Header: x\\n"\n\n# comment\nmsgid "Hello"\nmsgstr "Bonjour"\n'
                       'msgid "Two "\n"lines"\nmsgstr "Deux "\n"lignes \\"ok\\""\n')
    assert entries == {"Hello": "Bonjour", "Two lines": 'Deux lignes "ok"'}


def test_switching_language_at_run_time() -> None:
    sample = next(iter(catalogue("fr")), None)
    if sample is None:
        return
    try:
        set_language("fr")
        assert translate_current(sample) == catalogue("fr")[sample]
        set_language("en")
        assert translate_current(sample) == sample
    finally:
        set_language("en")
    assert translate("Not in any catalogue", "fr") == "Not in any catalogue"
