"""The DKIM check: each selector of the settings must be a CNAME to the product's key host.

``accueil1._domainkey.DOMAIN CNAME accueil1._domainkey.<product>``: the clinic delegates the key
to the product, which can then rotate it without asking the clinic. A TXT record in the CNAME's
place (a key the clinic pasted, which the product cannot rotate), a CNAME to another host and a
key host whose record has an empty ``p=`` (a revoked key, RFC 6376 section 3.6.1) are each
reported. DKIM is valid when every selector points right and the signing selector's key (the
first) is published.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.sender.findings import Finding
from core.sender.lookup import Lookup


@dataclass
class DkimResult:
    valid: bool
    findings: list[Finding] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)  # (name, target) CNAMEs to create


def key_tags(record: str) -> dict[str, str] | None:
    """The tag list of a DKIM key record, or None when it is not one."""
    tags: dict[str, str] = {}
    for part in record.split(";"):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep:
            return None
        tags[name.strip().lower()] = "".join(value.split())
    if tags.get("v", "DKIM1") != "DKIM1" or "p" not in tags:
        return None
    return tags


def check_dkim(lookup: Lookup, domain: str, selectors: dict[str, str]) -> DkimResult:
    """Raises ``DnsUnavailable`` if the server does not answer."""
    result = DkimResult(valid=True)
    for position, (selector, target) in enumerate(selectors.items()):
        name = f"{selector}._domainkey.{domain}"
        target = target.rstrip(".").lower()
        found = lookup.cname(name)
        if found is None:
            texts = lookup.txt(name)
            if texts:
                result.findings.append(Finding("dkim", "error", "dkim.txt_instead", {"name": name, "target": target}))
            else:
                result.findings.append(Finding("dkim", "error", "dkim.missing", {"name": name}))
            result.missing.append((name, target))
            result.valid = False
            continue
        if found != target:
            result.findings.append(Finding("dkim", "error", "dkim.wrong_target",
                                           {"name": name, "found": found, "target": target}))
            result.missing.append((name, target))
            result.valid = False
            continue
        keys = [tags for tags in map(key_tags, lookup.txt(target)) if tags is not None]
        signing = position == 0
        if len(keys) != 1:
            result.findings.append(Finding("dkim", "error" if signing else "warning", "dkim.no_key",
                                           {"name": name, "target": target}))
            result.valid = result.valid and not signing
        elif not keys[0]["p"]:
            result.findings.append(Finding("dkim", "error" if signing else "warning", "dkim.revoked", {"name": name}))
            result.valid = result.valid and not signing
        else:
            result.findings.append(Finding("dkim", "ok", "dkim.ok", {"name": name, "target": target}))
    return result
