"""Findings: what one check found, as data (stored in ``DomainCheck.findings``) and as text.

A finding is a code plus its parameters; the text is chosen when it is shown, so the history
reads in whichever language the viewer uses. Severities: ``ok`` (a requirement met), ``info``
(a record found, a count), ``warning`` (recommended but not required), ``error`` (the check
fails), ``unknown`` (the DNS server did not answer).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from core.i18n import _


def N_(text: str) -> str:  # noqa: N802 - marks a text for the catalogue, translated when shown
    return text


SEVERITIES = ("ok", "info", "warning", "error", "unknown")


@dataclass(frozen=True)
class Finding:
    check: str  # spf | dkim | dmarc
    severity: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_data(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Finding:
        return cls(str(data["check"]), str(data["severity"]), str(data["code"]), dict(data.get("params") or {}))

    def text(self) -> str:
        template = TEXTS.get(self.code)
        if template is None:
            return self.code
        try:
            return _(template).format(**self.params)
        except (KeyError, IndexError):
            return _(template)


@dataclass(frozen=True)
class RecordToCreate:
    """One DNS record the clinic must create or replace, exactly as it must be typed."""

    name: str
    rtype: str
    value: str
    reason: str  # a finding code; its text says why

    def to_data(self) -> dict[str, Any]:
        return asdict(self)

    def reason_text(self) -> str:
        return _(TEXTS.get(self.reason, self.reason))


TEXTS: dict[str, str] = {
    "dns.unavailable": N_("The DNS server did not answer in time: the {check} records could not be checked."),
    "spf.found": N_("SPF record at {domain}: {record}"),
    "spf.none": N_("No SPF record (a TXT record starting with v=spf1) at {domain}."),
    "spf.several": N_("{count} SPF records at {domain}: there must be exactly one."),
    "spf.syntax": N_("The SPF record at {domain} has an invalid term: {term}"),
    "spf.authorized": N_("The SPF record authorizes {include}."),
    "spf.not_authorized": N_("The SPF record does not include {include}."),
    "spf.negated": N_("{include} is included with the qualifier {qualifier}, which does not authorize it."),
    "spf.after_all": N_("include:{include} comes after 'all' in {domain} and is never reached."),
    "spf.lookups": N_("Evaluating the SPF record takes {count} of the 10 DNS look-ups allowed."),
    "spf.too_many_lookups": N_("Evaluating the SPF record needs more than 10 DNS look-ups (at {term} in {domain})."),
    "spf.void_lookups": N_("{count} DNS look-ups in the SPF record found nothing; at most 2 are allowed."),
    "spf.void": N_("{term} in {domain} found nothing in DNS."),
    "spf.too_many_mx": N_("{term} in {domain} finds {count} mail servers; an mx term may use at most 10."),
    "spf.loop": N_("The SPF record reaches {target} again: an include or redirect loop."),
    "spf.no_record_at": N_("{term} in {domain} points at a domain without exactly one SPF record."),
    "spf.macro": N_("{term} in {domain} uses a macro: counted, but not looked up."),
    "spf.fix": N_("Add include:{include} to the SPF record (and keep exactly one SPF record)."),
    "dkim.ok": N_("{name} points at {target} and the key there is published."),
    "dkim.missing": N_("No CNAME record at {name}."),
    "dkim.txt_instead": N_("{name} is a TXT record, not a CNAME pointing at {target}."),
    "dkim.wrong_target": N_("{name} points at {found} instead of {target}."),
    "dkim.revoked": N_("The key behind {name} is revoked (empty p=)."),
    "dkim.no_key": N_("{name} points at {target}, but no valid DKIM key is published there."),
    "dkim.fix": N_("Create this CNAME record for DKIM."),
    "dmarc.found": N_("DMARC record at {name}: {record}"),
    "dmarc.none": N_("No DMARC record at {name} (recommended)."),
    "dmarc.several": N_("{count} DMARC records at {name}: there must be exactly one."),
    "dmarc.duplicate_tag": N_("The DMARC record repeats the tag {tag}."),
    "dmarc.bad_value": N_("The DMARC tag {tag} has an invalid value: {value}"),
    "dmarc.syntax": N_("The DMARC record has an invalid part: {term}"),
    "dmarc.unknown_tag": N_("Unknown DMARC tag {tag}: ignored."),
    "dmarc.no_policy": N_("The DMARC record has no p= tag: receivers apply 'none'."),
    "dmarc.policy": N_("DMARC policy: {p}; subdomains: {sp}; non-existent subdomains: {np}."),
    "dmarc.psd.y": N_("psd=y: this domain is a public suffix domain."),
    "dmarc.psd.n": N_("psd=n: this domain is an organizational domain."),
    "dmarc.psd.u": N_("psd=u: not said (the default)."),
    "dmarc.testing": N_("t=y: the domain owner is testing the policy; receivers may apply a milder one."),
    "dmarc.fix": N_("Create this TXT record for DMARC (a minimal policy)."),
}
