"""House rule 1: the service layer never imports a face (textual, starlette, tui, screens, portal)."""

from __future__ import annotations

import json
import subprocess
import sys

FACES = ("textual", "starlette", "tui", "screens", "portal", "uvicorn")


def test_core_imports_no_face() -> None:
    code = (
        "import importlib, json, pkgutil, sys\n"
        "import core\n"
        "for info in pkgutil.walk_packages(core.__path__, 'core.'):\n"
        "    if '.migrations' not in info.name:\n"
        "        importlib.import_module(info.name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    modules = json.loads(output)
    assert "core.patients.search" in modules  # the walk really imported the package
    leaked = [name for name in modules if name.split(".")[0] in FACES]
    assert leaked == []
