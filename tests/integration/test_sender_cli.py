"""`accueil site check-from / set-from / approve-from / dkim-key` against the loopback DNS server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from core.bootstrap import default_actor
from core.db.models import AuditEntry
from core.users import add_user
from tests.dnsserver import ZoneServer
from tests.integration.test_cli import run, use
from tests.sender_zones import zones


@pytest.fixture
def dns_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    key_file = tmp_path / "dkim" / "dkim.key"
    server = ZoneServer(zones(key_file))
    monkeypatch.setenv("ACCUEIL_SENDER__DNS_SERVER", "127.0.0.1")
    monkeypatch.setenv("ACCUEIL_SENDER__DNS_PORT", str(server.port))
    monkeypatch.setenv("ACCUEIL_SENDER__DKIM_KEY_FILE", str(key_file))
    yield key_file
    server.close()


def test_check_from_prints_findings_and_records(dns_env: Path, capsys) -> None:
    code, out, _ = run(["site", "check-from", "no-reply@green.test"], capsys)
    assert code == 0 and out.startswith("status: green")
    code, out, _ = run(["site", "check-from", "no-reply@nothing.test"], capsys)
    assert code == 1 and "status: red" in out
    assert "  accueil1._domainkey.nothing.test\tCNAME\taccueil1._domainkey.accueil.example" in out
    code, _, err = run(["site", "check-from", "not an address"], capsys)
    assert code == 2 and err == "accueil: not an address is not an email address.\n"


def test_set_then_approve_from_the_command_line(app, dns_env: Path, capsys, monkeypatch) -> None:
    use(app.settings, monkeypatch)
    with app.uow(write=True) as uow:
        add_user(uow, username="opal", display_name="Opal Côté", role="operator", password=None,
                 os_user=default_actor())
    with app.uow(write=True) as uow:
        add_user(uow, username="omer", display_name="Omer Roy", role="operator", password=None)
    code, out, _ = run(["site", "set-from", "no-reply@spfonly.test"], capsys)
    assert code == 0 and "status: yellow" in out and out.endswith("state: pending\n")
    code, _, err = run(["site", "approve-from", "no-reply@spfonly.test", "--as", "omer"], capsys)
    assert code == 2 and "not omer" in err  # another operator's name, claimed by this system user
    code, out, _ = run(["site", "approve-from", "no-reply@spfonly.test", "--as", "opal"], capsys)
    assert (code, out) == (0, "no-reply@spfonly.test: approved\n")
    code, _, err = run(["site", "approve-from", "no-reply@spfonly.test", "--as", "opal"], capsys)
    assert code == 2 and "not waiting for approval" in err
    code, out, _ = run(["site", "clear-from"], capsys)
    assert code == 0 and "no-reply@accueil.example" in out
    with app.uow() as uow:
        entry = uow.session.execute(select(AuditEntry.actor, AuditEntry.detail)
                                    .where(AuditEntry.action == "site.from_approved")).one()
    assert (entry.actor, entry.detail["os_user"]) == ("opal", default_actor())


def test_dkim_key_is_made_once_private_and_never_printed(dns_env: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    fresh = tmp_path / "new" / "dkim.key"
    monkeypatch.setenv("ACCUEIL_SENDER__DKIM_KEY_FILE", str(fresh))
    code, out, err = run(["site", "dkim-key"], capsys)
    assert code == 0 and out.startswith("v=DKIM1; k=rsa; p=") and "written" in err
    assert fresh.stat().st_mode & 0o777 == 0o600
    assert "PRIVATE" not in out + err
    code, again, err = run(["site", "dkim-key"], capsys)
    assert (code, again, err) == (0, out, "")
