"""The SPF check (RFC 7208): exactly one record, and it must authorize the product's domain.

Without a connecting IP address the record cannot be "evaluated" for one message; what is
checked is every path an evaluation could take: each ``include`` and ``redirect`` is followed,
every DNS-querying term is counted against the limit of 10 (section 4.6.4), look-ups that find
nothing ("void") against the limit of 2, an ``mx`` term finding more than 10 mail servers is an
error (same section), and a domain reached twice on one path is a loop. Terms
after ``all`` are never evaluated, so neither counted nor followed (an include of the product
placed there does not count). ``redirect`` applies only to a record without ``all``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from core.sender.findings import Finding
from core.sender.lookup import Lookup, valid_name

MAX_LOOKUPS = 10
MAX_VOID = 2
MAX_MX = 10  # mail servers an mx term may look at (RFC 7208 §4.6.4)
MECHANISMS = {"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"}
QUALIFIERS = "+-~?"


def spf_records(texts: list[str]) -> list[str]:
    return [t for t in texts if t.lower() == "v=spf1" or t.lower().startswith("v=spf1 ")]


def _norm(domain: str) -> str:
    return domain.strip().rstrip(".").lower()


@dataclass
class SpfResult:
    valid: bool
    records: list[str]
    authorized: bool
    lookups: int
    findings: list[Finding] = field(default_factory=list)


class _PermError(Exception):
    """The evaluation stops: the finding saying why is already recorded."""


class _Walk:
    def __init__(self, lookup: Lookup, include: str) -> None:
        self.lookup = lookup
        self.include = _norm(include)
        self.lookups = 0
        self.voids = 0
        self.authorized = False
        self.findings: list[Finding] = []

    def add(self, severity: str, code: str, **params: object) -> None:
        self.findings.append(Finding("spf", severity, code, dict(params)))

    def count(self, term: str, domain: str) -> None:
        self.lookups += 1
        if self.lookups > MAX_LOOKUPS:
            self.add("error", "spf.too_many_lookups", term=term, domain=domain)
            raise _PermError

    def void(self, term: str, domain: str) -> None:
        self.voids += 1
        self.add("warning", "spf.void", term=term, domain=domain)
        if self.voids > MAX_VOID:
            self.add("error", "spf.void_lookups", count=self.voids)
            raise _PermError

    def fetch(self, term: str, domain: str, target: str) -> str:
        """The one SPF record at ``target`` (a counted look-up already), or a permanent error."""
        texts = self.lookup.txt(target)
        if not texts:
            self.void(term, domain)
        records = spf_records(texts)
        if len(records) != 1:
            self.add("error", "spf.no_record_at", term=term, domain=domain)
            raise _PermError
        self.add("info", "spf.found", domain=target, record=records[0])
        return records[0]

    def record(self, domain: str, record: str, path: tuple[str, ...], reachable: bool) -> None:
        seen_all = False
        redirect: str | None = None
        for term in record.split()[1:]:
            lowered = term.lower()
            if "=" in lowered.split(":", 1)[0]:
                name, _eq, value = term.partition("=")
                if name.lower() == "redirect":
                    if redirect is not None:
                        self.add("error", "spf.syntax", domain=domain, term=term)
                        raise _PermError
                    redirect = value
                elif not name or not all(c.isalnum() or c in "-_." for c in name):
                    self.add("error", "spf.syntax", domain=domain, term=term)
                    raise _PermError
                continue  # exp= and unknown modifiers are ignored
            qualifier = "+"
            if lowered[:1] in QUALIFIERS:
                qualifier, lowered, term = lowered[0], lowered[1:], term[1:]
            name, sep, argument = lowered.partition(":")
            if "/" in name and not sep:
                name, _slash, _cidr = name.partition("/")
            if name not in MECHANISMS or (name in {"include", "exists", "ip4", "ip6"} and not argument):
                self.add("error", "spf.syntax", domain=domain, term=term)
                raise _PermError
            if name in {"ip4", "ip6"}:
                try:
                    ipaddress.ip_network(argument, strict=False)
                except ValueError:
                    self.add("error", "spf.syntax", domain=domain, term=term)
                    raise _PermError from None
                continue
            if name == "include" and _norm(argument) == self.include:
                if seen_all:
                    self.add("error", "spf.after_all", include=self.include, domain=domain)
                elif qualifier != "+":
                    self.add("error", "spf.negated", include=self.include, qualifier=qualifier)
                elif reachable:
                    self.authorized = True
            if seen_all:
                continue
            if name == "all":
                seen_all = True
                continue
            self.mechanism(name, term, argument, domain, path, reachable and qualifier == "+")
        if redirect is not None and not seen_all:
            term = f"redirect={redirect}"
            self.count(term, domain)
            self.follow(term, domain, redirect, path, reachable)

    def follow(self, term: str, domain: str, target: str, path: tuple[str, ...], reachable: bool) -> None:
        if "%{" in target:
            self.add("info", "spf.macro", term=term, domain=domain)
            return
        if not valid_name(_norm(target)):
            self.add("error", "spf.syntax", domain=domain, term=term)
            raise _PermError
        if _norm(target) in path:
            self.add("error", "spf.loop", target=_norm(target))
            raise _PermError
        record = self.fetch(term, domain, _norm(target))
        self.record(_norm(target), record, (*path, _norm(target)), reachable)

    def mechanism(self, name: str, term: str, argument: str, domain: str, path: tuple[str, ...],
                  reachable: bool) -> None:
        self.count(term, domain)
        if name == "include":
            self.follow(term, domain, argument, path, reachable)
            return
        target = (argument.split("/", 1)[0] if argument else domain) or domain
        if name == "ptr":
            return  # depends on the connecting address: counted, nothing to look up now
        if "%{" in target:
            self.add("info", "spf.macro", term=term, domain=domain)
            return
        if not valid_name(target):
            self.add("error", "spf.syntax", domain=domain, term=term)
            raise _PermError
        if name == "mx":
            hosts = self.lookup.mx_hosts(target)
            if len(hosts) > MAX_MX:  # RFC 7208 §4.6.4: more than 10 MX records is a permanent error
                self.add("error", "spf.too_many_mx", term=term, domain=domain, count=len(hosts))
                raise _PermError
            found = bool(hosts)
        else:  # a, exists
            found = self.lookup.exists(target, "A") or (name == "a" and self.lookup.exists(target, "AAAA"))
        if not found:
            self.void(term, domain)


def check_spf(lookup: Lookup, domain: str, include: str) -> SpfResult:
    """Raises ``DnsUnavailable`` if the server does not answer; everything else is a finding."""
    domain = _norm(domain)
    records = spf_records(lookup.txt(domain))
    walk = _Walk(lookup, include)
    if not records:
        walk.add("error", "spf.none", domain=domain)
        return SpfResult(False, [], False, 0, walk.findings)
    for record in records:
        walk.add("info", "spf.found", domain=domain, record=record)
    if len(records) > 1:
        walk.add("error", "spf.several", domain=domain, count=len(records))
        return SpfResult(False, records, False, 0, walk.findings)
    try:
        walk.record(domain, records[0], (domain,), True)
    except _PermError:
        return SpfResult(False, records, False, walk.lookups, walk.findings)
    walk.add("info", "spf.lookups", count=walk.lookups)
    if walk.authorized:
        walk.add("ok", "spf.authorized", include=walk.include)
    elif not any(f.code in {"spf.negated", "spf.after_all"} for f in walk.findings):
        walk.add("error", "spf.not_authorized", include=walk.include)
    return SpfResult(walk.authorized, records, walk.authorized, walk.lookups, walk.findings)


def suggested_record(records: list[str], include: str) -> str:
    """The single record to publish: the existing one with the include added, or a minimal one."""
    term = f"include:{_norm(include)}"
    if len(records) >= 1:
        parts = [p for p in records[0].split() if p.lower().lstrip(QUALIFIERS) != term]
        return " ".join([parts[0], term, *parts[1:]])
    return f"v=spf1 {term} -all"
