"""Core's problem sentences in the user's language.

Core services raise ``InvalidInput`` with English sentences, some assembled from parts
("This template cannot be saved: the subject is empty; eForm 'x' does not exist.") or holding
a name or a number. ``core_text`` translates such a sentence piece by piece: the heading, each
problem, and the problems that carry a value through a pattern whose translation keeps the value.
The sentences are listed here with ``N_`` so the catalogue check covers them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import AccueilError
from core.i18n import _
from tui.errors import error_text
from tui.i18n import N_

HEADINGS = (
    N_("This message cannot be sent yet"),
    N_("This template cannot be saved"),
)
TITLES = (
    N_("Not allowed to send"), N_("File refused"), N_("Check what was entered"), N_("Not found"),
    N_("Cannot continue"),
)
PLAIN = (
    N_("Notifications for a sender without an Accueil account go to the clinic's support contact, not to the "
       "sender: link your EMR user to an account to receive them."),
    N_("at least one identity check is needed"),
    N_("the password identity check needs the password given to the patient"),
    N_("'notify if no response' must be between 1 and 90 days"),
    N_("choose at least one patient"),
    N_("the subject is empty"),
    N_("the sender is unknown"),
    N_("the template needs a name"),
    N_("This template no longer exists."),
    N_("An appointment-reminder rule uses this template: change the rule first."),
    N_("This account is not active."),
    N_("Sending to patients needs a patient-engagement licence; this provider has none."),
    N_("This role cannot send messages to patients."),
    N_("The files of one message may not add up to more than 50 MB."),
    N_("This patient no longer exists."),
    N_("This message no longer exists."),
    N_("Only a message that failed can be sent again from here."),
    N_("The failed email can no longer be read: send a new message instead."),
    N_("This is not an email address: it needs a name, an @ and a domain such as example.com."),
)
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(pattern), template) for pattern, template in (
    (r"^unknown identity check '(?P<name>.*)'$", N_("unknown identity check '{name}'")),
    (r"^eForm '(?P<code>.*)' does not exist$", N_("eForm '{code}' does not exist")),
    (r"^unknown template kind '(?P<kind>.*)'$", N_("unknown template kind '{kind}'")),
    (r"^There is already a template named '(?P<name>.*)'\.$", N_("There is already a template named '{name}'.")),
    (r"^(?P<count>\d+) of the chosen patients no longer exist\.$",
     N_("{count} of the chosen patients no longer exist.")),
    (r"^This support staff member is not enabled by any licence: each provider's licence enables up to "
     r"(?P<count>\d+) support staff\.$",
     N_("This support staff member is not enabled by any licence: each provider's licence enables up to "
        "{count} support staff.")),
    (r"^The licence of (?P<holder>.*), which enables this support staff member, belongs to a disabled account: "
     r"enable that account or use another licence\.$",
     N_("The licence of {holder}, which enables this support staff member, belongs to a disabled account: "
        "enable that account or use another licence.")),
    (r"^The licence of (?P<holder>.*) already enables (?P<count>\d+) support staff, the most one licence allows: "
     r"use another licence or free a place first\.$",
     N_("The licence of {holder} already enables {count} support staff, the most one licence allows: "
        "use another licence or free a place first.")),
    (r"^'(?P<name>.*)' is not an accepted type: accepted types are (?P<types>.*)\.$",
     N_("'{name}' is not an accepted type: accepted types are {types}.")),
    (r"^'(?P<name>.*)' is larger than 10 MB\.$", N_("'{name}' is larger than 10 MB.")),
    (r"^The content of '(?P<name>.*)' is not a (?P<kind>\w+) file\.$",
     N_("The content of '{name}' is not a {kind} file.")),
))


@dataclass(frozen=True)
class Refused:
    """A worker's result when the core refused (a domain error): expected, so not a worker failure."""

    error: AccueilError


def core_sentence(text: str) -> str:
    """One sentence or problem from core, translated when it is known."""
    translated = _(text)
    if translated != text:
        return translated
    if re.fullmatch(r"@\w+|\[\w+\]", text):  # a template's check lists unknown placeholders bare
        return _("unknown placeholder {token}").format(token=text)
    for pattern, template in PATTERNS:
        match = pattern.match(text)
        if match:
            return _(template).format(**match.groupdict())
    heading, colon, rest = text.partition(": ")
    if colon and heading in HEADINGS and rest.endswith("."):
        parts = [core_sentence(part) for part in rest[:-1].split("; ")]
        return _(heading) + _(": ") + "; ".join(parts) + "."
    return text


def core_text(error: BaseException) -> str:
    """What to show for a failed call: core's sentence translated, else ``tui.errors.error_text``."""
    if isinstance(error, AccueilError):
        return " ".join(core_sentence(error.message).split())
    return error_text(error)


__all__ = ["Refused", "core_sentence", "core_text"]
