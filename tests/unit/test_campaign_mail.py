"""The bulk invitation builder makes the email the standard library would: headers, parts, escaping."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy

from core.campaigns.mail import InvitationMailer, InvitationPatient
from core.campaigns.templates import default_invitation

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def test_invitation_parses_with_each_patients_values_escaped() -> None:
    template = default_invitation("fr")
    mailer = InvitationMailer("Invitation pour @ptFirstName @ptLastName — très longue ligne d'objet accentuée",
                              template.body, clinic="Clinique synthétique du Plateau",
                              from_header="Clinique synthétique du Plateau <no-reply@accueil.example>",
                              domain="accueil.example", portal="https://portail.example/", timezone="America/Toronto")
    patient = InvitationPatient("Zoé", "<b>O'Neil</b> & fils", "Zozo", "fr", "zoe@example.com")
    mail = email.message_from_bytes(mailer.build(patient, "tok-EN_123", NOW), policy=policy.default)
    assert str(mail["Subject"]) == "Invitation pour Zoé <b>O'Neil</b> & fils — très longue ligne d'objet accentuée"
    assert mail["From"].addresses[0].display_name == "Clinique synthétique du Plateau"
    assert mail["To"] == "zoe@example.com" and mail["Message-ID"].endswith("@accueil.example>")
    text = mail.get_body(("plain",)).get_content()
    markup = mail.get_body(("html",)).get_content()
    assert "Bonjour Zozo," in text and "https://portail.example/invitation/tok-EN_123" in text
    assert 'href="https://portail.example/invitation/tok-EN_123"' in markup
    assert "&lt;b&gt;O&#x27;Neil&lt;/b&gt; &amp; fils" in markup and "<b>O" not in markup
    assert "\ue001" not in text + markup
    english = mailer.build(InvitationPatient("Linh", "Nguyen", None, "en", "l@example.com"), "t2", NOW)
    body = email.message_from_bytes(english, policy=policy.default).get_body(("plain",)).get_content()
    assert "Bonjour Linh," in body and "does not accept replies" in body  # the patient's language for fixed text
