"""Every encryption in the application happens inside the unit of work that stores it, where the stale
site key guard (``core.uow``) sees it: a function taking a unit of work or a session, or a
``with ….uow(…)`` block. Blobs never stored (``NOT_STORED`` contexts, e.g. portal cookies) are exempt."""

from __future__ import annotations

import ast
from pathlib import Path

from core.encrypted_columns import NOT_STORED

ROOT = Path(__file__).resolve().parents[2]
ENCRYPTERS = {"encrypt", "encrypt_text", "make_key_check", "email_payload", "recrypt"}
HOLDERS = {"uow", "session"}


def _name(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _context(call: ast.Call) -> str | None:
    for keyword in call.keywords:
        if keyword.arg == "context" and isinstance(keyword.value, ast.Constant):
            return keyword.value.value
    return None


def _opens_uow(node: ast.With) -> bool:
    return any(isinstance(sub, ast.Call) and _name(sub) == "uow" for item in node.items
               for sub in ast.walk(item.context_expr))


def _outside(tree: ast.AST, path: Path) -> list[str]:
    found: list[str] = []

    def visit(node: ast.AST, covered: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = covered
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                if child.name in ENCRYPTERS:
                    continue  # the helpers themselves: their callers are checked
                names = {arg.arg for arg in child.args.args + child.args.kwonlyargs}
                inner = covered or bool(names & HOLDERS)
            elif isinstance(child, ast.With) and _opens_uow(child):
                inner = True
            elif (isinstance(child, ast.Call) and _name(child) in ENCRYPTERS and not covered
                  and _context(child) not in NOT_STORED):
                found.append(f"{path.relative_to(ROOT)}:{child.lineno}")
            visit(child, inner)

    visit(tree, False)
    return found


def test_every_encryption_is_inside_a_unit_of_work() -> None:
    outside: list[str] = []
    for folder in ("core", "portal", "tui", "screens", "accueil"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name == "crypto.py" and path.parent.name == "core":
                continue
            outside += _outside(ast.parse(path.read_text(encoding="utf-8")), path)
    assert outside == []


def test_the_scan_tells_inside_from_outside() -> None:
    source = ROOT / "core" / "example.py"
    tree = ast.parse(
        "def early(app, cipher):\n"
        "    blob = cipher.encrypt_text('x', context='reply')\n"  # line 2: before any unit of work
        "    with app.uow(write=True) as uow:\n"
        "        uow.session.add(blob)\n"
        "        email_payload(sender='a', to='b', message_bytes=b'', cipher=cipher)\n"
        "def service(uow, cipher):\n"
        "    return cipher.encrypt(b'x', context='attachment')\n"
        "def cookie(cipher):\n"
        "    return cipher.encrypt(b'x', context='portal-link')\n")
    assert _outside(tree, source) == ["core/example.py:2"]
