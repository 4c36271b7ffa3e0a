"""MS-3 message templates: saved subject, salutation, body, secure message, eForms and options.

Every clinic starts with four defaults (a secure-message template and an appointment-reminder
template, each in French and in English), written here in our own words. Templates are checked
on save: an unknown placeholder is refused then, not discovered when a patient's email is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core import audit
from core.db.models import EForm, Message, ReminderRule, Template, TemplateEForm, utcnow
from core.errors import InvalidInput, NotFound
from core.messaging.compose import MessageOptions
from core.messaging.render import unknown_placeholders
from core.uow import UnitOfWork

KINDS = ("secure_message", "reminder")


@dataclass(frozen=True)
class TemplateData:
    name: str
    subject: str
    salutation: str
    body_html: str
    kind: str = "secure_message"
    language: str = "en"
    secure_message: str | None = None
    eform_codes: tuple[str, ...] = ()
    options: MessageOptions = field(default_factory=MessageOptions)
    id: int | None = None
    built_in: bool = False


DEFAULTS = (
    TemplateData(
        name="Default - secure message", kind="secure_message", language="en",
        subject="A message from your health care team",
        salutation="Dear @ptPreferredOrFirstName,",
        body_html=("<p>Your care team at @clinicName has sent you a message or a form to fill in.</p>"
                   "<p>Open it through this personal, secure link: [weblink]. Before it opens, you will be asked "
                   "to confirm who you are, with your date of birth.</p>"
                   "<p>Vous préférez le français? [weblink_french]</p>"),
        options=MessageOptions(allow_reply=True)),
    TemplateData(
        name="Défaut - message sécurisé", kind="secure_message", language="fr",
        subject="Un message de votre équipe soignante",
        salutation="Bonjour @ptPreferredOrFirstName,",
        body_html=("<p>Votre équipe soignante de @clinicName vous a envoyé un message ou un formulaire à remplir.</p>"
                   "<p>Ouvrez-le avec ce lien personnel et sécurisé : [weblink]. Avant de l'afficher, on vous "
                   "demandera de confirmer votre identité avec votre date de naissance.</p>"),
        options=MessageOptions(allow_reply=True)),
    TemplateData(
        name="Default - appointment reminder", kind="reminder", language="en",
        subject="Your appointment on @apptDate",
        salutation="Dear @ptPreferredOrFirstName,",
        body_html=("<p>This is a reminder of your appointment with @providerName on "
                   "<b>@apptDate at @apptTime</b>, at @apptLocation.</p>"
                   "<p>If you cannot come, please let the clinic know as early as you can. Details: [weblink]</p>")),
    TemplateData(
        name="Défaut - rappel de rendez-vous", kind="reminder", language="fr",
        subject="Votre rendez-vous du @apptDate",
        salutation="Bonjour @ptPreferredOrFirstName,",
        body_html=("<p>Nous vous rappelons votre rendez-vous avec @providerName le "
                   "<b>@apptDate à @apptTime</b>, à l'adresse suivante : @apptLocation.</p>"
                   "<p>Si vous ne pouvez pas venir, prévenez la clinique le plus tôt possible. Détails : "
                   "[weblink]</p>")),
)


def _options_from_data(data: dict[str, object]) -> MessageOptions:
    until = data.get("reply_until")
    return MessageOptions(
        allow_reply=bool(data.get("allow_reply")), allow_attachment=bool(data.get("allow_attachment")),
        reply_until=date.fromisoformat(str(until)) if until else None,
        reply_days=int(str(data["reply_days"])) if data.get("reply_days") is not None else None,
        notify_viewed=bool(data.get("notify_viewed")), notify_completed=bool(data.get("notify_completed")),
        notify_no_response_days=int(data["notify_no_response_days"]) if data.get("notify_no_response_days") else None,
        identity_checks=tuple(data.get("identity_checks") or ("date_of_birth",)))  # type: ignore[arg-type]


def _stored_options(options: MessageOptions) -> dict[str, object]:
    """A template never keeps a password: it is given per patient at send time."""
    return {k: v for k, v in options.to_data().items() if k != "password_scrypt"}


def _check(session: Session, data: TemplateData) -> list[int]:
    problems: list[str] = []
    if not data.name.strip():
        problems.append("the template needs a name")
    if data.kind not in KINDS:
        problems.append(f"unknown template kind '{data.kind}'")
    if not data.subject.strip():
        problems.append("the subject is empty")
    problems += unknown_placeholders(data.subject, data.salutation, data.body_html, data.secure_message or "")
    # A password given in advance is per patient: a template cannot carry one.
    problems += replace(data.options, password="x").problems()
    form_ids = []
    for code in data.eform_codes:
        form_id = session.scalar(select(EForm.id).where(EForm.code == code))
        if form_id is None:
            problems.append(f"eForm '{code}' does not exist")
        form_ids.append(form_id)
    if problems:
        raise InvalidInput("This template cannot be saved: " + "; ".join(problems) + ".")
    return [i for i in form_ids if i is not None]


def save_template(uow: UnitOfWork, data: TemplateData) -> int:
    """Create (``data.id`` None) or update a template; names are unique."""
    session = uow.session
    form_ids = _check(session, data)
    clash = session.scalar(select(Template.id).where(func.lower(Template.name) == data.name.strip().lower()))
    if clash is not None and clash != data.id:
        raise InvalidInput(f"There is already a template named '{data.name.strip()}'.")
    template = Template() if data.id is None else session.get(Template, data.id)
    if template is None:
        raise NotFound("This template no longer exists.")
    template.name, template.kind, template.language = data.name.strip(), data.kind, data.language
    template.subject, template.salutation, template.body_html = data.subject, data.salutation, data.body_html
    template.secure_message = data.secure_message
    template.options = _stored_options(data.options)
    template.built_in = data.built_in if data.id is None else template.built_in
    template.updated_at = utcnow()
    session.add(template)
    session.flush()
    session.execute(delete(TemplateEForm).where(TemplateEForm.template_id == template.id))
    for position, form_id in enumerate(form_ids):
        session.add(TemplateEForm(template_id=template.id, eform_id=form_id, position=position))
    audit.record(session, actor=uow.actor, action="template.save", detail={"template_id": template.id})
    uow.commit()
    return template.id


def load_template(session: Session, template_id: int) -> TemplateData:
    template = session.get(Template, template_id)
    if template is None:
        raise NotFound("This template no longer exists.")
    codes = tuple(session.scalars(
        select(EForm.code).join(TemplateEForm, TemplateEForm.eform_id == EForm.id)
        .where(TemplateEForm.template_id == template_id).order_by(TemplateEForm.position)))
    return TemplateData(name=template.name, subject=template.subject, salutation=template.salutation,
                        body_html=template.body_html, kind=template.kind, language=template.language,
                        secure_message=template.secure_message, eform_codes=codes,
                        options=_options_from_data(template.options or {}), id=template.id,
                        built_in=template.built_in)


def find_template(session: Session, name: str) -> TemplateData:
    template_id = session.scalar(select(Template.id).where(func.lower(Template.name) == name.strip().lower()))
    if template_id is None:
        raise NotFound(f"No template named '{name}'.")
    return load_template(session, template_id)


def list_templates(session: Session) -> list[TemplateData]:
    ids = session.scalars(select(Template.id).order_by(Template.kind, Template.name)).all()
    return [load_template(session, i) for i in ids]


def copy_template(uow: UnitOfWork, template_id: int, new_name: str) -> int:
    original = load_template(uow.session, template_id)
    return save_template(uow, replace(original, id=None, name=new_name, built_in=False))


def delete_template(uow: UnitOfWork, template_id: int) -> None:
    session = uow.session
    template = session.get(Template, template_id)
    if template is None:
        raise NotFound("This template no longer exists.")
    if session.scalar(select(func.count()).where((ReminderRule.template_id == template_id)
                                                 | (ReminderRule.alt_template_id == template_id))):
        raise InvalidInput("An appointment-reminder rule uses this template: change the rule first.")
    # Messages already sent keep their own copy of the text; they only forget the template.
    session.execute(Message.__table__.update().where(Message.template_id == template_id).values(template_id=None))
    session.execute(delete(TemplateEForm).where(TemplateEForm.template_id == template_id))
    session.delete(template)
    audit.record(session, actor=uow.actor, action="template.delete", detail={"template_id": template_id})
    uow.commit()


def ensure_default_templates(session: Session) -> int:
    present = set(session.scalars(select(Template.name)))
    added = 0
    for data in DEFAULTS:
        if data.name in present:
            continue
        session.add(Template(name=data.name, kind=data.kind, language=data.language, subject=data.subject,
                             salutation=data.salutation, body_html=data.body_html, secure_message=None,
                             options=_stored_options(data.options),
                             built_in=True))
        added += 1
    session.flush()
    return added
