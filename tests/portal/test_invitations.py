"""PO-6 over HTTP: the campaign invitation page behind ``{portal_base_url}/invitation/{token}``.

A real invitation campaign is started with ``core.campaigns``; the token is read back from the
encrypted outbox email, exactly what the patient receives. Both backends (the ``app`` fixture).
"""

from __future__ import annotations

import email
import logging
import re
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select, update

from core.campaigns.campaigns import CampaignDraft, create_campaign
from core.campaigns.recipients import assign_patient
from core.campaigns.start import start_campaign
from core.campaigns.templates import default_invitation
from core.db.models import CampaignRecipient, ConnectedSystem, OutboxItem, Patient, User, utcnow
from core.outbox.worker import decode_email_payload
from tests.portal.conftest import Clinic, csrf_of

CSS = Path(__file__).resolve().parents[2] / "portal" / "static" / "portal.css"
PAGE_LIMIT = 15 * 1024


@pytest.fixture
def invited(clinic: Clinic) -> tuple[Clinic, dict[int, str]]:
    """Zoé (French) and Émile (English) invited; patient id -> the token of their email."""
    with clinic.app.uow(write=True) as uow:
        uow.session.add(User(username="campagnes", display_name="Chantal Campagne", role="administrator",
                             os_user=clinic.app.actor, can_campaigns=True))
        uow.commit()
    template = default_invitation("fr")
    with clinic.app.uow(write=True) as uow:
        campaign_id = create_campaign(uow, CampaignDraft("invitation", "Invitation", email_subject=template.subject,
                                                         email_body=template.body))
    for patient_id in (clinic.zoe, clinic.emile):
        with clinic.app.uow(write=True) as uow:
            assign_patient(uow, campaign_id, patient_id, today=utcnow().date())
    with clinic.app.uow(write=True) as uow:
        assert start_campaign(uow, campaign_id, settings=clinic.app.settings, cipher=clinic.app.cipher).sent == 2
    tokens: dict[int, str] = {}
    with clinic.app.uow() as uow:
        for payload in uow.session.scalars(select(OutboxItem.payload).where(OutboxItem.kind == "email")):
            _sender, to, raw = decode_email_payload(payload, clinic.app.cipher)
            text = email.message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content()
            token = re.search(r"/invitation/([\w-]+)", text).group(1)
            tokens[clinic.zoe if to.startswith("zoe") else clinic.emile] = token
    return clinic, tokens


def expire(clinic: Clinic, patient_id: int) -> None:
    with clinic.app.uow(write=True) as uow:
        uow.session.execute(update(CampaignRecipient).where(CampaignRecipient.patient_id == patient_id)
                            .values(invite_expires_at=utcnow() - timedelta(seconds=1)))
        uow.commit()


def main(html: str) -> str:
    """The page's content (the header's language switch links back to the page's own path)."""
    return html[html.index("<main>"):]


def connected(clinic: Clinic, patient_id: int) -> tuple[int, bool]:
    with clinic.app.uow() as uow:
        systems = uow.session.scalars(select(ConnectedSystem.system).where(ConnectedSystem.patient_id == patient_id))
        push = uow.session.scalar(select(Patient.push_enabled).where(Patient.id == patient_id))
        return sum(1 for system in systems if system == "patient_app"), bool(push)


def test_accepting_connects_the_app_and_turns_push_on(invited, client, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    clinic, tokens = invited
    token = tokens[clinic.emile]
    seen: list[str] = []
    first = client.get(f"/invitation/{token}", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/invitation"
    page = client.get("/invitation")
    assert page.status_code == 200 and "What accepting means" in page.text
    assert 'type="checkbox" name="push"' in page.text and '<form method="post" action="/invitation">' in page.text
    assert connected(clinic, clinic.emile) == (0, False)
    done = client.post("/invitation", data={"csrf": csrf_of(page.text), "push": "on"})
    assert done.status_code == 200 and "Invitation accepted" in done.text and "Push notifications are on." in done.text
    assert connected(clinic, clinic.emile) == (1, True)
    for response in (first, page, done):
        seen += [str(response.headers), response.text]
    assert token not in "".join(seen)
    logged = "\n".join(record.getMessage() for record in caplog.records
                       if not record.name.startswith(("httpx", "httpcore")))
    assert "GET /invitation/… 303" in logged and token not in logged
    css = client.get("/portal.css").content
    for html in (page.text, done.text):
        assert len(html.encode()) + len(css) <= PAGE_LIMIT and "<script" not in html
    # Accepted again while still valid: harmless, nothing doubled.
    again = client.get("/invitation/" + token, follow_redirects=True)
    second = client.post("/invitation", data={"csrf": csrf_of(again.text)})
    assert "already connected" in second.text and connected(clinic, clinic.emile) == (1, True)


def test_accepting_without_the_box_leaves_push_off(invited, client) -> None:
    clinic, tokens = invited
    page = client.get(f"/invitation/{tokens[clinic.emile]}", follow_redirects=True)
    done = client.post("/invitation", data={"csrf": csrf_of(page.text)})
    assert "Push notifications are off." in done.text
    assert connected(clinic, clinic.emile) == (1, False)


def test_the_form_needs_its_csrf_token(invited, client) -> None:
    clinic, tokens = invited
    client.get(f"/invitation/{tokens[clinic.emile]}", follow_redirects=True)
    assert client.post("/invitation", data={"csrf": "forged", "push": "on"}).status_code == 403
    assert client.post("/invitation", data={"push": "on"}).status_code == 403
    assert connected(clinic, clinic.emile) == (0, False)


def test_expired_unknown_and_reused_tokens_get_the_generic_page(invited, client) -> None:
    clinic, tokens = invited
    dead_session = client.get("/inbox")  # the portal's generic page for anything not there
    assert dead_session.status_code == 404 and "Page not available" in dead_session.text
    unknown = client.get("/invitation/" + "x" * 43, follow_redirects=True)
    no_cookie = client.get("/invitation")
    # accepted, then reused after it expired
    page = client.get(f"/invitation/{tokens[clinic.emile]}", follow_redirects=True)
    client.post("/invitation", data={"csrf": csrf_of(page.text)})
    expire(clinic, clinic.emile)
    reused = client.get(f"/invitation/{tokens[clinic.emile]}", follow_redirects=True)
    # expired while the page was open: the POST is refused the same way and connects nothing
    page = client.get(f"/invitation/{tokens[clinic.zoe]}", follow_redirects=True)
    assert page.status_code == 200
    expire(clinic, clinic.zoe)
    late = client.post("/invitation", data={"csrf": csrf_of(page.text), "push": "on"})
    for response in (unknown, no_cookie, reused, late):
        assert (response.status_code, main(response.text)) == (dead_session.status_code, main(dead_session.text))
        assert all(token not in response.text for token in tokens.values())
    assert connected(clinic, clinic.zoe) == (0, False)


def test_the_page_is_in_the_patients_language_with_a_switch(invited, client) -> None:
    clinic, tokens = invited
    client.cookies.clear()  # no language chosen: Zoé's own (French)
    page = client.get(f"/invitation/{tokens[clinic.zoe]}", follow_redirects=True)
    assert '<html lang="fr">' in page.text and "Invitation de la clinique" in page.text
    assert "Activer les notifications poussées" in page.text and 'href="/invitation?lang=en"' in page.text
    english = client.get("/invitation?lang=en")
    assert '<html lang="en">' in english.text and "Accept the invitation" in english.text
    done = client.post("/invitation", data={"csrf": csrf_of(english.text), "push": "on"})
    assert "Invitation accepted" in done.text and connected(clinic, clinic.zoe) == (1, True)


def test_invitation_look_ups_are_rate_limited_per_link(invited, client) -> None:
    clinic, tokens = invited
    client.get(f"/invitation/{tokens[clinic.emile]}", follow_redirects=False)
    statuses = [client.get("/invitation").status_code for _ in range(13)]
    assert statuses == [200] * 12 + [429]
