"""SI-3, SI-4 and DKIM signing on both backends, against a real DNS server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from email import message_from_bytes
from pathlib import Path

import dkim
import dns.resolver
import pytest
from sqlalchemy import insert, select

from core.db.models import DomainCheck, OutboxItem, Patient, Site, utcnow
from core.errors import InvalidInput
from core.licences import grant_licence
from core.messaging.compose import Draft, send_draft
from core.outbox.scheduler import JOBS, load
from core.outbox.worker import decode_email_payload
from core.sender import approval
from core.sender.identity import sender_for
from core.settings import Settings
from core.users import add_user
from tests.conftest import TEST_SITE_KEY
from tests.dnsserver import ZoneServer
from tests.sender_zones import DKIM, DMARC, GOOD_SPF, clinic, sender_settings, zones


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dkim") / "dkim.key"


@pytest.fixture
def dns_server(key_file: Path) -> Iterator[ZoneServer]:
    server = ZoneServer(zones(key_file))
    yield server
    server.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, dns_server: ZoneServer, key_file: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "data", config_dir=tmp_path / "config",
                    site_key=TEST_SITE_KEY, noreply_address="no-reply@accueil.example",
                    sender=sender_settings(dns_server.port, key_file))


@pytest.fixture
def staff(app):
    with app.uow(write=True) as uow:
        add_user(uow, username="opal", display_name="Opal Côté", role="operator", password=None,
                 email="opal@accueil.example")
    with app.uow(write=True) as uow:
        add_user(uow, username="adele", display_name="Adèle D'Amours", role="administrator", password=None,
                 email="adele@clinique.example.org")
    with app.uow(write=True) as uow:
        uow.session.scalars(select(Site)).one().admin_contact_email = "direction@clinique.example.org"
        uow.commit()
    return app


def outbox(app) -> list[tuple[str, str, bytes]]:
    with app.uow() as uow:
        payloads = uow.session.scalars(select(OutboxItem.payload).order_by(OutboxItem.id)).all()
    return [decode_email_payload(p, app.cipher) for p in payloads]


def state(app) -> tuple[str | None, str]:
    with app.uow() as uow:
        site = uow.session.scalars(select(Site)).one()
        return site.custom_from_address, site.custom_from_state


def approve(app, address: str) -> None:
    approval.submit(app, address)
    with app.uow(write=True) as uow:
        approval.decide(uow, address, operator="opal", approve=True)


def test_valid_address_waits_for_an_operator_and_is_used_once_approved(staff) -> None:
    app = staff
    entry = approval.submit(app, "Clinique@Green.test")
    assert entry.status == "green"
    assert state(app) == ("Clinique@green.test", "pending")
    [(envelope, to, raw)] = outbox(app)
    mail = message_from_bytes(raw)
    assert to == "operator@accueil.example" and "Clinique@green.test" in mail["Subject"]
    assert "approve-from Clinique@green.test" in mail.get_payload()
    with app.uow() as uow:
        assert sender_for(uow.session, app.settings).envelope_from == "no-reply@accueil.example"
    with app.uow(write=True) as uow, pytest.raises(InvalidInput):
        approval.decide(uow, "clinique@green.test", operator="adele", approve=True)
    with app.uow(write=True) as uow:
        assert approval.decide(uow, "clinique@green.test", operator="OPAL", approve=True) == "approved"
    with app.uow() as uow:
        identity = sender_for(uow.session, app.settings)
        view = approval.custom_from(uow.session, app.settings.noreply_address)
    assert identity.envelope_from == "Clinique@green.test" and identity.dkim_signer is not None
    assert identity.from_header == "Clinique synthétique du Plateau <Clinique@green.test>"
    assert (view.state, view.in_use, len(view.history)) == ("approved", "Clinique@green.test", 1)


def test_red_address_is_never_used_and_nobody_is_asked(staff) -> None:
    entry = approval.submit(staff, "no-reply@nothing.test")
    assert entry.status == "red" and [r.rtype for r in entry.to_create] == ["TXT", "CNAME", "CNAME", "TXT"]
    assert state(staff) == ("no-reply@nothing.test", "invalid")
    assert outbox(staff) == []
    with staff.uow(write=True) as uow, pytest.raises(InvalidInput):
        approval.decide(uow, "no-reply@nothing.test", operator="opal", approve=True)


def test_a_changed_address_needs_approval_again(staff) -> None:
    approve(staff, "no-reply@green.test")
    approval.submit(staff, "no-reply@green.test")  # the same address checked again stays approved
    assert state(staff) == ("no-reply@green.test", "approved")
    approval.submit(staff, "no-reply@spfonly.test")
    approval.submit(staff, "no-reply@spfonly.test")  # checked again while waiting: the operator is asked once
    assert len(outbox(staff)) == 2
    approval.submit(staff, "no-reply@spfonly.test")
    assert state(staff) == ("no-reply@spfonly.test", "pending")
    with staff.uow() as uow:
        assert sender_for(uow.session, staff.settings).envelope_from == "no-reply@accueil.example"
    with staff.uow(write=True) as uow, pytest.raises(InvalidInput):
        approval.decide(uow, "no-reply@green.test", operator="opal", approve=True)


def test_revalidation_failure_falls_back_and_tells_the_administrators(staff, dns_server: ZoneServer) -> None:
    approve(staff, "no-reply@green.test")
    job = load(next(j.target for j in JOBS if j.target.endswith(":revalidate")))
    now = utcnow()
    assert job(staff, now + timedelta(hours=2)) == 0  # checked at approval: not due yet
    assert job(staff, now + timedelta(days=1)) == 1
    assert state(staff) == ("no-reply@green.test", "approved")
    dns_server.set_zone("green.test", clinic("green.test", ""))  # the clinic's DNS records are gone
    assert job(staff, now + timedelta(days=2)) == 1
    assert state(staff) == ("no-reply@green.test", "fallen_back")
    notices = [(to, message_from_bytes(raw)) for _f, to, raw in outbox(staff)[1:]]
    assert sorted(to for to, _m in notices) == ["adele@clinique.example.org", "direction@clinique.example.org"]
    assert all("no-reply@accueil.example" in m["From"] and "no-reply@green.test" in m["Subject"] for _t, m in notices)
    with staff.uow() as uow:
        assert sender_for(uow.session, staff.settings).dkim_signer is None
        history = approval.custom_from(uow.session, staff.settings.noreply_address).history
    assert [h.status for h in history] == ["red", "green", "green"]
    assert job(staff, now + timedelta(days=3)) == 0  # no longer approved: nothing to re-validate


def test_one_dns_timeout_never_falls_back_on_its_own(staff, dns_server: ZoneServer) -> None:
    dns_server.set_zone("flaky.test", clinic("flaky.test", f"@ TXT {GOOD_SPF}\n{DKIM}{DMARC}"))
    approve(staff, "no-reply@flaky.test")
    dns_server.set_silent("flaky.test.")
    now = utcnow()
    assert approval.revalidate(staff, now + timedelta(days=1)) == 1
    assert state(staff) == ("no-reply@flaky.test", "approved")
    assert approval.revalidate(staff, now + timedelta(days=1, minutes=30)) == 0
    dns_server.set_silent()
    assert approval.revalidate(staff, now + timedelta(days=1, hours=2)) == 1  # answered again: still fine
    assert state(staff)[1] == "approved"
    dns_server.set_silent("flaky.test.")
    approval.revalidate(staff, now + timedelta(days=3))
    assert state(staff)[1] == "approved"
    approval.revalidate(staff, now + timedelta(days=3, hours=2))  # the second timeout in a row
    assert state(staff)[1] == "fallen_back"
    with staff.uow() as uow:
        statuses = uow.session.scalars(select(DomainCheck.status).order_by(DomainCheck.checked_at)).all()
    assert statuses == ["green", "unknown", "green", "unknown", "unknown"]


def receiver_dns(port: int):
    """What a receiving server does to verify DKIM: ask the DNS for the selector's TXT record."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = ["127.0.0.1"], port

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        try:
            answer = resolver.resolve(name.decode().rstrip("."), "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        return b"".join(answer[0].strings)

    return lookup


def test_mail_from_an_approved_address_is_signed_and_verifies(staff, dns_server: ZoneServer) -> None:
    with staff.uow(write=True) as uow:
        uow.session.execute(insert(Patient), [{
            "chart_id": "901", "last_name": "L'Heureux-Ménard", "first_name": "Éloïse", "last_key": "lheureuxmenard",
            "first_key": "eloise", "email": "eloise@example.com", "email_consent": True, "language": "fr",
            "date_of_birth": date(1988, 2, 29)}])
        uow.commit()
        patient_id = uow.session.scalar(select(Patient.id))
    with staff.uow(write=True) as uow:  # an EMR sender needs an active licence (MS-7)
        add_user(uow, username="drtremblay", display_name="Dre Émilie Tremblay", role="provider", password=None)
    with staff.uow(write=True) as uow:
        grant_licence(uow, "drtremblay")
    draft = Draft(patient_ids=(patient_id,), subject="Résultats", salutation="Bonjour @ptFirstName,",
                  body_html="Voir [weblink]", secure_message="Contenu", sender_emr_name="Dre Émilie Tremblay")
    with staff.uow(write=True) as uow:
        send_draft(uow, draft, settings=staff.settings, cipher=staff.cipher)
    approve(staff, "no-reply@green.test")
    with staff.uow(write=True) as uow:
        send_draft(uow, draft, settings=staff.settings, cipher=staff.cipher)
    unsigned, _approval_request, signed = outbox(staff)
    assert unsigned[0] == "no-reply@accueil.example" and b"DKIM-Signature" not in unsigned[2]
    assert signed[0] == "no-reply@green.test"
    assert signed[2].startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=green.test;")
    assert dkim.verify(signed[2], dnsfunc=receiver_dns(dns_server.port))
    tampered = signed[2].replace(b"To: eloise@example.com", b"To: eloise@example.net")
    assert tampered != signed[2]
    assert not dkim.verify(tampered, dnsfunc=receiver_dns(dns_server.port))


def test_a_manual_check_that_times_out_keeps_the_approval(staff, dns_server: ZoneServer) -> None:
    dns_server.set_zone("flaky.test", clinic("flaky.test", f"@ TXT {GOOD_SPF}\n{DKIM}{DMARC}"))
    approve(staff, "no-reply@flaky.test")
    dns_server.set_silent("flaky.test.")
    assert approval.submit(staff, "no-reply@flaky.test").status == "unknown"
    assert state(staff) == ("no-reply@flaky.test", "approved")
    dns_server.set_zone("flaky.test", clinic("flaky.test", ""))
    dns_server.set_silent()
    assert approval.submit(staff, "no-reply@flaky.test").status == "red"
    assert state(staff) == ("no-reply@flaky.test", "invalid")


def test_contact_emails_must_be_plain_addresses(staff) -> None:
    from core.sender.account import update_details

    for admin, support in (("a<b@clinique.example.org", None), (None, "é@clinique.example.org"),
                           ("a@b@clinique.example.org", "aide@clinique.example.org")):
        with staff.uow(write=True) as uow, pytest.raises(InvalidInput):
            update_details(uow, friendly_name="Clinique du Plateau", admin_email=admin, support_email=support)
    with staff.uow(write=True) as uow:
        update_details(uow, friendly_name="Clinique du Plateau", admin_email="o'brien@clinique.example.org",
                       support_email=None)
    with staff.uow() as uow:
        site = uow.session.scalars(select(Site)).one()
        assert (site.admin_contact_email, site.support_contact_email) == ("o'brien@clinique.example.org", None)


class _Received:
    """aiosmtpd handler keeping what the server received, byte for byte."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 - aiosmtpd's hook
        self.messages.append((envelope.mail_from, envelope.content))
        return "250 OK"


def test_a_signed_mail_delivered_over_smtp_verifies_at_the_receiver(staff, dns_server: ZoneServer) -> None:
    """Through the real worker and SMTP (aiosmtpd): what the receiving server gets still verifies."""
    from aiosmtpd.controller import Controller

    from core.outbox.transports import SmtpTransport
    from core.outbox.worker import Worker
    from core.settings import SmtpSettings

    approve(staff, "no-reply@green.test")
    class OnAnyPort(Controller):
        def _trigger_server(self) -> None:
            self.port = self.server.sockets[0].getsockname()[1]  # bound to port 0: learn the real one
            super()._trigger_server()

    handler = _Received()
    controller = OnAnyPort(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        port = controller.port
        with staff.uow(write=True) as uow:  # a notice built by core.sender.notices, as every email is
            from core.sender.notices import _queue

            _queue(uow.session, staff.settings, staff.cipher, to="patient@example.com", subject="Rappel : été",
                   body="Bonjour,\n.une ligne qui commence par un point\nÀ bientôt.\n", key="dkim-smtp", now=utcnow())
            uow.commit()
        worker = Worker(staff, SmtpTransport(SmtpSettings(host="127.0.0.1", port=port, security="none",
                                                          timeout_seconds=5.0)), worker_id="dkim-test")
        try:
            assert worker.run_once() == 2  # the operator's approval request, then this one
        finally:
            worker.close()
    finally:
        controller.stop()
    sender, content = handler.messages[-1]
    assert sender == "no-reply@green.test" and content.startswith(b"DKIM-Signature:")
    assert dkim.verify(content, dnsfunc=receiver_dns(dns_server.port))
    # The approval request was sent while the address waited: from the no-reply address, unsigned.
    assert handler.messages[0][0] == "no-reply@accueil.example" and b"DKIM-Signature" not in handler.messages[0][1]
