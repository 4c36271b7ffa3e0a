"""The site encryption key from the Site section (SI-5), for administrators.

``RotateKeyScreen`` changes the key: the policy is shown; the new key is typed twice (Enter in
the second field starts) or generated (Ctrl+G). Everything the key protects is encrypted again
in whole batches by ``core.site_key`` in a thread worker, reporting to the ``LongWork`` widget;
Esc stops between two batches, and the old key stays in force, so all the data remains readable
(Ctrl+R later resumes; a new key starts again). A generated key is shown once at the end (c
copies it). ``KeyShownScreen`` shows the current key after ``core.site_key_notices.reveal`` has
written its audit entry and queued the administrators' email.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from core.formatting import format_number
from core.i18n import _
from tui.errors import error_text
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter
from tui.widgets.long_work import LongWork

if TYPE_CHECKING:
    import threading

    from core.bootstrap import Accueil
    from core.site_key import RotationResult
    from tui.app import AccueilApp

ROTATE_GROUP, STATE_GROUP = "key-rotate", "key-state"


class RotateKeyScreen(Screen[None]):
    SCREEN_HELP: ClassVar[str] = N_(
        "Change the site encryption key. Everything it protects (secure messages, replies, attachments, form "
        "answers, chart entries, queued email) is encrypted again with the new key, in batches. Esc stops "
        "between two batches: the old key stays in force until the end, so nothing becomes unreadable. "
        "The administrators are emailed when the key has changed.")
    FIELD_HELP: ClassVar[dict[str, str]] = {
        "key-new": N_("The new key. It is never shown on screen; type it again in the next field."),
        "key-again": N_("The new key again; Enter starts the change."),
    }
    AUTO_FOCUS = "#key-new"
    BINDINGS = [
        Binding("escape", "back_or_cancel", N_("Back / stop"), id="key.back", priority=True,
                tooltip=N_("While encrypting: stop after the batch being written. Otherwise: go back.")),
        Binding("ctrl+g", "generate", N_("Generate"), id="key.generate",
                tooltip=N_("Generate a strong new key and start the change; it is shown once at the end.")),
        Binding("ctrl+r", "resume", N_("Resume"), id="key.resume",
                tooltip=N_("Finish the interrupted change, with the key chosen when it started.")),
        Binding("c", "copy_key", N_("Copy key"), id="key.copy",
                tooltip=N_("Copy the generated key to the clipboard.")),
    ]
    DEFAULT_CSS = """
    RotateKeyScreen #key-intro, RotateKeyScreen #key-policy { padding: 0 1; }
    RotateKeyScreen #key-policy { color: $text-muted; margin-bottom: 1; }
    RotateKeyScreen Input { margin: 0 1; background: $surface; }
    RotateKeyScreen .key-label { padding: 0 1; }
    RotateKeyScreen LongWork { padding: 1 1 0 1; }
    RotateKeyScreen #key-status { height: auto; padding: 0 1; margin-top: 1; }
    """

    def __init__(self, batch: int | None = None) -> None:
        super().__init__()
        translate_bindings(self)
        self.batch = batch
        self.waiting: tuple[int, int] | None = None  # an interrupted rotation: (done, total)
        self.generated: str | None = None
        self.result: RotationResult | None = None

    def compose(self) -> ComposeResult:
        from core.site_key import POLICY

        yield Static(_("Change the site encryption key"), id="key-intro", markup=False)
        yield Static(_("Key rules: {policy}").format(policy=_(POLICY)), id="key-policy", markup=False)
        yield Static(_("New key"), classes="key-label", markup=False)
        yield Input(password=True, id="key-new", compact=True)
        yield Static(_("New key again"), classes="key-label", markup=False)
        yield Input(password=True, id="key-again", compact=True)
        yield LongWork(_("encrypted items"), id="key-progress")
        yield Static("", id="key-status", markup=False)
        yield KeyFooter()

    @property
    def accueil_app(self) -> AccueilApp:
        return cast("AccueilApp", self.app)

    @property
    def progress(self) -> LongWork:
        return self.query_one(LongWork)

    def on_mount(self) -> None:
        self.progress.display = False  # shown once the work starts
        if self.accueil_app.accueil is not None:
            self._load_state(self.accueil_app.accueil)

    @work(thread=True, exclusive=True, group=STATE_GROUP, exit_on_error=False, description="key rotation state")
    def _load_state(self, accueil: Accueil) -> tuple[int, int] | None:
        from core.site_key import unfinished

        with accueil.uow() as uow:
            rotation = unfinished(uow.session)
            return (rotation.done_rows, rotation.total_rows) if rotation is not None else None

    def _status(self, text: str) -> None:
        self.query_one("#key-status", Static).update(text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "resume":
            return self.waiting is not None and not self.progress.running
        if action == "copy_key":
            return self.generated is not None and not self.progress.running
        if action == "generate":
            return not self.progress.running and self.result is None
        return True

    @on(Input.Submitted, "#key-new")
    def _next(self) -> None:
        self.query_one("#key-again", Input).focus()

    @on(Input.Submitted, "#key-again")
    def _entered(self) -> None:
        from core.site_key import unmet_rules

        first, again = (self.query_one(f"#key-{name}", Input).value for name in ("new", "again"))
        if unmet := unmet_rules(first):
            self._status(_("The new site encryption key is too weak: it needs {rules}.").format(rules=", ".join(unmet)))
            self.query_one("#key-new", Input).focus()
        elif first != again:
            self._status(_("The two keys differ: type the new key again."))
            self.query_one("#key-again", Input).value = ""
        else:
            self._begin(first)

    def action_generate(self) -> None:
        self._begin(None)

    def action_resume(self) -> None:
        self._begin(None, resume_only=True)

    def _begin(self, passphrase: str | None, *, resume_only: bool = False) -> None:
        accueil = self.accueil_app.accueil
        if accueil is None or self.progress.running:
            return
        for field in self.query(Input):
            field.disabled = True
        self._status("")
        self.progress.display = True
        self._rotate(accueil, passphrase, resume_only, self.progress.start())
        self.refresh_bindings()

    @work(thread=True, exclusive=True, group=ROTATE_GROUP, exit_on_error=False, description="key rotation")
    def _rotate(self, accueil: Accueil, passphrase: str | None, resume_only: bool,
                cancel: threading.Event) -> RotationResult:
        from core import site_key

        if not resume_only:
            _rotation, chosen = site_key.start(accueil, passphrase)
            if passphrase is None:
                self.generated = chosen
        kwargs = {"batch": self.batch} if self.batch else {}
        return site_key.resume(accueil, progress=self.progress.report, cancel=cancel, **kwargs)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        if worker.group == STATE_GROUP:
            self.waiting = cast("tuple[int, int] | None", worker.result)
            if self.waiting is not None:
                done, total = (format_number(n) for n in self.waiting)
                self._status(_("An earlier change of key stopped after {done} of {total} items: Ctrl+R finishes "
                               "it, or type a new key to start again.").format(done=done, total=total))
            self.refresh_bindings()
            return
        if worker.group != ROTATE_GROUP:
            return
        self.progress.finish()
        if worker.state == WorkerState.SUCCESS:
            self.result = cast("RotationResult", worker.result)
            self._status(self._result_text(self.result))
            self.waiting = None if self.result.finished else (self.result.rows, self.result.total)
        else:
            for field in self.query(Input):
                field.disabled = False
            self._status(_("The key was not changed: {reason}").format(
                reason=error_text(worker.error) if worker.error else ""))
            if self.accueil_app.accueil is not None:
                self._load_state(self.accueil_app.accueil)
        self.refresh_bindings()

    def _result_text(self, result: RotationResult) -> str:
        if not result.finished:
            return _("Stopped between two batches. The old key is still in force and everything is readable; "
                     "Ctrl+R finishes the change later.")
        lines = [_("Site encryption key changed: {count} items encrypted again. The administrators were emailed.")
                 .format(count=format_number(result.rows))]
        if result.unreadable:
            lines.append(_("{count} items were already unreadable with the old key and were left as they were.")
                         .format(count=format_number(result.unreadable)))
        if self.generated is not None:
            lines += ["", _("The new key (shown once: c copies it; keep it in the clinic's safe):"), self.generated]
        lines += ["", _("Restart the email worker and the patient portal so they use the new key.")]
        return "\n".join(lines)

    def action_copy_key(self) -> None:
        if self.generated is not None:
            self.app.copy_to_clipboard(self.generated)
            self.notify(_("Key copied."))

    def action_back_or_cancel(self) -> None:
        if self.progress.running:
            self.progress.cancel()
        else:
            self.dismiss()


class KeyShownScreen(ModalScreen[None]):
    SCREEN_HELP: ClassVar[str] = N_("The site encryption key. Showing it was recorded in the audit trail and the "
                                    "administrators were emailed. c copies it, Esc closes.")
    BINDINGS = [
        Binding("c", "copy_key", N_("Copy"), id="key-shown.copy", tooltip=N_("Copy the key to the clipboard.")),
        Binding("escape", "close", N_("Close"), id="key-shown.close", tooltip=N_("Close; the key is not kept.")),
    ]
    DEFAULT_CSS = """
    KeyShownScreen { align: center middle; }
    #key-shown { width: 64; height: auto; padding: 1 2; background: $panel; border: round $warning; }
    #key-shown-value { margin: 1 0; color: $accent; text-style: bold; }
    """

    def __init__(self, passphrase: str) -> None:
        super().__init__()
        translate_bindings(self)
        self.passphrase = passphrase

    def compose(self) -> ComposeResult:
        with Vertical(id="key-shown") as box:
            box.border_title = _("Site encryption key")
            yield Static(_("Keep it in the clinic's safe. Showing it was recorded in the audit trail and the "
                           "administrators were emailed."), markup=False)
            yield Static(self.passphrase, id="key-shown-value", markup=False)
        yield KeyFooter()

    def action_copy_key(self) -> None:
        self.app.copy_to_clipboard(self.passphrase)
        self.notify(_("Key copied."))

    def action_close(self) -> None:
        self.dismiss(None)


def confirm_question() -> str:
    return _("Show the site encryption key? This is recorded in the audit trail and every administrator "
             "of the site is emailed.")


__all__ = ["KeyShownScreen", "RotateKeyScreen", "confirm_question"]
