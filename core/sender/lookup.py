"""DNS look-ups for the sender checks, through dnspython and the resolver named in settings.

A name that does not exist and a name without records of the asked type both come back as an
empty list (a "void" look-up in RFC 7208 terms); a server that does not answer in time raises
``DnsUnavailable``, which the checks report as "could not check", never as a bad record. A name
that cannot exist (a label over 63 or a name over 255 bytes) is a void look-up too; ``valid_name``
lets the SPF walk report such a target as a syntax error first.
"""

from __future__ import annotations

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from core.settings import SenderSettings


class DnsUnavailable(Exception):
    """The resolver did not answer (timeout, refused, no server): nothing can be concluded."""


def make_resolver(settings: SenderSettings) -> dns.resolver.Resolver:
    if settings.dns_server:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [settings.dns_server]
        resolver.port = settings.dns_port
    else:
        resolver = dns.resolver.Resolver()
    resolver.timeout = settings.dns_timeout_seconds
    resolver.lifetime = settings.dns_timeout_seconds
    resolver.cache = None
    return resolver


def valid_name(name: str) -> bool:
    """Whether ``name`` can be asked at all (labels and total length within the DNS limits)."""
    try:
        dns.name.from_text(name)
    except dns.exception.DNSException:  # LabelTooLong, EmptyLabel (SyntaxError), NameTooLong (FormError)
        return False
    return True


class Lookup:
    """Queries through one resolver; ``txt`` joins each record's strings as RFC 7208 asks."""

    def __init__(self, resolver: dns.resolver.Resolver) -> None:
        self.resolver = resolver

    def _answer(self, name: str, rdtype: str) -> list[dns.rdata.Rdata]:
        try:
            answer = self.resolver.resolve(name, rdtype, search=False, raise_on_no_answer=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout) as exc:
            raise DnsUnavailable(type(exc).__name__) from exc
        except (dns.name.LabelTooLong, dns.name.EmptyLabel, dns.exception.SyntaxError, dns.exception.FormError):
            return []  # not a valid name (e.g. over 255 bytes, NameTooLong): nothing can exist there
        if answer.rrset is None:
            return []
        wanted = dns.rdatatype.from_text(rdtype)
        return [rdata for rdata in answer.rrset if rdata.rdtype == wanted]

    def txt(self, name: str) -> list[str]:
        return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in self._answer(name, "TXT")]

    def cname(self, name: str) -> str | None:
        found = self._answer(name, "CNAME")
        return found[0].target.to_text(omit_final_dot=True).lower() if found else None

    def exists(self, name: str, rdtype: str) -> bool:
        return bool(self._answer(name, rdtype))

    def mx_hosts(self, name: str) -> list[str]:
        return [rdata.exchange.to_text(omit_final_dot=True) for rdata in self._answer(name, "MX")]
