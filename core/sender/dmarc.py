"""The DMARC check: the TXT record at ``_dmarc.DOMAIN`` (RFC 7489, and RFC 9989 "DMARCbis").

Only TXT records beginning with ``v=DMARC1`` count; several of them, a repeated tag or an
invalid value make the record unusable (``suggested_record`` then gives one clean record that
keeps the clinic's policy). Unknown tags are ignored (and listed), but not repeated. The DMARCbis
tags ``np`` (policy for non-existent subdomains), ``psd`` (public suffix domain flag) and ``t``
(testing) are read; ``pct``, which DMARCbis drops, is still accepted for older records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.sender.findings import Finding
from core.sender.lookup import Lookup

POLICIES = {"none", "quarantine", "reject"}
_URI_LIST = re.compile(r"^[^,\s]+(,[^,\s]+)*$")
VALIDATORS = {
    "p": lambda v: v in POLICIES,
    "sp": lambda v: v in POLICIES,
    "np": lambda v: v in POLICIES,
    "psd": lambda v: v in {"y", "n", "u"},
    "t": lambda v: v in {"y", "n"},
    "adkim": lambda v: v in {"r", "s"},
    "aspf": lambda v: v in {"r", "s"},
    "pct": lambda v: v.isdigit() and 0 <= int(v) <= 100,
    "fo": lambda v: all(part in {"0", "1", "d", "s"} for part in v.split(":")),
    "rf": lambda v: bool(v),
    "ri": lambda v: v.isdigit(),
    "rua": lambda v: bool(_URI_LIST.match(v)),
    "ruf": lambda v: bool(_URI_LIST.match(v)),
}
CASE_FOLDED = {"p", "sp", "np", "psd", "t", "adkim", "aspf", "fo"}


STRENGTH = {"none": 0, "quarantine": 1, "reject": 2}
POLICY_TAGS = ("p", "sp", "np")


@dataclass
class DmarcResult:
    valid: bool
    record: str | None
    tags: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    records: list[str] = field(default_factory=list)  # every v=DMARC1 record found, for the suggested fix


def _terms(record: str) -> list[tuple[str, str]]:
    """The (tag, value) pairs after ``v=DMARC1``, as written (tags lower case)."""
    terms = []
    for part in (p.strip() for p in record.split(";")[1:]):
        tag, sep, value = part.partition("=")
        if sep and tag.strip():
            terms.append((tag.strip().lower(), value.strip()))
    return terms


def suggested_record(records: list[str]) -> str:
    """One valid record to publish instead of ``records`` (invalid, or several): each tag once.

    A policy tag keeps the strongest valid value the clinic wrote (``p=none; p=reject`` becomes
    ``p=reject``: the fix never weakens a policy); other tags keep their first valid value;
    invalid values are dropped; ``p=none`` is added only when no valid policy was written.
    """
    kept: dict[str, str] = {}
    for record in records:
        for tag, value in _terms(record):
            if tag == "v":
                continue
            if tag in VALIDATORS:
                value = value.lower() if tag in CASE_FOLDED else value
                if not VALIDATORS[tag](value):
                    continue
                if tag in POLICY_TAGS and tag in kept and STRENGTH[value] <= STRENGTH[kept[tag]]:
                    continue
                if tag in kept and tag not in POLICY_TAGS:
                    continue
            elif tag in kept:
                continue
            kept[tag] = value
    kept = {"p": kept.get("p", "none"), **{t: v for t, v in kept.items() if t != "p"}}
    return "; ".join(["v=DMARC1", *(f"{tag}={value}" for tag, value in kept.items())])


def dmarc_records(texts: list[str]) -> list[str]:
    return [t for t in texts if re.match(r"^v\s*=\s*DMARC1\s*(;|$)", t)]


def parse_dmarc(record: str, name: str) -> DmarcResult:
    result = DmarcResult(valid=True, record=record, records=[record])
    add = result.findings.append
    seen: set[str] = set()
    for position, part in enumerate(p.strip() for p in record.split(";")):
        if not part:
            continue
        tag, sep, value = part.partition("=")
        tag, value = tag.strip().lower(), value.strip()
        if not sep or not tag:
            add(Finding("dmarc", "error", "dmarc.syntax", {"term": part}))
            result.valid = False
            continue
        if position == 0:
            continue  # v=DMARC1, checked by dmarc_records
        if tag in seen or tag == "v":  # a repeated unknown tag too: the record is ambiguous
            add(Finding("dmarc", "error", "dmarc.duplicate_tag", {"tag": tag}))
            result.valid = False
            continue
        seen.add(tag)
        if tag not in VALIDATORS:
            add(Finding("dmarc", "info", "dmarc.unknown_tag", {"tag": tag}))
            continue
        if tag in CASE_FOLDED:
            value = value.lower()
        if not VALIDATORS[tag](value):
            add(Finding("dmarc", "error", "dmarc.bad_value", {"tag": tag, "value": value}))
            result.valid = False
            continue
        result.tags[tag] = value
    if not result.valid:
        return result
    tags = result.tags
    if "p" not in tags:
        add(Finding("dmarc", "warning", "dmarc.no_policy", {}))
    policy = tags.get("p", "none")
    add(Finding("dmarc", "ok", "dmarc.policy",
                {"p": policy, "sp": tags.get("sp", policy), "np": tags.get("np", tags.get("sp", policy))}))
    if "psd" in tags:
        add(Finding("dmarc", "info", f"dmarc.psd.{tags['psd']}", {}))
    if tags.get("t") == "y":
        add(Finding("dmarc", "info", "dmarc.testing", {}))
    return result


def check_dmarc(lookup: Lookup, domain: str) -> DmarcResult:
    """Raises ``DnsUnavailable`` if the server does not answer."""
    name = f"_dmarc.{domain}"
    records = dmarc_records(lookup.txt(name))
    if not records:
        return DmarcResult(False, None, findings=[Finding("dmarc", "warning", "dmarc.none", {"name": name})])
    found = [Finding("dmarc", "info", "dmarc.found", {"name": name, "record": r}) for r in records]
    if len(records) > 1:
        return DmarcResult(False, None, records=records, findings=[
            *found, Finding("dmarc", "error", "dmarc.several", {"name": name, "count": len(records)})])
    result = parse_dmarc(records[0], name)
    result.findings[:0] = found
    return result
