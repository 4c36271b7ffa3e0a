"""Zones for the custom From tests: the product's key hosts and one clinic domain per case."""

from __future__ import annotations

from pathlib import Path

from core.sender.keys import ensure_key, public_record
from core.settings import SenderSettings

PRODUCT = "accueil.example"
GOOD_SPF = '"v=spf1 include:_spf.accueil.example -all"'
DKIM = ("accueil1._domainkey CNAME accueil1._domainkey.accueil.example.\n"
        "accueil2._domainkey CNAME accueil2._domainkey.accueil.example.\n")
DMARC = '_dmarc TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@{d}"\n'


def txt(value: str) -> str:
    """A TXT value in zone syntax, cut into strings of at most 255 characters."""
    return " ".join(f'"{value[i:i + 200]}"' for i in range(0, len(value), 200))


def clinic(domain: str, body: str) -> str:
    return "@ 3600 IN A 192.0.2.80\n" + body.replace("{d}", domain)


def zones(key_file: Path) -> dict[str, str]:
    ensure_key(key_file)
    key = txt(public_record(key_file))
    lookups = "".join(f"h{i} A 192.0.2.{i}\n" for i in range(1, 9))
    return {
        PRODUCT: (f'_spf TXT "v=spf1 ip4:192.0.2.10 -all"\naccueil1._domainkey TXT {key}\n'
                  f"accueil2._domainkey TXT {key}\n"),
        "old.example": 'k1 TXT "v=DKIM1; k=rsa; p="\nk2 TXT "v=DKIM1; k=rsa; p="\n',
        "green.test": clinic("green.test", f"@ TXT {GOOD_SPF}\n{DKIM}{DMARC}"),
        "spfonly.test": clinic("spfonly.test", f"@ TXT {GOOD_SPF}\n{DMARC}"),
        "dkimonly.test": clinic("dkimonly.test", f'@ TXT "v=spf1 ip4:192.0.2.1 -all"\n{DKIM}'),
        "nothing.test": clinic("nothing.test", ""),
        "twospf.test": clinic("twospf.test", f'@ TXT {GOOD_SPF}\n@ TXT "v=spf1 mx -all"\n{DMARC}'),
        "ten.test": clinic("ten.test", '@ TXT "v=spf1 include:_spf.accueil.example a mx a:h1.ten.test '
                                       'a:h2.ten.test a:h3.ten.test a:h4.ten.test a:h5.ten.test a:h6.ten.test '
                                       'a:h7.ten.test -all"\n@ MX 10 h1\n' + lookups),
        "eleven.test": clinic("eleven.test", '@ TXT "v=spf1 include:_spf.accueil.example a mx a:h1.eleven.test '
                                             'a:h2.eleven.test a:h3.eleven.test a:h4.eleven.test a:h5.eleven.test '
                                             'a:h6.eleven.test a:h7.eleven.test a:h8.eleven.test -all"\n'
                                             '@ MX 10 h1\n' + lookups),
        "void.test": clinic("void.test", '@ TXT "v=spf1 include:_spf.accueil.example a:n1.void.test '
                                         'a:n2.void.test mx:n3.void.test -all"\n'),
        "loop.test": clinic("loop.test", '@ TXT "v=spf1 include:_spf.accueil.example include:a.loop.test -all"\n'
                                         'a TXT "v=spf1 include:b.loop.test -all"\n'
                                         'b TXT "v=spf1 redirect=a.loop.test"\n'),
        "dkimtxt.test": clinic("dkimtxt.test", f"@ TXT {GOOD_SPF}\n"
                                               f"accueil1._domainkey TXT {key}\n"
                                               "accueil2._domainkey CNAME accueil2._domainkey.accueil.example.\n"),
        "wrong.test": clinic("wrong.test", "accueil1._domainkey CNAME accueil1._domainkey.other.example.\n"
                                           "accueil2._domainkey CNAME accueil2._domainkey.accueil.example.\n"),
        "revoked.test": clinic("revoked.test", "accueil1._domainkey CNAME k1.old.example.\n"
                                               "accueil2._domainkey CNAME k2.old.example.\n"),
        "dmarcdup.test": clinic("dmarcdup.test", f'@ TXT {GOOD_SPF}\n{DKIM}_dmarc TXT "v=DMARC1; p=none; p=reject"\n'),
        "twodmarc.test": clinic("twodmarc.test", f'@ TXT {GOOD_SPF}\n{DKIM}_dmarc TXT "v=DMARC1; p=none"\n'
                                                 '_dmarc TXT "v=DMARC1; p=reject"\n'),
        "bis.test": clinic("bis.test", f'@ TXT {GOOD_SPF}\n{DKIM}'
                                       '_dmarc TXT "v=DMARC1; p=reject; np=quarantine; psd=n; t=y; zz=1"\n'),
        "slow.test": clinic("slow.test", f"@ TXT {GOOD_SPF}\n{DKIM}{DMARC}"),
    }


SILENT = ("slow.test.",)


def sender_settings(port: int, key_file: Path, **changes: object) -> SenderSettings:
    from dataclasses import replace

    return replace(SenderSettings(dns_server="127.0.0.1", dns_port=port, dns_timeout_seconds=1.0,
                                  dkim_key_file=key_file, operator_email="operator@accueil.example"), **changes)
