"""A campaign's message templates (CA-2): checks, the pre-filled invitation, rendering per patient.

Campaign templates use the MS-3 formatting (b, u, i, a href, paragraphs) and the patient's
variables; there is no appointment behind a campaign, so ``@apptDate`` and ``@apptTime`` are
refused when the campaign is saved, as is any unknown placeholder. An invitation must carry
its link (``[weblink]`` or ``[weblink_french]``): the portal's invitation page, valid 14 days.

Rendering goes through ``core.messaging.render`` (the same allow-list, escaping and checks as
secure messages). The pre-filled invitation texts are shown to patients, so both languages
live here rather than in the staff catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.i18n import _
from core.messaging.render import (
    PLACEHOLDERS,
    RenderContext,
    RenderedMessage,
    clean_body_html,
    find_placeholders,
    render_message,
    render_plain,
    unknown_placeholders,
)

# Values every patient has, so a campaign never meets a patient it cannot be filled for (a
# provider or an appointment would be missing for some).
PATIENT_PLACEHOLDERS = ("@ptPreferredOrFirstName", "@ptFirstName", "@ptLastName", "@clinicName")
LINK_PLACEHOLDERS = ("[weblink]", "[weblink_french]")


@dataclass(frozen=True)
class InvitationTemplate:
    subject: str
    body: str


DEFAULT_INVITATION = {
    "en": InvitationTemplate(
        subject="@clinicName invites you to its patient app",
        body=("<p>Hello @ptPreferredOrFirstName,</p>\n"
              "<p>@clinicName now offers a <b>patient app</b>: read the clinic's news, receive our "
              "messages and get a notice on your phone when something new arrives.</p>\n"
              "<p><a href=\"[weblink]\">Accept the invitation</a> to link the app to your file at the "
              "clinic. The link is personal and works for <b>14 days</b>.</p>\n"
              "<p>If you did not expect this email, you can ignore it: nothing changes without your "
              "acceptance.</p>"),
    ),
    "fr": InvitationTemplate(
        subject="@clinicName vous invite à son application pour les patients",
        body=("<p>Bonjour @ptPreferredOrFirstName,</p>\n"
              "<p>@clinicName offre maintenant une <b>application pour ses patients</b> : les nouvelles de "
              "la clinique, nos messages, et un avis sur votre téléphone quand il y a du nouveau.</p>\n"
              "<p><a href=\"[weblink]\">Acceptez l'invitation</a> pour relier l'application à votre dossier "
              "à la clinique. Ce lien vous est personnel et reste valide <b>14 jours</b>.</p>\n"
              "<p>Si vous n'attendiez pas ce courriel, ignorez-le : rien ne change sans votre accord.</p>"),
    ),
}


def default_invitation(language: str) -> InvitationTemplate:
    return DEFAULT_INVITATION.get(language, DEFAULT_INVITATION["en"])


def check_templates(kind: str, email_subject: str, email_body: str, app_title: str, app_body: str) -> list[str]:
    """Problems with the templates of a campaign of ``kind`` (empty list: fine)."""
    if kind == "invitation":
        texts, allowed = (email_subject, email_body), PATIENT_PLACEHOLDERS + LINK_PLACEHOLDERS
        problems = [] if email_subject.strip() else [_("the email subject is empty")]
        if not clean_body_html(email_body).strip():
            problems.append(_("the email body is empty"))
        elif not any(token in LINK_PLACEHOLDERS for token in find_placeholders(email_body)):
            problems.append(_("the email body needs the invitation link [weblink]"))
    elif kind == "app":
        texts, allowed = (app_title, app_body), PATIENT_PLACEHOLDERS
        problems = [] if app_title.strip() else [_("the app title is empty")]
        if not clean_body_html(app_body).strip():
            problems.append(_("the app message is empty"))
    else:
        return []
    for token in unknown_placeholders(*texts):
        problems.append(_("unknown placeholder {token}").format(token=token))
    for text in texts:
        for token in find_placeholders(text):
            if token in PLACEHOLDERS and token not in allowed:
                message = _("{token} cannot be used in this campaign").format(token=token)
                if message not in problems:
                    problems.append(message)
    return problems


def render_invitation(subject: str, body: str, context: RenderContext) -> RenderedMessage:
    """The invitation email for one patient (``context.weblink`` is the invitation page)."""
    return render_message(subject, "", body, context)


def render_broadcast(title: str, body: str, context: RenderContext) -> tuple[str, str]:
    """(title, body HTML fragment) of an app campaign for one patient, as the portal shows it."""
    filled_title = " ".join(render_plain(title, context).split())
    rendered = render_message(title, "", body, context)
    # The fragment is the email's body division: the same cleaning and escaping, no email frame.
    start = rendered.html.index("<div>") + len("<div>")
    end = rendered.html.rindex("</div>")
    return filled_title, rendered.html[start:end]


def render_title(title: str, context: RenderContext) -> str:
    """An app campaign's title for one patient (the push notification's text)."""
    return " ".join(render_plain(title, context).split())
