"""What every ``accueil`` command shares: exit codes, opening the clinic, input errors."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2


class opened:  # noqa: N801 - used as a function: ``with opened(settings) as app``
    """``with opened(settings) as app``: bootstrap, then dispose the engine whatever happens."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __enter__(self) -> Accueil:
        from core.bootstrap import bootstrap

        self.app = bootstrap(self.settings)
        return self.app

    def __exit__(self, *exc: object) -> None:
        self.app.dispose()


def input_error(message: str) -> Exception:
    """A mistake in the command's arguments: one line on stderr, exit 2 (``accueil.cli.main``)."""
    from core.errors import InvalidInput

    return InvalidInput(message)


def progress_bar(unit: str) -> Callable[[int, int], None]:
    """A one-line progress bar on stderr (a line per 10 % when stderr is not a terminal)."""
    interactive = sys.stderr.isatty()
    last_step = -1

    def show(done: int, total: int) -> None:
        nonlocal last_step
        fraction = done / total if total else 1.0
        if interactive:
            filled = int(fraction * 30)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%} {done:,}/{total:,} {unit}")
            if done >= total:
                sys.stderr.write("\n")
            sys.stderr.flush()
        elif int(fraction * 10) != last_step:
            last_step = int(fraction * 10)
            print(f"{fraction:4.0%} {done:,}/{total:,} {unit}", file=sys.stderr)

    return show
