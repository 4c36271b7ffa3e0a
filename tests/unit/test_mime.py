"""The emails EmailBuilder writes read back, through the standard parser, exactly as given."""

from __future__ import annotations

import email
from email import policy

from hypothesis import given, settings
from hypothesis import strategies as st

from core.messaging.mime import EmailBuilder

FROM = "Clinique synthétique du Plateau <no-reply@clinique.example.org>"


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


def test_headers_and_both_parts_round_trip() -> None:
    raw = EmailBuilder(FROM).build(to="zoe.cote@example.org", subject="Votre rendez-vous du mardi 3 mars — 14 h 30",
                                   message_id="<1.2@clinique.example.org>", timestamp=0,
                                   text="Bonjour Zoé,\n\n.ligne commençant par un point\n" + "é" * 500,
                                   html="<p>Bonjour <b>Zoé</b> =D</p>")
    mail = parse(raw)
    assert mail["From"] == FROM and mail["To"] == "zoe.cote@example.org"
    assert mail["Subject"] == "Votre rendez-vous du mardi 3 mars — 14 h 30"
    assert mail["Message-ID"] == "<1.2@clinique.example.org>" and mail["Date"].datetime.timestamp() == 0
    assert mail.get_content_type() == "multipart/alternative"
    assert mail.get_body(("plain",)).get_content() == "Bonjour Zoé,\n\n.ligne commençant par un point\n" + "é" * 500
    assert mail.get_body(("html",)).get_content() == "<p>Bonjour <b>Zoé</b> =D</p>"
    assert max(len(line) for line in raw.split(b"\n")) <= 998 and raw.isascii()


def test_an_address_that_is_not_plain_ascii_is_encoded() -> None:
    mail = parse(EmailBuilder(FROM).build(to="Zoé Côté <zoe@example.org>", subject="Bonjour", message_id="<x@y>",
                                          timestamp=0, text="a", html="<p>a</p>"))
    assert mail["To"].addresses[0].addr_spec == "zoe@example.org"
    assert mail["To"].addresses[0].display_name == "Zoé Côté"


@settings(max_examples=60, deadline=None)
@given(text=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=400),
       subject=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=120))
def test_any_text_and_subject_round_trip(text: str, subject: str) -> None:
    subject = " ".join(subject.split()) or "x"
    mail = parse(EmailBuilder(FROM).build(to="a@example.org", subject=subject, message_id="<x@y>", timestamp=0,
                                          text=text, html="<p>x</p>"))
    assert mail["Subject"] == subject
    body = mail.get_body(("plain",)).get_content()
    assert body.rstrip("\n") == text.rstrip("\n")
