"""Bytes on the wire (TU-5): ``python -m bench.tui_bytes [--patients 5000] [--idle 5]``.

What a thin client on a 56 kbit/s link pays. The bench builds a demo clinic in a temporary
folder with the real command (``accueil demo --headless --patients N``, its folder chosen by
``ACCUEIL_DATA_DIR``), then runs ``accueil demo`` in a pseudo-terminal of 80×24
(``TERM=xterm-256color``, the ``pty`` module) and plays a front-desk task, reading everything the
app writes after each key until the terminal has been quiet for a moment:

1. start-up, read for a few seconds after the first frame while the clinic opens (the demo maps
   the OS user to an English-speaking account: no login prompt);
2. type ``tremb`` into the search box, one key at a time, then ``lay`` and three Backspaces;
3. Enter (open the highlighted patient), Esc (back to the results);
4. F3 (Messages), F2 (Patients): each section;
5. nothing for ``--idle`` seconds (idle bytes per second);
6. Ctrl+Q, and a check that the app ended with status 0.

A key's output is a *results refresh* when it addressed more than ``REFRESH_ROWS`` screen rows
(the table was redrawn), else a *typed character* (the field's line, the cursor, perhaps the
count line). Printed: every step's bytes, total bytes, the median bytes per typed character,
the median bytes per results refresh (the results table shows about 20 rows at 80×24) and the
idle bytes per second. Goals: ≤ 250 B per typed character, ≤ 3 KB per refresh, 0 idle bytes.
The last line holds the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import re
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.startup import COLUMNS, LINES, accueil_command, terminal_environment

QUIET_SECONDS = 1.5
"""A key's output is complete when nothing more came for this long (searches take milliseconds)."""
START_TIMEOUT = 60.0
OPENING_SECONDS = 4.0
REFRESH_ROWS = 6
GOAL_TYPED, GOAL_REFRESH, GOAL_IDLE = 250, 3 * 1024, 0
KEYS = {"enter": b"\r", "escape": b"\x1b", "backspace": b"\x7f", "f2": b"\x1bOQ", "f3": b"\x1bOR",
        "ctrl+q": b"\x11"}
_CURSOR_ROW = re.compile(rb"\x1b\[(\d+);\d+H")


@dataclass(frozen=True, slots=True)
class Step:
    label: str
    written: bytes

    @property
    def rows(self) -> int:
        """How many distinct screen rows the output moved the cursor to."""
        return len(set(_CURSOR_ROW.findall(self.written)))

    @property
    def refresh(self) -> bool:
        return self.rows > REFRESH_ROWS


class Terminal:
    """``accueil`` in a pseudo-terminal of 80×24: write keys, read until quiet."""

    def __init__(self, command: Sequence[str], env: dict[str, str]) -> None:
        self.pid, self.master = os.forkpty()
        if self.pid == 0:  # the child: size the terminal before the app asks, then become the app
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
                os.execvpe(command[0], list(command), env)
            finally:
                os._exit(127)

    def read_until_quiet(self, quiet: float = QUIET_SECONDS, first_timeout: float = 10.0) -> bytes:
        output = bytearray()
        deadline = time.perf_counter() + first_timeout
        while True:
            readable, _, _ = select.select([self.master], [], [], max(0.0, deadline - time.perf_counter()))
            if not readable:
                return bytes(output)
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the app has ended
                return bytes(output)
            if not chunk:
                return bytes(output)
            output += chunk
            deadline = time.perf_counter() + quiet

    def read_for(self, seconds: float) -> bytes:
        output = bytearray()
        end = time.perf_counter() + seconds
        while (left := end - time.perf_counter()) > 0:
            readable, _, _ = select.select([self.master], [], [], left)
            if readable:
                with contextlib.suppress(OSError):
                    output += os.read(self.master, 65536)
        return bytes(output)

    def press(self, key: str) -> bytes:
        os.write(self.master, KEYS.get(key, key.encode()))
        return self.read_until_quiet()

    def finish(self, timeout: float = 15.0) -> int:
        deadline = time.perf_counter() + timeout
        try:
            while time.perf_counter() < deadline:
                done, status = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    return os.waitstatus_to_exitcode(status)
                readable, _, _ = select.select([self.master], [], [], 0.05)
                if readable:
                    with contextlib.suppress(OSError):
                        os.read(self.master, 65536)
            os.kill(self.pid, 15)
            os.waitpid(self.pid, 0)
            return -15
        finally:
            os.close(self.master)


def build_demo(folder: Path, patients: int, env: dict[str, str]) -> None:
    command = [*accueil_command(), "demo", "--headless", "--patients", str(patients)]
    print(f"building the {patients}-patient demo clinic in {folder} …", file=sys.stderr)
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def play(env: dict[str, str], idle_seconds: float) -> tuple[list[Step], int]:
    terminal = Terminal([*accueil_command(), "demo"], env)
    first_frame = terminal.read_until_quiet(quiet=1.0, first_timeout=START_TIMEOUT)
    # The clinic opens and the user signs in after the first frame: give that time to end.
    steps = [Step("start-up", first_frame + terminal.read_for(OPENING_SECONDS))]
    for key in [*"tremb", *"lay", "backspace", "backspace", "backspace"]:
        steps.append(Step(f"type {key}", terminal.press(key)))
    for key, label in (("enter", "open patient"), ("escape", "back"), ("f3", "Messages"), ("f2", "Patients")):
        steps.append(Step(label, terminal.press(key)))
    steps.append(Step(f"idle {idle_seconds:g} s", terminal.read_for(idle_seconds)))
    os.write(terminal.master, KEYS["ctrl+q"])
    return steps, terminal.finish()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tui_bytes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=5000, help="size of the demo clinic (default 5000)")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle time measured (default 5)")
    parser.add_argument("--low-bandwidth", action="store_true", help="run with ACCUEIL_LOW_BANDWIDTH=1")
    parser.add_argument("--dump", type=Path, help="write each step's bytes to a file in this folder")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="accueil-bench-bytes-") as folder:
        extra = {"ACCUEIL_DATA_DIR": folder, "XDG_CONFIG_HOME": str(Path(folder) / "xdg")}
        if args.low_bandwidth:
            extra["ACCUEIL_LOW_BANDWIDTH"] = "1"
        env = terminal_environment(extra)
        build_demo(Path(folder), args.patients, env)
        steps, status = play(env, args.idle)
    if status != 0:
        raise SystemExit(f"accueil demo ended with status {status} instead of 0")
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        for number, step in enumerate(steps):
            (args.dump / f"{number:02d}-{step.label.replace(' ', '-')}.out").write_bytes(step.written)
    for step in steps:
        kind = "refresh" if step.refresh else ""
        print(f"{step.label:<16} {len(step.written):>7} B  {step.rows:>3} rows  {kind}")
    keys = [s for s in steps if s.label.startswith("type ")]
    typed = [len(s.written) for s in keys if not s.refresh]
    refreshes = [len(s.written) for s in keys if s.refresh]
    idle = len(steps[-1].written) / args.idle
    total = sum(len(s.written) for s in steps)
    median_typed = statistics.median(typed) if typed else float("nan")
    median_refresh = statistics.median(refreshes) if refreshes else float("nan")
    print(f"goals: <= {GOAL_TYPED} B per typed character, <= {GOAL_REFRESH} B per results refresh, "
          f"{GOAL_IDLE} idle bytes")
    print(f"tui_bytes total {total} B, typed character {median_typed:.0f} B (median of {len(typed)}), "
          f"results refresh {median_refresh:.0f} B (median of {len(refreshes)}), idle {idle:.0f} B/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
