"""SI-2: the SPF, DKIM and DMARC checks against a real DNS server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import InvalidInput
from core.i18n import set_language
from core.sender.validate import check_address
from core.settings import SenderSettings
from tests.dnsserver import ZoneServer
from tests.sender_zones import DKIM, GOOD_SPF, SILENT, sender_settings, zones


@pytest.fixture(scope="module")
def dns_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ZoneServer, Path]]:
    key_file = tmp_path_factory.mktemp("dkim") / "dkim.key"
    server = ZoneServer(zones(key_file), silent=SILENT)
    yield server, key_file
    server.close()


@pytest.fixture
def settings(dns_server: tuple[ZoneServer, Path]) -> SenderSettings:
    server, key_file = dns_server
    return sender_settings(server.port, key_file)


def codes(report: object, severity: str | None = None) -> list[str]:
    return [f.code for f in report.findings if severity is None or f.severity == severity]  # type: ignore[attr-defined]


def test_all_good_is_green(settings: SenderSettings) -> None:
    report = check_address("Clinique@Green.test", settings)
    assert (report.status, report.spf_valid, report.dkim_valid, report.dmarc_valid) == ("green", True, True, True)
    assert report.to_create == []
    assert codes(report, "error") == []
    assert "spf.authorized" in codes(report, "ok") and codes(report, "ok").count("dkim.ok") == 2
    policy = next(f for f in report.findings if f.code == "dmarc.policy")
    assert policy.params == {"p": "quarantine", "sp": "quarantine", "np": "quarantine"}


def test_spf_only_is_yellow_and_says_what_to_create(settings: SenderSettings) -> None:
    report = check_address("no-reply@spfonly.test", settings)
    assert (report.status, report.spf_valid, report.dkim_valid) == ("yellow", True, False)
    assert [(r.name, r.rtype, r.value) for r in report.to_create] == [
        ("accueil1._domainkey.spfonly.test", "CNAME", "accueil1._domainkey.accueil.example"),
        ("accueil2._domainkey.spfonly.test", "CNAME", "accueil2._domainkey.accueil.example"),
    ]
    assert codes(report, "error") == ["dkim.missing", "dkim.missing"]


def test_dkim_only_is_yellow_and_the_spf_fix_keeps_the_existing_record(settings: SenderSettings) -> None:
    report = check_address("no-reply@dkimonly.test", settings)
    assert (report.status, report.spf_valid, report.dkim_valid, report.dmarc_valid) == ("yellow", False, True, False)
    assert "spf.not_authorized" in codes(report, "error")
    fixes = {r.rtype + " " + r.name: r.value for r in report.to_create}
    assert fixes == {"TXT dkimonly.test": "v=spf1 include:_spf.accueil.example ip4:192.0.2.1 -all",
                     "TXT _dmarc.dkimonly.test": "v=DMARC1; p=none"}


def test_nothing_is_red_with_every_record_to_create(settings: SenderSettings) -> None:
    report = check_address("no-reply@nothing.test", settings)
    assert report.status == "red"
    assert [r.value for r in report.to_create] == [
        "v=spf1 include:_spf.accueil.example -all", "accueil1._domainkey.accueil.example",
        "accueil2._domainkey.accueil.example", "v=DMARC1; p=none"]
    assert {"spf.none", "dkim.missing", "dmarc.none"} <= set(codes(report))


def test_two_spf_records_are_an_error(settings: SenderSettings) -> None:
    report = check_address("a@twospf.test", settings)
    assert report.status == "red"
    several = next(f for f in report.findings if f.code == "spf.several")
    assert several.params["count"] == 2
    assert codes(report).count("spf.found") == 2


def test_ten_lookups_pass_and_eleven_fail(settings: SenderSettings) -> None:
    ten = check_address("a@ten.test", settings)
    assert ten.spf_valid is True
    assert next(f for f in ten.findings if f.code == "spf.lookups").params["count"] == 10
    eleven = check_address("a@eleven.test", settings)
    assert eleven.spf_valid is False
    assert next(f for f in eleven.findings if f.code == "spf.too_many_lookups").params["term"] == "a:h8.eleven.test"


def test_three_void_lookups_fail(settings: SenderSettings) -> None:
    report = check_address("a@void.test", settings)
    assert report.spf_valid is False
    assert codes(report).count("spf.void") == 3
    assert next(f for f in report.findings if f.code == "spf.void_lookups").params["count"] == 3


def test_include_loop_is_detected(settings: SenderSettings) -> None:
    report = check_address("a@loop.test", settings)
    assert report.spf_valid is False
    assert next(f for f in report.findings if f.code == "spf.loop").params["target"] == "a.loop.test"


def test_dkim_txt_instead_of_cname_and_wrong_target(settings: SenderSettings) -> None:
    pasted = check_address("a@dkimtxt.test", settings)
    assert pasted.dkim_valid is False and pasted.status == "yellow"
    assert codes(pasted, "error") == ["dkim.txt_instead"]
    wrong = check_address("a@wrong.test", settings)
    finding = next(f for f in wrong.findings if f.code == "dkim.wrong_target")
    assert finding.params == {"name": "accueil1._domainkey.wrong.test", "found": "accueil1._domainkey.other.example",
                              "target": "accueil1._domainkey.accueil.example"}


def test_revoked_key_is_reported(settings: SenderSettings) -> None:
    from dataclasses import replace

    old = replace(settings, dkim_selectors={"accueil1": "k1.old.example", "accueil2": "k2.old.example"})
    report = check_address("a@revoked.test", old)
    assert report.dkim_valid is False
    assert codes(report, "error") == ["spf.none", "dkim.revoked"]
    assert codes(report, "warning")[:1] == ["dkim.revoked"]


def test_dmarc_duplicate_tags_and_several_records(settings: SenderSettings) -> None:
    dup = check_address("a@dmarcdup.test", settings)
    assert (dup.status, dup.dmarc_valid) == ("yellow", False)
    assert next(f for f in dup.findings if f.code == "dmarc.duplicate_tag").params == {"tag": "p"}
    two = check_address("a@twodmarc.test", settings)
    assert two.dmarc_valid is False and "dmarc.several" in codes(two, "error")


def test_dmarcbis_tags_are_read_and_unknown_tags_ignored(settings: SenderSettings) -> None:
    report = check_address("a@bis.test", settings)
    assert report.status == "green"
    policy = next(f for f in report.findings if f.code == "dmarc.policy")
    assert policy.params == {"p": "reject", "sp": "reject", "np": "quarantine"}
    assert {"dmarc.psd.n", "dmarc.testing", "dmarc.unknown_tag"} <= set(codes(report, "info"))
    try:
        set_language("fr")
        texts = [f.text() for f in report.findings]
    finally:
        set_language("en")
    assert any("non existants" in t for t in texts)


def test_a_timeout_is_could_not_check_never_red(settings: SenderSettings) -> None:
    from dataclasses import replace

    report = check_address("a@slow.test", replace(settings, dns_timeout_seconds=0.3))
    assert report.status == "unknown" and report.spf_valid is None
    # The server did not answer the first question: the others are not asked (each would wait as long).
    assert [(f.check, f.code) for f in report.findings] == [("spf", "dns.unavailable"), ("dkim", "dns.unavailable"),
                                                             ("dmarc", "dns.unavailable")]
    assert report.to_create == []


def test_not_an_address(settings: SenderSettings) -> None:
    for bad in ("clinic", "a@b", "@green.test", "a b@green.test"):
        with pytest.raises(InvalidInput):
            check_address(bad, settings)


@pytest.mark.parametrize("bad", ["a<b@green.test", "a@b@green.test", "é@green.test", "(note)a@green.test",
                                 "a.@green.test"])
def test_an_address_that_would_break_every_email_is_refused(settings: SenderSettings, bad: str) -> None:
    from core.sender.approval import normalise

    with pytest.raises(InvalidInput):
        check_address(bad, settings)
    with pytest.raises(InvalidInput):
        normalise(bad)


LONG = ".".join(["a" * 63] * 4) + ".test"  # 262 bytes on the wire: over the DNS limit of 255
HALF = ".".join(["a" * 63] * 2) + "."  # a TXT string holds at most 255 characters: the name in two


def test_a_name_over_the_dns_limit_is_an_spf_syntax_error(dns_server, settings: SenderSettings) -> None:
    server, _key_file = dns_server
    server.set_zone("longname.test", f'@ TXT "v=spf1 include:_spf.accueil.example" " a:{HALF}" "{HALF}test -all"\n'
                                     f'mx TXT "v=spf1 include:_spf.accueil.example" " include:{HALF}" '
                                     f'"{HALF}test -all"\n')
    for address in ("a@longname.test", "a@mx.longname.test"):
        report = check_address(address, settings)
        assert report.spf_valid is False and report.status == "red"
        assert next(f for f in report.findings if f.code == "spf.syntax").params["term"].endswith(LONG)


def test_a_domain_over_253_characters_is_not_an_address(settings: SenderSettings) -> None:
    with pytest.raises(InvalidInput):
        check_address("a@" + ".".join(["b" * 60] * 5) + ".test", settings)


def test_the_dmarc_fix_keeps_the_clinics_policy(dns_server, settings: SenderSettings) -> None:
    def fix(address: str) -> str:
        return next(r.value for r in check_address(address, settings).to_create if r.name.startswith("_dmarc."))

    assert fix("a@dmarcdup.test") == "v=DMARC1; p=reject"  # p=none; p=reject: never weakened to none
    assert fix("a@twodmarc.test") == "v=DMARC1; p=reject"
    server, _key_file = dns_server
    server.set_zone("dmarcsp.test", f'@ TXT {GOOD_SPF}\n{DKIM}'
                                    '_dmarc TXT "v=DMARC1; p=quarantine; sp=reject; rua=mailto:d@dmarcsp.test; '
                                    'sp=none; p=bogus"\n')
    assert fix("a@dmarcsp.test") == "v=DMARC1; p=quarantine; sp=reject; rua=mailto:d@dmarcsp.test"


def test_a_repeated_unknown_dmarc_tag_is_a_duplicate(dns_server, settings: SenderSettings) -> None:
    server, _key_file = dns_server
    server.set_zone("dmarczz.test", f'@ TXT {GOOD_SPF}\n{DKIM}_dmarc TXT "v=DMARC1; p=reject; zz=1; zz=2"\n')
    report = check_address("a@dmarczz.test", settings)
    assert report.dmarc_valid is False
    assert next(f for f in report.findings if f.code == "dmarc.duplicate_tag").params == {"tag": "zz"}


def test_an_mx_term_with_more_than_ten_mail_servers_fails(dns_server, settings: SenderSettings) -> None:
    server, _key_file = dns_server
    servers = "".join(f"@ MX {i} mx{i}\nmx{i} A 192.0.2.{i}\n" for i in range(1, 12))
    server.set_zone("elevenmx.test", '@ TXT "v=spf1 include:_spf.accueil.example mx -all"\n' + servers)
    server.set_zone("tenmx.test", '@ TXT "v=spf1 include:_spf.accueil.example mx -all"\n'
                    + "".join(f"@ MX {i} mx{i}\nmx{i} A 192.0.2.{i}\n" for i in range(1, 11)))
    assert check_address("a@tenmx.test", settings).spf_valid is True
    report = check_address("a@elevenmx.test", settings)
    assert report.spf_valid is False
    assert next(f for f in report.findings if f.code == "spf.too_many_mx").params["count"] == 11


def test_a_redirect_is_followed_and_counted(dns_server, settings: SenderSettings) -> None:
    server, _key_file = dns_server
    server.set_zone("redirect.test", '@ TXT "v=spf1 redirect=_spf.redirect.test"\n'
                                     '_spf TXT "v=spf1 ip4:192.0.2.7 include:_spf.accueil.example -all"\n'
                                     'withall TXT "v=spf1 -all redirect=_spf.redirect.test"\n'
                                     'nowhere TXT "v=spf1 redirect=gone.redirect.test"\n')
    report = check_address("a@redirect.test", settings)
    assert report.spf_valid is True and "spf.authorized" in codes(report, "ok")
    assert next(f for f in report.findings if f.code == "spf.lookups").params["count"] == 2  # redirect + include
    # With 'all' in the record the redirect is never taken (RFC 7208 §6.1): not authorized.
    ignored = check_address("a@withall.redirect.test", settings)
    assert ignored.spf_valid is False and "spf.not_authorized" in codes(ignored, "error")
    assert next(f for f in ignored.findings if f.code == "spf.lookups").params["count"] == 0
    # A redirect to a domain without an SPF record is a permanent error (RFC 7208 §6.1).
    gone = check_address("a@nowhere.redirect.test", settings)
    assert gone.spf_valid is False and "spf.no_record_at" in codes(gone, "error")


def test_the_include_must_be_reachable_and_not_negated(dns_server, settings: SenderSettings) -> None:
    server, _key_file = dns_server
    server.set_zone("qualifier.test", '@ TXT "v=spf1 ?include:_spf.accueil.example -all"\n'
                                      'late TXT "v=spf1 ip4:192.0.2.9 -all include:_spf.accueil.example"\n')
    negated = check_address("a@qualifier.test", settings)
    assert negated.spf_valid is False
    assert next(f for f in negated.findings if f.code == "spf.negated").params["qualifier"] == "?"
    late = check_address("a@late.qualifier.test", settings)
    assert late.spf_valid is False and "spf.after_all" in codes(late, "error")
    assert [r.value for r in late.to_create if r.rtype == "TXT" and r.name == "late.qualifier.test"] == [
        "v=spf1 include:_spf.accueil.example ip4:192.0.2.9 -all"]
