"""``PreviewScreen``: the exact email for the first recipient, who will be skipped and why, then Send.

Pushed by ``screens.compose`` with ``core.messaging.compose.preview_draft``'s result. It shows
the From header, the subject and the plain-text part as the patient will read it (the link is a
placeholder until sending), how many patients will receive it, the skipped ones counted by
reason (no email, no email consent, a bounced address) and the core's warnings (notifications
for a sender without an account). Ctrl+S or ``s`` sends (dismisses True); Esc goes back to edit.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from core.i18n import _
from tui.core_text import core_sentence
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from core.messaging.compose import Preview

SKIP_REASONS = {"no_email": N_("no email address"), "no_email_consent": N_("no email consent"),
                "bad_email": N_("address bounced (fix it first)")}


def summary_lines(preview: Preview) -> list[str]:
    lines = [_("Will be sent to {count} patients.").format(count=preview.recipients)
             if preview.recipients != 1 else _("Will be sent to 1 patient.")]
    if preview.skipped:
        reasons = Counter(skip.reason for skip in preview.skipped)
        parts = [f"{_(SKIP_REASONS.get(reason, reason))}: {count}" for reason, count in reasons.most_common()]
        lines.append(_("Skipped: {count} ({reasons}).").format(count=len(preview.skipped), reasons=", ".join(parts)))
    lines.extend(core_sentence(warning) for warning in preview.warnings)
    return lines


class PreviewScreen(ModalScreen[bool]):
    SCREEN_HELP: ClassVar[str] = N_(
        "The email exactly as the first patient will receive it (the secure link is made when sending). "
        "Ctrl+S sends, Esc goes back to the message.")
    BINDINGS = [
        Binding("ctrl+s,s", "send", N_("Send"), id="preview.send", key_display="ctrl+s",
                tooltip=N_("Send the message to every patient counted above.")),
        Binding("escape", "back", N_("Edit"), id="preview.back", tooltip=N_("Back to the message, to change it.")),
    ]
    DEFAULT_CSS = """
    PreviewScreen { align: center middle; }
    #preview { width: 100%; height: 100%; padding: 0 1; background: $panel; }
    #preview-summary { color: $text-warning; margin-bottom: 1; }
    #preview-headers { color: $text-muted; }
    #preview-text { margin-top: 1; }
    """

    def __init__(self, preview: Preview) -> None:
        super().__init__()
        translate_bindings(self)
        self.preview = preview

    def compose(self) -> ComposeResult:
        preview = self.preview
        with VerticalScroll(id="preview"):
            yield Static("\n".join(summary_lines(preview)), id="preview-summary", markup=False)
            if preview.first is not None:
                headers = [_("From: {sender}").format(sender=preview.from_header),
                           _("Subject: {subject}").format(subject=preview.first.subject)]
                yield Static("\n".join(headers), id="preview-headers", markup=False)
                yield Static(preview.first.text, id="preview-text", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#preview", VerticalScroll).focus()

    def action_send(self) -> None:
        if self.preview.recipients == 0:
            self.notify(_("Nobody can receive this message: see the skipped patients."), severity="warning")
            return
        self.dismiss(True)

    def action_back(self) -> None:
        self.dismiss(False)


__all__ = ["PreviewScreen", "summary_lines"]
