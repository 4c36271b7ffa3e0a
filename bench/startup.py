"""Start-up benchmark of the terminal app: ``python -m bench.startup [--runs 5] [--patients 5000]``.

What a thin client on a slow link sees: the real ``accueil`` command (the installed console
script; ``python -m accueil`` if it is not on PATH) started in a pseudo-terminal of 80×24 with
``TERM=xterm-256color``, on the 5,000-patient demo clinic (``core.demo.build_demo``, built once in
a temporary folder and kept for the next run). The bench reads the terminal until no byte has
arrived for 500 ms after the first one (the screen has settled), and records the time of the
last byte since the command was started and the bytes written. It then presses the quit key and
checks the app ended cleanly. Goal: ≤ 400 ms and ≤ 9 KB (median of the runs). One untimed start
comes first, so that the timed ones run from compiled .pyc files as an installed copy does.

For scale, it also times a bare Textual app holding only an Input and a DataTable, started the
same way, run for run in turn with the app so that both see the same load on a shared machine
(skip with ``--no-baseline``). The last line is the figure: ``startup X ms Y bytes``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import re
import select
import shutil
import signal
import statistics
import struct
import sys
import tempfile
import termios
import textwrap
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import BENCH_TODAY

COLUMNS, LINES = 80, 24
SETTLE_SECONDS = 0.5
FIRST_BYTE_TIMEOUT = 30.0
QUIT_KEY = b"\x11"  # ctrl+q
GOAL_MS, GOAL_BYTES = 400, 9 * 1024

BARE_APP = textwrap.dedent('''
    from textual.app import App
    from textual.widgets import DataTable, Input

    class Bare(App[None]):
        def compose(self):
            yield Input(placeholder="search")
            yield DataTable()

    Bare().run()
''')


@dataclass(frozen=True, slots=True)
class Run:
    milliseconds: float
    bytes_written: int


def demo_clinic(patients: int) -> dict[str, str]:
    """The demo clinic's folder (built on first use), as the ACCUEIL_ variables that select it."""
    folder = Path(tempfile.gettempdir()) / f"accueil-bench-startup-{patients}"
    database, data, config = folder / "accueil.db", folder / "data", folder / "config"
    ready = folder / "built"
    if not ready.exists():
        from core.demo import build_demo
        from core.settings import Settings

        shutil.rmtree(folder, ignore_errors=True)
        print(f"building the {patients}-patient demo clinic in {folder} …", file=sys.stderr)
        settings = Settings(database_url=f"sqlite:///{database}", data_dir=data, config_dir=config)
        build_demo(settings, patients=patients, today=BENCH_TODAY)
        ready.write_text("demo clinic built by bench.startup\n")
    return {"ACCUEIL_DATABASE_URL": f"sqlite:///{database}", "ACCUEIL_DATA_DIR": str(data),
            "ACCUEIL_CONFIG_DIR": str(config), "XDG_CONFIG_HOME": str(folder / "xdg-config")}


def terminal_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """A plain SSH session's environment: xterm-256color, no developer settings, no Textual tweaks."""
    # PYTHONDONTWRITEBYTECODE is a property of this build machine, not of a clinic's server: an
    # installed Accueil runs from compiled .pyc files, as the bare app's Textual does here.
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("ACCUEIL_", "TEXTUAL"))
           and name not in {"COLORTERM", "NO_COLOR", "PYTHONDONTWRITEBYTECODE"}}
    env.update({"TERM": "xterm-256color", "COLUMNS": str(COLUMNS), "LINES": str(LINES)})
    env.update(extra)
    return env


def run_once(command: Sequence[str], env: Mapping[str, str], *, quit_key: bytes | None) -> Run:
    started = time.perf_counter()
    pid, master = os.forkpty()
    if pid == 0:  # the child: size the terminal before the app asks for it, then become the app
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
            os.execvpe(command[0], list(command), dict(env))
        finally:
            os._exit(127)
    output = bytearray()
    last_byte = None
    try:
        deadline = started + FIRST_BYTE_TIMEOUT
        while True:
            timeout = deadline - time.perf_counter()
            if timeout <= 0:
                break
            readable, _, _ = select.select([master], [], [], timeout)
            if not readable:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the app has ended
                break
            if not chunk:
                break
            output += chunk
            last_byte = time.perf_counter()
            deadline = last_byte + SETTLE_SECONDS
        if last_byte is None:
            raise SystemExit(f"{command[0]}: no output within {FIRST_BYTE_TIMEOUT:.0f} s")
        settled = Run((last_byte - started) * 1000, len(output))
        if quit_key is not None:
            os.write(master, quit_key)
        status = _wait_and_drain(pid, master, output)
    finally:
        os.close(master)
    if status != 0:
        raise SystemExit(f"{' '.join(command)} ended with status {status} instead of 0:\n{_visible(output)[-800:]}")
    return settled


def _wait_and_drain(pid: int, master: int, output: bytearray, timeout: float = 15.0) -> int:
    """Keep reading (so the app never blocks on a full terminal) until it exits; its exit status."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        readable, _, _ = select.select([master], [], [], 0.05)
        if readable:
            with contextlib.suppress(OSError):  # EIO once the app has closed the terminal
                output += os.read(master, 65536)
    os.kill(pid, signal.SIGTERM)
    os.waitpid(pid, 0)
    raise SystemExit(f"the app did not quit within {timeout:.0f} s of the quit key")


_ESCAPES = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-_])")


def _visible(output: bytes | bytearray) -> str:
    return _ESCAPES.sub(b"", output).decode("utf-8", "replace")


def summary(label: str, results: Sequence[Run]) -> str:
    each = ", ".join(f"{r.milliseconds:.0f}" for r in results)
    return (f"{label}: median {statistics.median(r.milliseconds for r in results):.0f} ms "
            f"(min {min(r.milliseconds for r in results):.0f}; runs {each}), "
            f"median {statistics.median(r.bytes_written for r in results):.0f} bytes")


def accueil_command() -> list[str]:
    installed = shutil.which("accueil")
    return [installed] if installed else [sys.executable, "-m", "accueil"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="starts to time (default 5); the median is reported")
    parser.add_argument("--patients", type=int, default=5000, help="size of the demo clinic (default 5000)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare Textual app")
    args = parser.parse_args(argv)

    env = terminal_environment(demo_clinic(args.patients))
    command = accueil_command()
    results: list[Run] = []
    bare: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="accueil-bench-bare-") as folder:
        script = Path(folder) / "bare.py"
        script.write_text(BARE_APP)
        # One untimed start of each first: it compiles the .pyc files an installed copy would have.
        run_once(command, env, quit_key=QUIT_KEY)
        if not args.no_baseline:
            run_once([sys.executable, str(script)], env, quit_key=QUIT_KEY)
        # Interleaved, so that both see the same load on a shared machine.
        for _ in range(args.runs):
            if not args.no_baseline:
                bare.append(run_once([sys.executable, str(script)], env, quit_key=QUIT_KEY))
            results.append(run_once(command, env, quit_key=QUIT_KEY))
    if bare:
        print(summary("bare Textual app (Input + DataTable)", bare))
    print(summary(f"{' '.join(command)} ({args.patients} patients, {COLUMNS}x{LINES})", results))
    milliseconds = statistics.median(r.milliseconds for r in results)
    written = statistics.median(r.bytes_written for r in results)
    print(f"goal: <= {GOAL_MS} ms and <= {GOAL_BYTES} bytes")
    print(f"startup {milliseconds:.0f} ms {written:.0f} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
