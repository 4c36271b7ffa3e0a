"""One template, one patient: the email's subject, HTML part and plain-text part (MS-2, MS-3, MS-4).

Staff write templates with nine placeholders (``PLACEHOLDERS``) and a little HTML. There is no
template engine behind them: a small tokenizer finds the placeholders and nothing else, so
``{{ ''.__class__ }}`` or ``{% for %}`` in a template is ordinary text and reaches the patient
as written, never evaluated. The body is cleaned with nh3 *before* the placeholders are filled,
and the values are HTML-escaped as they go in, so neither staff markup nor a patient's name can
add anything the allow-list does not permit.

Every unknown placeholder and every placeholder without a value for this patient is reported at
once in ``RenderError.problems`` (the compose preview shows them before Send; the worker never
meets them). The fixed texts below are shown to the *patient*, in the patient's language, so
they live here in both languages rather than in the staff interface's catalogue.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import nh3

from core.errors import InvalidInput
from core.i18n import _

# MS-2's list, plus @apptLocation for reminders (MS-9): where the appointment takes place.
PLACEHOLDERS = ("@ptPreferredOrFirstName", "@ptFirstName", "@ptLastName", "@apptDate", "@apptTime",
                "@apptLocation", "@providerName", "@clinicName", "[weblink]", "[weblink_french]")
LINK_PLACEHOLDERS = ("[weblink]", "[weblink_french]")

# An @ at the start of a word (so info@clinic.example is an address, not a placeholder) followed by a
# letter; or a bracketed word starting with "weblink" (so a misspelt [weblink_fr] is caught).
TOKEN = re.compile(r"(?<!\w)@[^\W\d_]\w*|\[(?i:weblink)[\w-]*\]")
# nh3 escapes < in text; the pattern still honours quoted attribute values so a tag is never split.
TAG_OR_TEXT = re.compile(r"(<(?:[^\"'>]|\"[^\"]*\"|'[^']*')*>)")

# MS-1 allows b, u, i and a href. p and br are allowed as well because they only carry line
# structure: without them a body typed in paragraphs would arrive as one run-on line.
ALLOWED_TAGS = frozenset({"b", "u", "i", "a", "p", "br"})
# Removed with everything inside them, so neither code nor a pasted page's title leaks in as text.
DROPPED_WITH_CONTENT = frozenset({"script", "style", "template", "iframe", "object", "noscript", "title",
                                  "textarea"})
LINK_REL = "noopener noreferrer"

PATIENT_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "weblink": "Open your secure messages",
        # The French link is labelled in French whatever the email's language.
        "weblink_french": "Consulter vos messages en français",
        "no_reply": "This email comes from an address that does not accept replies. "
                    "To reach the clinic, please call or write to us directly.",
    },
    "fr": {
        "weblink": "Consulter vos messages sécurisés",
        "weblink_french": "Consulter vos messages en français",
        "no_reply": "Ce courriel provient d'une adresse qui ne reçoit pas les réponses. "
                    "Pour joindre la clinique, veuillez nous téléphoner ou nous écrire directement.",
    },
}

EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FR_DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December")
FR_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
             "octobre", "novembre", "décembre")


class RenderError(InvalidInput):
    """The template cannot be filled for this patient; ``problems`` lists every reason."""

    title = "This message cannot be sent yet"

    def __init__(self, problems: list[str]) -> None:
        super().__init__(_("The message has placeholders that cannot be filled: {problems}").format(
            problems="; ".join(problems)))
        self.problems = problems


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderContext:
    """What one patient's email needs. ``appointment_at`` must be timezone-aware."""

    first_name: str
    last_name: str
    clinic_name: str
    preferred_name: str | None = None
    language: str = "en"
    appointment_at: datetime | None = None
    appointment_location: str | None = None
    provider_name: str | None = None
    weblink: str | None = None
    weblink_french: str | None = None
    timezone: str = "America/Toronto"

    def __post_init__(self) -> None:
        if self.language not in PATIENT_TEXT:
            raise ValueError(f"patient language must be 'en' or 'fr', not {self.language!r}")
        if self.appointment_at is not None and self.appointment_at.tzinfo is None:
            raise ValueError("appointment_at must be timezone-aware")
        ZoneInfo(self.timezone)  # an unknown zone fails here, not half-way through a batch


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    subject: str
    html: str
    text: str


def format_date(moment: datetime, language: str) -> str:
    """'mardi 3 mars 2026' / 'Tuesday, March 3, 2026' (the day as given, no zone conversion)."""
    if language == "fr":
        day = "1er" if moment.day == 1 else str(moment.day)
        return f"{FR_DAYS[moment.weekday()]} {day} {FR_MONTHS[moment.month - 1]} {moment.year}"
    return f"{EN_DAYS[moment.weekday()]}, {EN_MONTHS[moment.month - 1]} {moment.day}, {moment.year}"


def format_time(moment: datetime, language: str) -> str:
    """'14 h 30' and '9 h' (Quebec usage) / '2:30 PM' and '9:00 AM'."""
    if language == "fr":
        return f"{moment.hour} h {moment.minute:02d}" if moment.minute else f"{moment.hour} h"
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def clean_body_html(body: str) -> str:
    """The body reduced to the allow-list: b, u, i, p, br and a with an https or mailto href.

    Relative links are dropped, except a link whose href is exactly ``[weblink]`` or
    ``[weblink_french]``, which the placeholder step turns into the patient's link.
    """
    return nh3.clean(
        body,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={"a": {"href"}},
        url_schemes={"https", "mailto"},
        url_relative=lambda url: url if url in LINK_PLACEHOLDERS else None,
        link_rel=LINK_REL,
        strip_comments=True,
    )


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._link: tuple[str | None, int] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p":
            self.parts.append("\n\n")
        elif tag == "a":
            self._link = (dict(attrs).get("href"), len(self.parts))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.parts.append("\n\n")
        elif tag == "a" and self._link is not None:
            href, start = self._link
            self._link = None
            label = "".join(self.parts[start:]).strip()
            # A mail client shows a mailto link's address, not the scheme.
            shown = href.removeprefix("mailto:") if href else None
            if shown and label and label not in (href, shown):
                self.parts.append(f" ({shown})")
            elif shown and not label:
                self.parts.append(shown)

    def handle_data(self, data: str) -> None:
        self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(body: str) -> str:
    """The plain-text reading of a body: links as 'text (URL)', p and br as line breaks."""
    extractor = _TextExtractor()
    extractor.feed(clean_body_html(body))
    extractor.close()
    lines = [line.strip() for line in "".join(extractor.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _with_line_breaks(cleaned: str) -> str:
    """A body typed line by line (no p or br at all) keeps its lines in the HTML part."""
    cleaned = cleaned.strip()
    if re.search(r"<(p|br)\b", cleaned):
        return cleaned
    parts = TAG_OR_TEXT.split(cleaned)
    return "".join(part if part.startswith("<") else part.replace("\n", "<br>\n") for part in parts)


def find_placeholders(text: str) -> list[str]:
    """Every placeholder-looking token in ``text``, in order, known or not."""
    return TOKEN.findall(text)


def unknown_placeholders(*texts: str) -> list[str]:
    """Tokens that are not placeholders (checked when a template is saved, before any patient)."""
    found: list[str] = []
    for text in texts:
        found.extend(token for token in find_placeholders(text) if token not in PLACEHOLDERS
                     and token not in found)
    return found


def _unknown_message(token: str) -> str:
    for known in PLACEHOLDERS:
        if known.lower() == token.lower():
            return _("unknown placeholder {token} (did you mean {known}?)").format(token=token, known=known)
    return _("unknown placeholder {token}").format(token=token)


def _values(context: RenderContext) -> tuple[dict[str, str], dict[str, str]]:
    """(value of each placeholder that has one, reason why each other one has none)."""
    language = context.language
    values: dict[str, str] = {}
    missing: dict[str, str] = {}

    def offer(token: str, value: str | None, reason: str) -> None:
        if value is not None and value.strip():
            values[token] = value.strip()
        else:
            missing[token] = reason

    offer("@ptPreferredOrFirstName", (context.preferred_name or "").strip() or context.first_name,
          _("no first name"))
    offer("@ptFirstName", context.first_name, _("no first name"))
    offer("@ptLastName", context.last_name, _("no last name"))
    offer("@clinicName", context.clinic_name, _("no clinic name"))
    offer("@providerName", context.provider_name, _("no provider"))
    if context.appointment_at is not None:
        local = context.appointment_at.astimezone(ZoneInfo(context.timezone))
        values["@apptDate"] = format_date(local, language)
        values["@apptTime"] = format_time(local, language)
        # An appointment without a room or address of its own takes place at the clinic.
        offer("@apptLocation", context.appointment_location or context.clinic_name, _("no appointment location"))
    else:
        missing["@apptDate"] = missing["@apptTime"] = missing["@apptLocation"] = _("no appointment")
    for token, url in (("[weblink]", context.weblink), ("[weblink_french]", context.weblink_french)):
        if url is not None and not re.match(r"https?://[^\s\"'<>]+$", url.strip()):
            missing[token] = _("the link is not a web address")
        else:
            offer(token, url, _("no link for this message"))
    return values, missing


def _check(texts: list[str], context: RenderContext) -> dict[str, str]:
    values, missing = _values(context)
    problems: list[str] = []
    for text in texts:
        for token in find_placeholders(text):
            if token not in PLACEHOLDERS:
                problem = _unknown_message(token)
            elif token in missing:
                problem = _("{token} has no value for this patient ({reason})").format(
                    token=token, reason=missing[token])
            else:
                continue
            if problem not in problems:
                problems.append(problem)
    if problems:
        raise RenderError(problems)
    return values


def _fill_plain(text: str, values: dict[str, str]) -> str:
    return TOKEN.sub(lambda match: values.get(match.group(), match.group()), text)


def _link_html(url: str, label: str) -> str:
    return f'<a href="{html.escape(url)}" rel="{LINK_REL}">{html.escape(label)}</a>'


def _fill_html(markup: str, values: dict[str, str], language: str) -> str:
    """Fill placeholders in safe HTML: escaped values in text, bare escaped URLs inside tags."""
    link_labels = {"[weblink]": PATIENT_TEXT[language]["weblink"],
                   "[weblink_french]": PATIENT_TEXT[language]["weblink_french"]}

    def in_text(match: re.Match[str]) -> str:
        token = match.group()
        if token not in values:
            return token
        if token in link_labels:
            return _link_html(values[token], link_labels[token])
        return html.escape(values[token])

    def in_tag(match: re.Match[str]) -> str:
        token = match.group()
        return html.escape(values[token]) if token in values else token

    return "".join(TOKEN.sub(in_tag if is_tag else in_text, part) if has_token else part
                   for is_tag, part, has_token in _markup_parts(markup))


@lru_cache(maxsize=256)
def _markup_parts(markup: str) -> tuple[tuple[bool, str, bool], ...]:
    """(is a tag, text, holds a placeholder) for each piece: split once per template, not per patient."""
    return tuple((part.startswith("<"), part, TOKEN.search(part) is not None) for part in TAG_OR_TEXT.split(markup))


def render_plain(text: str, context: RenderContext) -> str:
    """A plain-text template (e.g. a secure message shown in the portal) filled for one patient."""
    return _fill_plain(text, _check([text], context))


@dataclass(frozen=True, slots=True)
class _Prepared:
    """What a template becomes before any patient: cleaned, converted to text, its tokens found."""

    subject: str
    salutation: str
    salutation_html: str
    body: str
    body_text: str
    tokens: tuple[str, ...]


@lru_cache(maxsize=64)
def _prepare(subject: str, salutation: str, body_html: str) -> _Prepared:
    # Cleaning and the text conversion are the slow steps (an HTML parse each); a send to 5,000
    # patients has one template, so they run once per template, not once per patient.
    body = _with_line_breaks(clean_body_html(body_html))
    body_text = html_to_text(body)
    salutation = " ".join(salutation.split())
    tokens = tuple(dict.fromkeys(token for text in (subject, salutation, body, body_text)
                                 for token in find_placeholders(text)))
    return _Prepared(subject, salutation, html.escape(salutation), body, body_text, tokens)


def render_message(subject: str, salutation: str, body_html: str, context: RenderContext) -> RenderedMessage:
    """The email for one patient; raises ``RenderError`` listing every placeholder problem."""
    language = context.language
    fixed = PATIENT_TEXT[language]
    prepared = _prepare(subject, salutation, body_html)
    values = _check([" ".join(prepared.tokens)], context) if prepared.tokens else {}

    # One line for the subject: a newline there would start a new mail header.
    filled_subject = " ".join(_fill_plain(subject, values).split())
    text_parts = [_fill_plain(prepared.salutation, values), _fill_plain(prepared.body_text, values),
                  fixed["no_reply"]]
    text = "\n\n".join(part for part in text_parts if part) + "\n"

    salutation_html = _fill_html(prepared.salutation_html, values, language)
    html_lines = [
        "<!DOCTYPE html>",
        f'<html lang="{language}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(filled_subject)}</title>",
        "</head>",
        "<body>",
        f"<p>{salutation_html}</p>" if salutation_html else "",
        f"<div>{_fill_html(prepared.body, values, language)}</div>",
        "<hr>",
        f"<p><i>{html.escape(fixed['no_reply'])}</i></p>",
        "</body>",
        "</html>",
    ]
    return RenderedMessage(subject=filled_subject, html="\n".join(line for line in html_lines if line) + "\n",
                           text=text)
