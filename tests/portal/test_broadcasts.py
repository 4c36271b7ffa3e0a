"""PO-5 over HTTP: the clinic's announcements (app campaigns) on the portal's messages page.

Real campaigns made with ``core.campaigns``; the portal's clock is the real one, so the campaign
dates are set around the clinic's today. Both backends (the ``app`` fixture).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from core.campaigns.campaigns import CampaignDraft, create_campaign
from core.campaigns.recipients import assign_patient, remove_recipient
from core.db.models import CampaignRecipient, Patient, User
from tests.portal.conftest import Clinic, csrf_of, sign_in

CSS = Path(__file__).resolve().parents[2] / "portal" / "static" / "portal.css"
PAGE_LIMIT = 15 * 1024


def today(clinic: Clinic) -> date:
    return datetime.now(ZoneInfo(clinic.app.settings.timezone)).date()


@pytest.fixture
def staff(clinic: Clinic) -> Clinic:
    """The actor may use campaigns; Zoé agreed to marketing messages, Émile did not."""
    with clinic.app.uow(write=True) as uow:
        uow.session.add(User(username="campagnes", display_name="Chantal Campagne", role="administrator",
                             os_user=clinic.app.actor, can_campaigns=True))
        uow.session.execute(update(Patient).where(Patient.id == clinic.zoe).values(marketing_consent=True))
        uow.commit()
    return clinic


def campaign(clinic: Clinic, name: str, starts: date, ends: date, *, title: str = "Horaire des fêtes, @ptFirstName",
             body: str = "<p>La clinique <b>@clinicName</b> ferme le 24 décembre à midi.</p>") -> int:
    with clinic.app.uow(write=True) as uow:
        return create_campaign(uow, CampaignDraft("app", name, starts, ends, app_title=title, app_body=body))


def assign(clinic: Clinic, campaign_id: int, patient_id: int) -> None:
    with clinic.app.uow(write=True) as uow:
        assign_patient(uow, campaign_id, patient_id, today=today(clinic))


def test_a_broadcast_shows_in_its_dates_for_a_consenting_patient_only(staff: Clinic, client) -> None:
    day = today(staff)
    current = campaign(staff, "Fêtes", day - timedelta(days=1), day + timedelta(days=5))
    later = campaign(staff, "Vaccins", day + timedelta(days=2), day + timedelta(days=9), title="Vaccination d'automne")
    over = campaign(staff, "Été", day - timedelta(days=9), day - timedelta(days=1), title="Horaire d'été")
    for campaign_id in (current, later, over):
        assign(staff, campaign_id, staff.zoe)
    assign(staff, current, staff.emile)
    inbox = sign_in(client, staff.send(staff.zoe))
    assert inbox.status_code == 200
    text = inbox.text
    assert "Clinic announcements" in text and "Announcement from the clinic" in text
    assert "Horaire des fêtes, Zoé" in text and "ferme le 24 décembre" in text
    assert "Vaccination d" not in text and "Horaire d&#39;été" not in text and "Horaire d'été" not in text
    assert f"Shown until {(day + timedelta(days=5)).isoformat()}." in text
    assert text.index("Clinic announcements") < text.index("Résultats d")  # above the messages
    page = client.get(f"/broadcasts/{current}")
    assert page.status_code == 200 and "Horaire des fêtes, Zoé" in page.text
    assert client.get(f"/broadcasts/{later}").status_code == 404  # not yet in its dates

    # Émile is assigned but gave no marketing consent: nothing shows.
    client.cookies.clear()
    client.cookies.set("lang", "en")
    emile = sign_in(client, staff.send(staff.emile)).text
    assert "Clinic announcements" not in emile and "Horaire des fêtes" not in emile
    assert client.get(f"/broadcasts/{current}").status_code == 404

    # Removed from the campaign: gone for Zoé at once.
    with staff.app.uow() as uow:
        recipient = uow.session.scalar(select(CampaignRecipient.id).where(
            CampaignRecipient.campaign_id == current, CampaignRecipient.patient_id == staff.zoe))
    with staff.app.uow(write=True) as uow:
        remove_recipient(uow, current, recipient)
    client.cookies.clear()
    client.cookies.set("lang", "en")
    after = sign_in(client, staff.send(staff.zoe)).text
    assert "Horaire des fêtes" not in after and "Clinic announcements" not in after
    assert client.get(f"/broadcasts/{current}").status_code == 404


def test_consent_withdrawn_hides_the_broadcast(staff: Clinic, client) -> None:
    day = today(staff)
    current = campaign(staff, "Fêtes", day, day)
    assign(staff, current, staff.zoe)
    sign_in(client, staff.send(staff.zoe))
    assert "Horaire des fêtes, Zoé" in client.get("/inbox").text
    with staff.app.uow(write=True) as uow:
        uow.session.execute(update(Patient).where(Patient.id == staff.zoe).values(marketing_consent=False))
        uow.commit()
    assert "Horaire des fêtes" not in client.get("/inbox").text


def test_a_broadcast_cannot_be_deleted(staff: Clinic, client) -> None:
    day = today(staff)
    current = campaign(staff, "Fêtes", day - timedelta(days=1), day + timedelta(days=1))
    assign(staff, current, staff.zoe)
    inbox = sign_in(client, staff.send(staff.zoe)).text
    section = inbox[inbox.index('<section class="announcements"'):inbox.index("</section>")]
    assert "/delete" not in section and "<form" not in section and "<button" not in section
    assert "they cannot be deleted" in section
    csrf = csrf_of(inbox)
    refused = client.post(f"/broadcasts/{current}/delete", data={"csrf": csrf})
    assert refused.status_code == 403 and "cannot be deleted" in refused.text
    assert client.get(f"/broadcasts/{current}/delete").status_code == 403
    assert "Horaire des fêtes, Zoé" in client.get("/inbox").text
    with staff.app.uow() as uow:
        state = uow.session.scalar(select(CampaignRecipient.state).where(CampaignRecipient.campaign_id == current))
    assert state != "removed"
    # Without a session the refusal page is the generic dead-link page.
    client.cookies.clear()
    assert client.post(f"/broadcasts/{current}/delete").status_code == 404


def test_page_stays_light_with_many_long_broadcasts_and_reads_in_french(staff: Clinic, client) -> None:
    day = today(staff)
    long_body = "<p>" + "La clinique sera fermée pour les rénovations du rez-de-chaussée. " * 40 + "</p>"
    ids = [campaign(staff, f"Annonce {n}", day - timedelta(days=1), day + timedelta(days=3),
                    title=f"Annonce n° {n} pour @ptFirstName", body=long_body) for n in range(8)]
    for campaign_id in ids:
        assign(staff, campaign_id, staff.zoe)
    client.cookies.clear()  # Zoé reads French: no language cookie, her language decides
    inbox = sign_in(client, staff.send(staff.zoe))
    css = client.get("/portal.css").content
    pages = {"inbox": inbox.text, "one": client.get(f"/broadcasts/{ids[-1]}").text}
    for name, html in pages.items():
        assert len(html.encode()) + len(css) <= PAGE_LIMIT, name
        assert "<script" not in html and '<html lang="fr">' in html, name
    assert "Annonces de la clinique" in pages["inbox"] and "Annonce de la clinique" in pages["inbox"]
    assert "ne peuvent pas être supprimées" in pages["inbox"]
    assert all(f"Annonce n° {n} pour Zoé" in pages["inbox"] for n in range(8))  # every one listed
    linked = re.findall(r'href="/broadcasts/(\d+)"', pages["inbox"])
    assert linked  # those beyond the inline budget are one click away
    full = client.get(f"/broadcasts/{linked[0]}").text
    assert "rénovations du rez-de-chaussée" in full and "Retour aux messages" in full
    assert inbox.headers["content-security-policy"].startswith("default-src 'none'")
