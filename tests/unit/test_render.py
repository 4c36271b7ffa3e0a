"""Placeholders, body cleaning and the two parts of the email (issue 4, item 3): no database."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidInput
from core.messaging.render import (
    PATIENT_TEXT,
    RenderContext,
    RenderError,
    clean_body_html,
    format_date,
    format_time,
    html_to_text,
    render_message,
    render_plain,
    unknown_placeholders,
)

LINK = "https://portal.example/m/Zx9-token"
LINK_FR = "https://portal.example/m/Zx9-token?lang=fr"
# 19:30 UTC on Tuesday 3 March 2026 is 14:30 in Toronto (EST: daylight time starts on 8 March).
APPOINTMENT = datetime(2026, 3, 3, 19, 30, tzinfo=UTC)


def context(**changes: Any) -> RenderContext:
    base = RenderContext(first_name="Zoé", last_name="Synthétique", preferred_name="Zozo", language="en",
                         clinic_name="Clinique synthétique du Plateau", appointment_at=APPOINTMENT,
                         provider_name="Dre Ana Exemple", weblink=LINK, weblink_french=LINK_FR)
    return replace(base, **changes)


def body_of(html: str) -> str:
    return html.split("<div>", 1)[1].rsplit("</div>", 1)[0]


def text_body(text: str) -> str:
    """The text part without the salutation line and the closing no-reply line."""
    return text.split("\n\n", 1)[1].rsplit("\n\n", 1)[0]


def render_body(body: str, **changes: Any) -> tuple[str, str]:
    message = render_message("Subject", "Hello,", body, context(**changes))
    return body_of(message.html), text_body(message.text)


def problems_of(subject: str, salutation: str, body: str, ctx: RenderContext) -> list[str]:
    with pytest.raises(RenderError) as caught:
        render_message(subject, salutation, body, ctx)
    assert isinstance(caught.value, InvalidInput)
    return caught.value.problems


# -- every placeholder, both languages ---------------------------------------------------------------

@pytest.mark.parametrize(("placeholder", "language", "expected"), [
    ("@ptPreferredOrFirstName", "en", "Zozo"),
    ("@ptPreferredOrFirstName", "fr", "Zozo"),
    ("@ptFirstName", "en", "Zoé"),
    ("@ptFirstName", "fr", "Zoé"),
    ("@ptLastName", "en", "Synthétique"),
    ("@ptLastName", "fr", "Synthétique"),
    ("@apptDate", "en", "Tuesday, March 3, 2026"),
    ("@apptDate", "fr", "mardi 3 mars 2026"),
    ("@apptTime", "en", "2:30 PM"),
    ("@apptTime", "fr", "14 h 30"),
    ("@providerName", "en", "Dre Ana Exemple"),
    ("@providerName", "fr", "Dre Ana Exemple"),
    ("@clinicName", "en", "Clinique synthétique du Plateau"),
    ("@clinicName", "fr", "Clinique synthétique du Plateau"),
])
def test_each_placeholder_in_each_language(placeholder: str, language: str, expected: str) -> None:
    message = render_message(f"S {placeholder}.", f"Hi {placeholder},", f"<b>{placeholder}</b>!",
                             context(language=language))
    assert message.subject == f"S {expected}."
    assert f"<p>Hi {expected},</p>" in message.html
    assert body_of(message.html) == f"<b>{expected}</b>!"
    assert message.text.startswith(f"Hi {expected},\n\n{expected}!\n\n")
    assert placeholder not in message.html + message.text


@pytest.mark.parametrize(("language", "link_text"), [("en", "Open your secure messages"),
                                                     ("fr", "Consulter vos messages sécurisés")])
def test_weblink_is_a_link_in_html_and_bare_url_in_text(language: str, link_text: str) -> None:
    html, text = render_body("Open: [weblink]", language=language)
    assert html == f'Open: <a href="{LINK}" rel="noopener noreferrer">{link_text}</a>'
    assert text == f"Open: {LINK}"


@pytest.mark.parametrize("language", ["en", "fr"])
def test_weblink_french_uses_the_french_link_and_french_text(language: str) -> None:
    html, text = render_body("[weblink_french]", language=language)
    assert html == f'<a href="{LINK_FR}" rel="noopener noreferrer">Consulter vos messages en français</a>'
    assert text == LINK_FR


def test_weblink_as_an_href_becomes_the_patients_link() -> None:
    html, text = render_body('<a href="[weblink]">click here</a>')
    assert html == f'<a href="{LINK}" rel="noopener noreferrer">click here</a>'
    assert text == f"click here ({LINK})"


def test_preferred_name_falls_back_to_first_name() -> None:
    assert render_plain("@ptPreferredOrFirstName", context(preferred_name=None)) == "Zoé"
    assert render_plain("@ptPreferredOrFirstName", context(preferred_name="  ")) == "Zoé"


@pytest.mark.parametrize(("moment", "language", "date_text", "time_text"), [
    (datetime(2026, 3, 1, 9, 0), "fr", "dimanche 1er mars 2026", "9 h"),
    (datetime(2026, 8, 15, 0, 5), "fr", "samedi 15 août 2026", "0 h 05"),
    (datetime(2026, 12, 31, 12, 0), "en", "Thursday, December 31, 2026", "12:00 PM"),
    (datetime(2026, 1, 5, 0, 45), "en", "Monday, January 5, 2026", "12:45 AM"),
])
def test_date_and_time_formats(moment: datetime, language: str, date_text: str, time_text: str) -> None:
    assert format_date(moment, language) == date_text
    assert format_time(moment, language) == time_text


def test_appointment_is_shown_in_the_clinics_zone() -> None:
    late = datetime(2026, 7, 1, 3, 15, tzinfo=UTC)  # still 30 June in Vancouver (PDT, UTC-7)
    assert render_plain("@apptDate @apptTime", context(appointment_at=late, timezone="America/Vancouver")) == \
        "Tuesday, June 30, 2026 8:15 PM"


# -- what is not a placeholder, and what is wrong ------------------------------------------------------

def test_an_email_address_is_not_a_placeholder() -> None:
    html, text = render_body('Write to info@clinic.example or <a href="mailto:info@clinic.example">us</a>.')
    assert html == ('Write to info@clinic.example or '
                    '<a href="mailto:info@clinic.example" rel="noopener noreferrer">us</a>.')
    assert text == "Write to info@clinic.example or us (info@clinic.example)."


def test_unknown_placeholder_and_missing_appointment_are_reported_together() -> None:
    problems = problems_of("@clinicName", "Dear @ptNickname,", "On @apptDate at @apptTime.",
                           context(appointment_at=None))
    assert problems == [
        "unknown placeholder @ptNickname",
        "@apptDate has no value for this patient (no appointment)",
        "@apptTime has no value for this patient (no appointment)",
    ]


def test_each_problem_is_listed_once_and_the_message_names_them() -> None:
    with pytest.raises(RenderError) as caught:
        render_message("@foo", "@foo", "@foo @Foo", context())
    assert caught.value.problems == ["unknown placeholder @foo", "unknown placeholder @Foo"]
    assert "@foo" in str(caught.value)


@pytest.mark.parametrize(("token", "expected"), [
    ("@ptfirstname", "unknown placeholder @ptfirstname (did you mean @ptFirstName?)"),
    ("[weblink_fr]", "unknown placeholder [weblink_fr]"),
    ("[WEBLINK]", "unknown placeholder [WEBLINK] (did you mean [weblink]?)"),
    ("(@apptDay)", "unknown placeholder @apptDay"),
])
def test_misspelt_placeholders(token: str, expected: str) -> None:
    assert problems_of("s", "", token, context()) == [expected]


@pytest.mark.parametrize(("changes", "placeholder", "reason"), [
    ({"provider_name": None}, "@providerName", "no provider"),
    ({"weblink": None}, "[weblink]", "no link for this message"),
    ({"weblink_french": None}, "[weblink_french]", "no link for this message"),
    ({"weblink": "javascript:alert(1)"}, "[weblink]", "the link is not a web address"),
    ({"first_name": " ", "preferred_name": None}, "@ptPreferredOrFirstName", "no first name"),
    ({"last_name": ""}, "@ptLastName", "no last name"),
    ({"clinic_name": ""}, "@clinicName", "no clinic name"),
])
def test_missing_values(changes: dict[str, Any], placeholder: str, reason: str) -> None:
    assert problems_of("s", "", placeholder, context(**changes)) == [
        f"{placeholder} has no value for this patient ({reason})"]


def test_unused_missing_values_are_not_problems() -> None:
    message = render_message("Hello", "", "No appointment here.", context(appointment_at=None, weblink=None))
    assert "No appointment here." in message.text


def test_unknown_placeholders_for_a_template_without_a_patient() -> None:
    assert unknown_placeholders("Hi @ptFirstName @ptAge", "[weblink] @ptAge [weblinks] a@b.example") == \
        ["@ptAge", "[weblinks]"]


def test_context_refuses_naive_times_unknown_languages_and_zones() -> None:
    with pytest.raises(ValueError, match="aware"):
        context(appointment_at=datetime(2026, 3, 3, 14, 30))
    with pytest.raises(ValueError, match="'en' or 'fr'"):
        context(language="es")
    with pytest.raises(Exception, match="Nowhere"):
        context(timezone="America/Nowhere")


# -- injection ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("template", [
    "{{ 7*7 }}",
    "{{ ''.__class__.__mro__ }}",
    "{% for x in range(10**9) %}loop{% endfor %}",
    "{{ config }} {# comment #} ${7*7} #{7*7}",
])
def test_template_syntax_stays_literal(template: str) -> None:
    message = render_message(template, template, template, context())
    assert message.subject == template
    assert message.text.startswith(f"{template}\n\n{template}\n\n")
    assert "49" not in message.subject + message.text
    assert body_of(message.html) == template
    assert f"<p>{template.replace(chr(39), '&#x27;')}</p>" in message.html  # the salutation, escaped


@pytest.mark.parametrize(("dirty", "clean"), [
    ("before<script>alert(1)</script>after", "beforeafter"),
    ("<SCRIPT src=https://evil.example/x.js></SCRIPT>ok", "ok"),
    ('<img src=x onerror=alert(1)>image', "image"),
    ('<b onmouseover="alert(1)">bold</b>', "<b>bold</b>"),
    ('<a href="javascript:alert(1)">j</a>', '<a rel="noopener noreferrer">j</a>'),
    ('<a href="JaVaScRiPt&#58;alert(1)">j</a>', '<a rel="noopener noreferrer">j</a>'),
    ('<a href="http://plain.example/">h</a>', '<a rel="noopener noreferrer">h</a>'),
    ('<a href="data:text/html,x">d</a>', '<a rel="noopener noreferrer">d</a>'),
    ('<a href="/relative">r</a>', '<a rel="noopener noreferrer">r</a>'),
    ('<a href="https://ok.example/" target="_blank" rel="opener">s</a>',
     '<a href="https://ok.example/" rel="noopener noreferrer">s</a>'),
    ("<style>p{}</style><p>para</p><br/>", "<p>para</p><br>"),
    ("<title>Pasted page</title><template>t</template><iframe>f</iframe><textarea>x</textarea>kept", "kept"),
    ("<div><span>kept text</span></div><!-- note -->", "kept text"),
    ("<u>u</u> <i>i</i>", "<u>u</u> <i>i</i>"),
])
def test_clean_body_html(dirty: str, clean: str) -> None:
    assert clean_body_html(dirty) == clean


def test_dangerous_markup_never_reaches_the_email() -> None:
    body = ('<script>alert(1)</script><img src=x onerror=alert(1)><a href="javascript:alert(1)">j</a>'
            '<a href="http://plain.example/">h</a>')
    message = render_message("s", "", body, context())
    lowered = message.html.lower()
    for needle in ("<script", "alert(1)", "onerror", "javascript:", "http://plain.example", "<img"):
        assert needle not in lowered
    assert "alert" not in message.text


def test_patient_values_are_escaped_in_html_and_raw_in_text() -> None:
    evil = context(first_name="<b>Zoé</b>", preferred_name=None, last_name='"><script>x</script>')
    message = render_message("@ptFirstName", "Dear @ptFirstName,", "<i>@ptFirstName</i> @ptLastName", evil)
    assert "<b>Zoé</b>" not in message.html
    assert "<p>Dear &lt;b&gt;Zoé&lt;/b&gt;,</p>" in message.html
    assert "<i>&lt;b&gt;Zoé&lt;/b&gt;</i> &quot;&gt;&lt;script&gt;x&lt;/script&gt;" in message.html
    assert "<script" not in message.html
    assert message.text.startswith('Dear <b>Zoé</b>,\n\n<b>Zoé</b> "><script>x</script>')
    assert message.subject == "<b>Zoé</b>"


def test_value_inside_an_attribute_cannot_break_out() -> None:
    html, _text = render_body('<a href="https://clinic.example/?who=@ptLastName">me</a>',
                              last_name='x" onclick="alert(1)')
    assert 'onclick="' not in html
    assert "x&quot; onclick=&quot;alert(1)" in html


def test_salutation_is_one_line() -> None:
    message = render_message("s", "Dear\n   @ptFirstName,", "b", context())
    assert message.text.startswith("Dear Zoé,\n\nb")
    assert "<p>Dear Zoé,</p>" in message.html


def test_subject_is_one_line() -> None:
    message = render_message("Line one\r\nBcc: someone@example.com", "", "b", context(clinic_name="A\nB"))
    assert "\n" not in message.subject and "\r" not in message.subject


# -- plain text and the complete email ------------------------------------------------------------------

@pytest.mark.parametrize(("markup", "text"), [
    ("<p>One</p><p>Two</p>", "One\n\nTwo"),
    ("Intro<p>Paragraph</p>Outro", "Intro\n\nParagraph\n\nOutro"),
    ("a<br>b<br/>c", "a\nb\nc"),
    ("Tom &amp; Jerry &lt;3 &eacute;t&eacute; &#64;home", "Tom & Jerry <3 été @home"),
    ('<a href="https://clinic.example/hours">our hours</a>', "our hours (https://clinic.example/hours)"),
    ('<a href="https://clinic.example/">https://clinic.example/</a>', "https://clinic.example/"),
    ('<a href="https://clinic.example/"></a>', "https://clinic.example/"),
    ("<b>Date</b> :   spaced\n   out", "Date : spaced out"),
    ("x<script>alert(1)</script>y", "xy"),
])
def test_html_to_text(markup: str, text: str) -> None:
    assert html_to_text(markup) == text


def test_a_body_typed_line_by_line_keeps_its_lines() -> None:
    html, text = render_body("Line one\nLine <b>two</b>\n\nLine four")
    assert html == "Line one<br>\nLine <b>two</b><br>\n<br>\nLine four"
    assert text == "Line one\nLine two\n\nLine four"


def test_a_body_with_paragraphs_is_left_as_written() -> None:
    html, text = render_body("<p>One</p>\n<p>Two</p>")
    assert html == "<p>One</p>\n<p>Two</p>"
    assert text == "One\n\nTwo"


@pytest.mark.parametrize("language", ["en", "fr"])
def test_both_parts_end_with_the_no_reply_line_in_the_patients_language(language: str) -> None:
    message = render_message("s", "Hi", "Body", context(language=language))
    line = PATIENT_TEXT[language]["no_reply"]
    assert message.text == f"Hi\n\nBody\n\n{line}\n"
    assert message.html.rstrip().endswith(f"<p><i>{line.replace(chr(39), '&#x27;')}</i></p>\n</body>\n</html>")
    assert PATIENT_TEXT["en"]["no_reply"] != PATIENT_TEXT["fr"]["no_reply"]


def test_html_part_is_a_complete_document() -> None:
    message = render_message("Your visit & you", "", "Body", context(language="fr"))
    assert message.html.startswith('<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">')
    assert "<title>Your visit &amp; you</title>" in message.html
    assert message.html.endswith("</html>\n")
    assert "<p></p>" not in message.html  # no empty salutation paragraph


# -- property: whatever staff paste, the cleaned body carries nothing executable ---------------------------

FRAGMENTS = st.sampled_from([
    "<script>", "</script>", "<scr", "ipt>", "<img ", "src=x ", "onerror=", "onload=", " on", "alert(1)",
    "javascript:", "java\tscript:", "JaVaScRiPt:", "&#106;avascript:", "<a href=\"", "<a href='", "<a href=",
    "\"", "'", ">", "<", "/", "<svg ", "<b ", "<p ", "<iframe ", "style=", "data:", "http://x/", "https://ok/",
    "<!--", "-->", "<![CDATA[", "]]>", "&lt;", "&", "=", " ", "\n", "@ptFirstName",
])


class _TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=40).map("".join))
def test_cleaned_body_never_carries_script_or_handlers(dirty: str) -> None:
    cleaned = clean_body_html(dirty)
    assert "<script" not in cleaned.lower()
    for tag in re.findall(r"<[^>]*>", cleaned):
        lowered = tag.lower()
        assert "javascript:" not in lowered
        assert not re.search(r"\son\w*\s*=", lowered)
    collector = _TagCollector()
    collector.feed(cleaned)
    for tag, attrs in collector.tags:
        assert tag in {"a", "b", "u", "i", "p", "br"}
        for name, value in attrs:
            assert name in {"href", "rel"}
            if name == "href":
                assert value is not None and value.startswith(("https:", "mailto:", "[weblink"))
