"""MS-3 templates on both backends: defaults in both languages, save/copy/delete, checked on save."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from core.errors import InvalidInput
from core.messaging.compose import MessageOptions
from core.messaging.render import RenderContext, render_message
from core.messaging.templates import (
    TemplateData,
    copy_template,
    delete_template,
    find_template,
    list_templates,
    load_template,
    save_template,
)


def test_defaults_exist_in_french_and_english_and_render(app) -> None:
    with app.uow() as uow:
        templates = list_templates(uow.session)
    kinds = {(t.kind, t.language) for t in templates}
    assert kinds == {("secure_message", "en"), ("secure_message", "fr"), ("reminder", "en"), ("reminder", "fr")}
    from datetime import UTC, datetime

    for template in templates:
        context = RenderContext(first_name="Zoé", last_name="Côté", clinic_name="Clinique", language=template.language,
                                appointment_at=datetime(2026, 3, 3, 19, 30, tzinfo=UTC), provider_name="Dre Roy",
                                weblink="https://portal.example.org/m/x",
                                weblink_french="https://portal.example.org/m/x?lang=fr")
        rendered = render_message(template.subject, template.salutation, template.body_html, context)
        assert "https://portal.example.org/m/x" in rendered.text


def test_save_edit_copy_delete_keep_every_option(app) -> None:
    data = TemplateData(name="Résultats de laboratoire", subject="Vos résultats", salutation="Bonjour @ptFirstName,",
                        body_html="<p>Voir [weblink]</p>", language="fr", secure_message="Résultats normaux.",
                        eform_codes=("health_questionnaire",),
                        options=MessageOptions(allow_reply=True, allow_attachment=True, reply_until=date(2026, 12, 31),
                                               notify_viewed=True, notify_no_response_days=5,
                                               identity_checks=("date_of_birth", "health_number")))
    with app.uow(write=True) as uow:
        template_id = save_template(uow, data)
    with app.uow() as uow:
        loaded = load_template(uow.session, template_id)
    assert replace(loaded, id=None) == data
    with app.uow(write=True) as uow:
        save_template(uow, replace(loaded, subject="Vos résultats récents", eform_codes=()))
    with app.uow(write=True) as uow:
        copy_id = copy_template(uow, template_id, "Résultats (copie)")
    with app.uow() as uow:
        copied = load_template(uow.session, copy_id)
        assert copied.subject == "Vos résultats récents" and copied.eform_codes == ()
        assert copied.options == data.options
    with app.uow(write=True) as uow:
        delete_template(uow, template_id)
    with app.uow() as uow:
        assert find_template(uow.session, "résultats (COPIE)").id == copy_id
        assert len(list_templates(uow.session)) == 5


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"salutation": "Bonjour @ptNickname,"}, "@ptNickname"),
        ({"name": " "}, "needs a name"),
        ({"eform_codes": ("nope",)}, "eForm 'nope'"),
        ({"name": "Default - secure message"}, "already a template"),
        ({"options": MessageOptions(identity_checks=())}, "identity check"),
    ],
)
def test_bad_templates_are_refused_on_save(app, changes, fragment) -> None:
    data = TemplateData(name="X", subject="S", salutation="Bonjour", body_html="[weblink]")
    with app.uow(write=True) as uow, pytest.raises(InvalidInput, match=fragment):
        save_template(uow, replace(data, **changes))
