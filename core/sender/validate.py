"""One validation of a custom From address (SI-2): SPF, DKIM and DMARC, a status, the fixes.

Status: ``green`` = SPF and DKIM valid and a valid DMARC record; ``yellow`` = SPF or DKIM
valid; ``red`` = neither; ``unknown`` = the DNS server did not answer for some check ("could
not check"), which is never taken for red. The report is plain data: the screen, the CLI and
the history (``DomainCheck``) all read the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.headerregistry import Address
from typing import Any

from core.errors import InvalidInput
from core.i18n import _
from core.sender.dkim_check import check_dkim
from core.sender.dmarc import check_dmarc
from core.sender.dmarc import suggested_record as suggested_dmarc
from core.sender.findings import Finding, RecordToCreate
from core.sender.lookup import DnsUnavailable, Lookup, make_resolver
from core.sender.spf import check_spf, suggested_record
from core.settings import SenderSettings

GREEN, YELLOW, RED, UNKNOWN = "green", "yellow", "red", "unknown"


@dataclass(frozen=True)
class DomainReport:
    address: str
    domain: str
    status: str
    spf_valid: bool | None  # None: could not check
    dkim_valid: bool | None
    dmarc_valid: bool | None
    findings: list[Finding] = field(default_factory=list)
    to_create: list[RecordToCreate] = field(default_factory=list)

    def to_data(self) -> list[dict[str, Any]]:
        """What ``DomainCheck.findings`` keeps: the findings, then the records to create."""
        return ([f.to_data() for f in self.findings]
                + [{"check": "fix", "severity": "info", "code": "record", "params": r.to_data()}
                   for r in self.to_create])


def _parses(address: str) -> bool:
    """Whether ``address`` is one RFC 5322 addr-spec as written (no comment, no second @, no <),
    with an ASCII local part (a non-ASCII one needs SMTPUTF8, which the product does not use)."""
    try:
        parsed = Address(addr_spec=address)
    except (ValueError, IndexError, HeaderParseError):
        return False
    return parsed.addr_spec == address and parsed.username.isascii()


def address_domain(address: str) -> str:
    """The domain of an email address, lower case; InvalidInput when it is not an address."""
    local, at, domain = address.strip().rpartition("@")
    domain = domain.rstrip(".").lower()
    if not at or not local or "." not in domain or any(c.isspace() for c in address.strip()) or \
            len(domain) > 253 or not all(label and len(label) < 64 for label in domain.split(".")) or \
            not _parses(f"{local}@{domain}"):
        raise InvalidInput(_("{address} is not an email address.").format(address=address))
    return domain


def _unknown(check: str) -> Finding:
    return Finding(check, "unknown", "dns.unavailable", {"check": check.upper()})


def check_address(address: str, settings: SenderSettings, *, lookup: Lookup | None = None) -> DomainReport:
    """Look up the three kinds of records for ``address``'s domain (several DNS queries)."""
    domain = address_domain(address)
    lookup = lookup or Lookup(make_resolver(settings))
    findings: list[Finding] = []
    to_create: list[RecordToCreate] = []
    valid: dict[str, bool | None] = {}
    dead = False  # once the server has not answered, the other checks are not tried (each would wait)
    for check in ("spf", "dkim", "dmarc"):
        if dead:
            findings.append(_unknown(check))
            valid[check] = None
            continue
        try:
            valid[check] = _run(check, lookup, domain, settings, findings, to_create)
        except DnsUnavailable:
            findings.append(_unknown(check))
            valid[check] = None
            dead = True
    return DomainReport(address.strip(), domain, status_of(valid["spf"], valid["dkim"], valid["dmarc"]),
                        valid["spf"], valid["dkim"], valid["dmarc"], findings, to_create)


def _run(check: str, lookup: Lookup, domain: str, settings: SenderSettings, findings: list[Finding],
         to_create: list[RecordToCreate]) -> bool:
    if check == "spf":
        spf = check_spf(lookup, domain, settings.spf_include)
        findings += spf.findings
        if not spf.valid:
            to_create.append(RecordToCreate(domain, "TXT", suggested_record(spf.records, settings.spf_include),
                                            "spf.fix"))
        return spf.valid
    if check == "dkim":
        dkim = check_dkim(lookup, domain, settings.dkim_selectors)
        findings += dkim.findings
        to_create += [RecordToCreate(name, "CNAME", target, "dkim.fix") for name, target in dkim.missing]
        return dkim.valid
    dmarc = check_dmarc(lookup, domain)
    findings += dmarc.findings
    if not dmarc.valid:  # the clinic's own record cleaned up (never a weaker policy), else a minimal one
        to_create.append(RecordToCreate(f"_dmarc.{domain}", "TXT", suggested_dmarc(dmarc.records), "dmarc.fix"))
    return dmarc.valid


def status_of(spf: bool | None, dkim: bool | None, dmarc: bool | None) -> str:
    if None in (spf, dkim, dmarc):
        return UNKNOWN
    if spf and dkim and dmarc:
        return GREEN
    return YELLOW if spf or dkim else RED


def report_from_data(address: str, status: str, data: list[dict[str, Any]]) -> tuple[list[Finding],
                                                                                       list[RecordToCreate]]:
    """The findings and records to create of a stored check (``DomainCheck.findings``)."""
    findings = [Finding.from_data(d) for d in data if d.get("check") != "fix"]
    fixes = [RecordToCreate(**d["params"]) for d in data if d.get("check") == "fix"]
    return findings, fixes
