"""``LongWork``: the one pattern for work that takes a while (TU-6).

A progress bar, a count (``1 234 of 5 000 rows``), an estimate of the time left, and Esc to
cancel. The work itself runs in a thread worker and is written in whole batches (the patient
import commits one batch at a time): ``cancel_event`` is checked between batches, so cancelling
stops after the batch being written and the data holds only whole batches. ``report`` may be
called from the worker's thread. The widget redraws only when a batch ends (no timer), so a
slow line pays a few hundred bytes per batch.

The screen that owns it binds Esc to ``cancel`` while ``running``.
"""

from __future__ import annotations

import threading
import time

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from core.formatting import format_number
from core.i18n import _


class LongWork(Vertical):
    DEFAULT_CSS = """
    LongWork { height: auto; }
    LongWork ProgressBar { width: 100%; }
    LongWork Bar { width: 1fr; max-width: 70; }
    LongWork #long-work-count { height: 1; color: $text-muted; }
    """

    def __init__(self, unit: str, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.unit = unit
        """What is counted, already translated (``rows``)."""
        self.cancel_event = threading.Event()
        self.running = False
        self._started = 0.0
        self._done = self._total = 0

    def compose(self) -> ComposeResult:
        yield ProgressBar(show_eta=False, show_percentage=True)
        yield Static("", id="long-work-count", markup=False)

    def start(self) -> threading.Event:
        """Reset for new work; the returned event is set when the user cancels."""
        self.cancel_event = threading.Event()
        self.running = True
        self._started = time.monotonic()
        self.query_one(ProgressBar).update(total=None, progress=0)
        self.query_one("#long-work-count", Static).update(_("Starting… Esc cancels."))
        return self.cancel_event

    def report(self, done: int, total: int) -> None:
        """``done`` of ``total`` units are finished; safe to call from the worker's thread."""
        if threading.get_ident() != self.app._thread_id:
            self.app.call_from_thread(self.report, done, total)
            return
        self._done, self._total = done, total
        self.query_one(ProgressBar).update(total=max(total, 1), progress=done)
        self.query_one("#long-work-count", Static).update(self.count_text(done, total))

    def count_text(self, done: int, total: int) -> str:
        text = _("{done} of {total} {unit}").format(done=format_number(done), total=format_number(total),
                                                    unit=self.unit)
        elapsed = time.monotonic() - self._started
        if self.cancel_event.is_set():
            return text + " · " + _("cancelling after this batch…")
        if 0 < done < total and elapsed > 1:
            left = elapsed * (total - done) / done
            text += " · " + (_("about {minutes} min left").format(minutes=round(left / 60)) if left >= 90
                             else _("about {seconds} s left").format(seconds=max(1, round(left))))
        return text + " · " + _("Esc cancels")

    def cancel(self) -> None:
        if self.running and not self.cancel_event.is_set():
            self.cancel_event.set()
            self.query_one("#long-work-count", Static).update(_("Cancelling after the batch being written…"))

    def finish(self) -> None:
        """The work has ended (done, cancelled or failed): the count stays, the hints go."""
        self.running = False
        self.query_one("#long-work-count", Static).update(
            _("{done} of {total} {unit}").format(done=format_number(self._done), total=format_number(self._total),
                                                 unit=self.unit))


__all__ = ["LongWork"]
