"""Portal fixtures: a clinic with synthetic patients, messages sent through compose, and an HTTP client.

``send`` sends a real message with ``core.messaging.compose.send_draft`` and returns the link
token read back from the encrypted outbox email, exactly what the patient's email holds.
``client`` drives the portal's ASGI app over HTTP with httpx (Starlette's TestClient).
"""

from __future__ import annotations

import email
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from email import policy

import pytest
from sqlalchemy import insert, select

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette suggests httpx2; httpx is what the portal's tests use
    from starlette.testclient import TestClient

from core.bootstrap import Accueil
from core.db.models import Message, OutboxItem, Patient, User
from core.licences import grant_licence
from core.messaging.compose import Draft, MessageOptions, send_draft
from core.outbox.worker import decode_email_payload
from core.patients.keys import fold, health_key
from core.users import add_user
from portal.app import create_app

DOB = date(1984, 2, 29)


@dataclass
class Clinic:
    app: Accueil
    zoe: int
    emile: int
    sender: int

    def send(self, patient_id: int | None = None, *, secure: str | None = "Vos résultats sont normaux.",
             forms: tuple[str, ...] = (), attachments: tuple[tuple[str, bytes], ...] = (), **options: object) -> str:
        opts = {"allow_reply": True, **options}
        draft = Draft(patient_ids=(patient_id or self.zoe,), subject="Résultats d'analyse", salutation="Bonjour,",
                      body_html="<p>Votre message : [weblink]</p>", secure_message=secure, eform_codes=forms,
                      attachments=attachments, sender_user_id=self.sender, options=MessageOptions(**opts))
        with self.app.uow(write=True) as uow:
            result = send_draft(uow, draft, settings=self.app.settings, cipher=self.app.cipher)
        return self.token(result.message_ids[0])

    def token(self, message_id: int) -> str:
        with self.app.uow() as uow:
            item = uow.session.scalar(select(OutboxItem).where(OutboxItem.message_id == message_id))
            _, _, raw = decode_email_payload(item.payload, self.app.cipher)
        text = email.message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content()
        return re.search(r"/m/([A-Za-z0-9_-]{43})", text).group(1)

    def last_id(self) -> int:
        with self.app.uow() as uow:
            return uow.session.scalar(select(Message.id).order_by(Message.id.desc()).limit(1))


def _patient(chart: str, last: str, first: str, language: str, health: str | None) -> dict:
    return {"chart_id": chart, "last_name": last, "first_name": first, "last_key": fold(last),
            "first_key": fold(first), "email": f"{fold(first)}.{fold(last)}@example.com", "email_consent": True,
            "language": language, "date_of_birth": DOB, "health_number": health, "health_key": health_key(health)}


@pytest.fixture
def clinic(app: Accueil) -> Clinic:
    with app.uow(write=True) as uow:
        uow.session.execute(insert(Patient), [
            _patient("A-100", "Côté-O'Neil", "Zoé", "fr", "1234 567 890 AB"),
            _patient("A-200", "Tremblay", "Émile", "en", "9876 543 210"),
        ])
        uow.commit()
    with app.uow(write=True) as uow:
        add_user(uow, username="drgagnon", display_name="Dre Hélène Gagnon", role="provider", password=None)
    with app.uow(write=True) as uow:
        grant_licence(uow, "drgagnon")
    with app.uow() as uow:
        zoe, emile = uow.session.scalars(select(Patient.id).order_by(Patient.chart_id)).all()
        sender = uow.session.scalar(select(User.id).where(User.username == "drgagnon"))
    return Clinic(app, zoe, emile, sender)


@pytest.fixture
def client(clinic: Clinic) -> Iterator[TestClient]:
    with TestClient(create_app(clinic.app), base_url="http://testserver") as test_client:
        test_client.cookies.set("lang", "en")  # assertions read English; the language tests clear it
        yield test_client


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]*)"', html).group(1)


def sign_in(client: TestClient, token: str, answers: dict[str, str] | None = None,
            lang: str | None = None) -> Callable[[], None] | object:
    """Open the link and answer the identity check; returns the final response."""
    page = client.get(f"/m/{token}" + (f"?lang={lang}" if lang else ""))
    data = {"csrf": csrf_of(page.text), **(answers or {"date_of_birth": DOB.isoformat()})}
    return client.post("/check", data=data)
