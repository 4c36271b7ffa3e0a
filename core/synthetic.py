"""Synthetic (fictional) patients and staff for the demo clinic, the tests and the benchmarks.

Nobody here is a real person: names are drawn at random from common French- and English-Canadian names,
phones are in the fictional 555-01xx range, e-mail domains are the reserved example.com/.org/.net, and
health numbers are random (Ontario numbers pass the mod-10 check; Quebec RAMQ codes follow the
name/birth-date/sex layout).  The demo seeding and ``bench/`` build patients with
:func:`synthetic_patients` (up to 1,000,000 rows, so the loop only indexes precomputed power-of-two
tables with ``getrandbits``: no date arithmetic or parsing per row); providers and staff come from
:func:`synthetic_staff`.  :func:`fold` is the search key of the patient search (and of the ``*_key``
columns of ``core.db.models.patients``); it lives here because the generator needs it for e-mails and
RAMQ codes.

Within one generator run, chart ids, health numbers and e-mails are unique, except that about 3 % of
the patients share a family mailbox (a child with a parent: same last name, e-mail, phone and postal
code).  The output depends only on ``seed`` and ``today`` (pass ``today`` to be reproducible across days).
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

__all__ = ["SyntheticPatient", "SyntheticPerson", "fold", "synthetic_patients", "synthetic_staff"]

_SPECIAL = str.maketrans(
    {"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D",
     "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH", "ı": "i", "ß": "ss", "ẞ": "SS"}
)  # fmt: skip
_KEEP = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_DROP_ASCII = str.maketrans("", "", "".join(chr(c) for c in range(128) if chr(c) not in _KEEP))


@lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Search key: no accents, case-folded, only ``[a-z0-9]`` (``"St-Pierre"`` -> ``"stpierre"``)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.translate(_SPECIAL)).casefold()
        text = text.encode("ascii", "ignore").decode("ascii")
    return text.lower().translate(_DROP_ASCII)


@dataclass(frozen=True, slots=True)
class SyntheticPatient:
    """One fictional patient, with the fields the EMR import fills (see ``core.db.models.patients``).

    ``health_number`` is written as a clerk types it: ON ``'1234 567 890'`` (mod-10 check digit, version
    ``''`` or two letters), QC RAMQ ``'TREM 8055 1212'`` (last name, first name, YY MM DD with MM + 50 for
    sex ``'F'``, two digits; ``'X'`` uses the plain month).  Consent times are UTC-aware.
    """

    chart_id: str
    health_number: str
    health_province: str
    health_version: str
    last_name: str
    first_name: str
    preferred_name: str | None
    date_of_birth: date
    sex: str
    language: str
    email: str | None
    email_consent: bool
    email_consent_at: datetime | None
    marketing_consent: bool
    marketing_consent_at: datetime | None
    push_enabled: bool
    phone: str | None
    postal_code: str | None
    last_visit: date | None


@dataclass(frozen=True, slots=True)
class SyntheticPerson:
    """A fictional staff member or provider."""

    last_name: str
    first_name: str
    language: str


class _Draft:
    """Same slot layout as SyntheticPatient but mutable: the generator fills one, then turns it into a
    SyntheticPatient with ``__class__`` assignment (about 5x cheaper than the frozen ``__init__``)."""

    __slots__ = tuple(f.name for f in fields(SyntheticPatient))


# Last names as "Name*weight" (default 1); Tremblay, Côté and Coté get the fixed shares below.
_LAST_NAMES = (
    "Gagnon*3, Roy*3, Bouchard*2, Gauthier*2, Morin*2, Lavoie*2, Fortin*2, Gagné*2, Ouellet*2, Pelletier*2, "
    "Bélanger*2, Lévesque*2, Bergeron*2, Leblanc*2, Girard, Simard, Boucher*2, Caron, Beaulieu, Cloutier, "
    "Dubé, Poirier, Fournier, Lapointe, Leclerc, Lefebvre, Poulin, Thibault, St-Pierre, Nadeau, Martin*2, "
    "Landry, Bédard, Grenier, Lessard, Bernier, Michaud, Hébert, Desjardins, Couture, Turcotte, Lachance, "
    "Parent, Gosselin, Proulx, Demers, Perron, Thériault, Paré, Séguin, Lachapelle, Giroux, D'Amours, "
    "D'Aoust, L'Heureux, L'Écuyer, St-Onge, Ste-Marie, St-Laurent, Bédard-Roy, Gauthier-Lévesque, "
    "Côté-Gagnon, Tremblay-Bouchard, Paquette-Côté, Smith*2, Brown*2, Wilson*2, Taylor, Campbell, "
    "Anderson, Thompson, Johnson, Williams, Jones, MacDonald, McDonald, MacLeod, McKenzie, O'Neil, O'Brien, "
    "O'Connor, Stewart, Robinson, Murray, Clark, Walker, Young, White, Lee*2, Nguyen*2, Singh*2, Chen*2, "
    "Wong, Li, Patel*2, Ng, Kim, Da Silva, De Luca, Van Dyk, Fraser-Smith"
)
_FIXED_SHARES = {"Tremblay": 0.02, "Côté": 0.01, "Coté": 0.01}
_FIRST_NAMES = (  # English male, English female, French male, French female
    "Liam Noah William James Robert Owen Benjamin Lucas Ethan Jacob Logan Michael David John Richard "
    "Thomas Daniel Matthew Christopher Andrew Joseph Kevin Brian Ryan Tyler Connor Nathan Patrick Sean "
    "Gregory Donald Steven Jack Henry Alexander Mark Al",
    "Olivia Emma Chloe Catherine Elizabeth Margaret Charlotte Amelia Ava Sophia Abigail Emily Hannah "
    "Madison Jessica Sarah Jennifer Susan Patricia Linda Karen Deborah Rebecca Rachel Megan Lauren Grace "
    "Evelyn Zoë Mary-Kate Ann-Marie Jo Siobhan Priya",
    "Jérôme François Gaëtan Jean-François Marc-André Benoît Joël Stéphane Réjean Sébastien Émile Mathieu "
    "Olivier Alexandre Guillaume Étienne Louis Félix Thomas Gabriel Samuel Raphaël Antoine Jacques "
    "Pierre-Luc Jean-Philippe Michel Denis Yves Luc Normand Gilles Rémi Frédéric Hugo Zacharie Noël Éric",
    "Élodie Hélène Zoé Chloé Noémie Anaïs Marie-Ève Léa Mégane Amélie Geneviève Ginette Catherine Isabelle "
    "Nathalie Sophie Julie Mélanie Chantal Sylvie Josée Manon Camille Florence Rosalie Maëlle Béatrice "
    "Océane Marie-Claude Marie-Hélène Annie Véronique Émilie Justine Francine Lise Thérèse Monique Éloïse",
)
_NICKNAME_TEXT = (  # first name: one or two nicknames
    "Robert:Bob|Rob Catherine:Cathy|Kate Elizabeth:Liz|Beth Margaret:Maggie|Peggy William:Bill|Will "
    "James:Jim|Jamie Michael:Mike Richard:Rick Christopher:Chris Matthew:Matt Benjamin:Ben "
    "Alexander:Alex Daniel:Dan Andrew:Andy|Drew Joseph:Joe Patrick:Pat Gregory:Greg Jennifer:Jen "
    "Patricia:Patty|Trish Deborah:Debbie Rebecca:Becky Abigail:Abby Susan:Sue Samuel:Sam "
    "Stéphane:Steph Sébastien:Seb Geneviève:Gen Jean-François:J-F Marc-André:Marc Alexandre:Alex "
    "Frédéric:Fred Isabelle:Isa Nathalie:Nat Véronique:Véro Mélanie:Mel Jean-Philippe:J-P "
    "Pierre-Luc:Pierre Gabriel:Gab Raphaël:Raph Marie-Ève:Marie"
)
_NICKNAMES = {k: tuple(v.split("|")) for k, v in (item.split(":") for item in _NICKNAME_TEXT.split())}
_P_QC, _P_NATIVE_LANG, _P_OTHER_NAMES, _P_PREFERRED, _SHARED_RATE = 0.55, 0.85, 0.10, 0.10, 0.03
_P_EMAIL, _P_EMAIL_CONSENT, _P_MARKETING, _P_PUSH = 0.85, 0.60, 0.30, 0.20
_P_PHONE, _P_POSTAL, _P_VISIT, _P_ON_VERSION = 0.93, 0.95, 0.90, 0.75
_DOMAINS = ("example.com",) * 4 + ("example.org",) * 2 + ("example.net",) * 2  # reserved (RFC 2606)
_AREAS = {"QC": "514 438 450 579 418 581 819 873", "ON": "416 647 437 905 289 365 613 343 519 226 705 807"}
_POSTAL_LETTERS = "ABCEGHJKLMNPRSTVWXYZ"  # Canada Post never uses D F I O Q U
_FIRST_LETTERS = {"QC": "GHJ", "ON": "KLMNP"}
# Rough Canadian age pyramid: (first age, last age, relative weight of each year).
_AGE_BANDS = ((0, 4, 10), (5, 19, 11), (20, 64, 13), (65, 74, 12), (75, 84, 7), (85, 89, 4), (90, 100, 1))
_ON_SPACE, _ON_STEP = 900_000_000, 701_239_973  # step coprime with the space: index -> number is 1-to-1
_CALENDAR_DAYS = 37_000  # > 101 years
_STAMPS = 4096  # consent timestamps drawn per run


def _table(weighted: Sequence[tuple[Any, float]], bits: int) -> tuple[Any, ...]:
    """A ``2**bits`` table where each value fills slots in proportion to its weight (index: getrandbits)."""
    size, total, cum, prev, out = 1 << bits, sum(w for _, w in weighted), 0.0, 0, []
    for value, w in weighted:
        cum += w
        end = round(cum / total * size)
        out.extend([value] * (end - prev))
        prev = end
    return tuple(out)


def _uniform(values: Sequence[Any], bits: int) -> tuple[Any, ...]:
    return _table([(v, 1.0) for v in values], bits)


_LAST_SPECS = [s.strip().split("*") for s in _LAST_NAMES.split(",")]
_LAST = tuple([s[0] for s in _LAST_SPECS] + list(_FIXED_SHARES))
_LAST_W = [float(s[1]) if len(s) > 1 else 1.0 for s in _LAST_SPECS]
_LAST_SHARES = [w / sum(_LAST_W) * (1 - sum(_FIXED_SHARES.values())) for w in _LAST_W] + list(
    _FIXED_SHARES.values()
)
_LAST_POOL = _table(list(enumerate(_LAST_SHARES)), 14)  # 16384 slots: Côté gets 164 (1.00 %)
_LAST_FOLD = tuple(fold(n) for n in _LAST)
_L3 = tuple(f[:3].upper().ljust(3, "X") for f in _LAST_FOLD)  # RAMQ: 3 letters of the last name
_L3_ID = tuple(sorted(set(_L3)).index(x) for x in _L3)

_FIRST = tuple(n for names in _FIRST_NAMES for n in names.split())
_FIRST_ENDS = [sum(len(names.split()) for names in _FIRST_NAMES[: k + 1]) for k in range(4)]
_FIRST_POOLS = tuple(  # index: 2 * is_french + is_female; 256 slots each
    _uniform(range(end - len(names.split()), end), 8)
    for names, end in zip(_FIRST_NAMES, _FIRST_ENDS, strict=True)
)
_FIRST_FOLD = tuple(fold(n) for n in _FIRST)
_F1 = tuple(f[:1].upper() or "X" for f in _FIRST_FOLD)  # RAMQ: first letter of the first name
_F1_ID = tuple(ord(c) - 65 for c in _F1)
_NICKS = tuple((_NICKNAMES[n] * 2)[:2] if n in _NICKNAMES else ("", "") for n in _FIRST)  # index: 1 bit
_NICKS_FOLD = tuple(tuple(fold(x) for x in pair) for pair in _NICKS)
# Chance of a preferred name for each first name, so that each pool gives about 10 %.
_NICK_P = [0.0] * len(_FIRST)
for _pool in _FIRST_POOLS:
    _with = sum(1 for i in _pool if _NICKS[i][0])
    for _i in set(_pool):
        _NICK_P[_i] = min(1.0, _P_PREFERRED * len(_pool) / _with) if _NICKS[_i][0] else 0.0

_AGE_POOL = _table([(a, float(w)) for lo, hi, w in _AGE_BANDS for a in range(lo, hi + 1)], 13)
# Children reusing a parent's mailbox: each makes a pair, so half the shared rate, among the children.
_P_FAMILY = _SHARED_RATE / 2 / (sum(1 for a in _AGE_POOL if a < 18) / len(_AGE_POOL))
_NN = tuple(f"{k:02d}" for k in range(100))
_D3 = tuple(f"{k:03d}" for k in range(1000))
# Ontario numbers, grouped as written ("dddd ddd dd" + check digit): Luhn sums of each group, the 1st,
# 3rd, 5th, 7th and 9th digits doubled.
_LUHN2 = tuple(d * 2 - 9 if d * 2 > 9 else d * 2 for d in range(10))
_SUM4 = tuple(_LUHN2[k // 1000] + k // 100 % 10 + _LUHN2[k // 10 % 10] + k % 10 for k in range(10000))
_SUM3 = tuple(_LUHN2[k // 100] + k // 10 % 10 + _LUHN2[k % 10] for k in range(1000))
_SUM2 = tuple(k // 10 + _LUHN2[k % 10] for k in range(100))
_TAILS = tuple(f"{k // 10:02d}{k % 10}" for k in range(1000))  # last two digits + check digit
_VERSIONS = _uniform([a + b for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"], 12)
_PHONES = {
    p: _uniform([f"{a}-555-01{k:02d}" for a in s.split() for k in range(100)], 12) for p, s in _AREAS.items()
}
_FSAS = {p: _uniform([f"{a}{d}{b}" for a in s for d in range(10) for b in _POSTAL_LETTERS], 12)
         for p, s in _FIRST_LETTERS.items()}  # fmt: skip
_LDUS = _uniform([f" {d}{b}{e}" for d in range(10) for b in _POSTAL_LETTERS for e in range(10)], 13)
_EMAIL_PATTERNS = (0, 1, 2, 3, 4, 0, 0, 1)  # first.last, firstlast, flast, last.first, first_last


@lru_cache(maxsize=8)
def _calendar(today: date) -> tuple[tuple[date, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Dates ``today - k days`` with their RAMQ 'YYMM' (male; female: month + 50) and 'DD' parts."""
    first = today.toordinal()
    days = tuple(map(date.fromordinal, range(first, first - _CALENDAR_DAYS, -1)))
    yymm_m: list[str] = []
    yymm_f: list[str] = []
    dd: list[str] = []
    k = 0
    while k < _CALENDAR_DAYS:  # one month at a time, backwards from its day ``d.day`` to the 1st
        d = days[k]
        run = min(d.day, _CALENDAR_DAYS - k)
        yymm_m += [f"{d.year % 100:02d}{d.month:02d}"] * run
        yymm_f += [f"{d.year % 100:02d}{d.month + 50:02d}"] * run
        dd += _NN[d.day : d.day - run : -1]
        k += run
    return days, tuple(yymm_m), tuple(yymm_f), tuple(dd)


def synthetic_patients(
    n: int, *, seed: int = 1, start_chart: int = 100000, today: date | None = None
) -> Iterator[SyntheticPatient]:
    """``n`` fictional patients, deterministic for ``seed`` (and ``today``); charts ``start_chart``, +1, …"""
    if n < 0:
        raise ValueError("n must be >= 0")
    return _generate(n, seed, start_chart, today or date.today())


def _generate(n: int, seed: int, start_chart: int, today: date) -> Iterator[SyntheticPatient]:
    # Hot loop: every table is a local, indexes come from getrandbits, probabilities from random().
    rng = random.Random(seed)
    rnd, bits = rng.random, rng.getrandbits
    days, yymm_m, yymm_f, dd = _calendar(today)
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
    stamps = tuple(midnight - timedelta(seconds=rng.randrange(1, 3 * 365 * 86400)) for _ in range(_STAMPS))
    on_offset = rng.randrange(_ON_SPACE)
    last_pool, age_pool, first_pools, last_names, last_fold, l3, l3_id = (
        _LAST_POOL, _AGE_POOL, _FIRST_POOLS, _LAST, _LAST_FOLD, _L3, _L3_ID
    )  # fmt: skip
    first_names, first_fold, f1, f1_id, nicknames, nicks_fold, nick_p = (
        _FIRST, _FIRST_FOLD, _F1, _F1_ID, _NICKS, _NICKS_FOLD, _NICK_P
    )  # fmt: skip
    nn_s, d3, sum4, sum3, sum2, tails, versions, domains, ldus, patterns = (
        _NN, _D3, _SUM4, _SUM3, _SUM2, _TAILS, _VERSIONS, _DOMAINS, _LDUS, _EMAIL_PATTERNS
    )  # fmt: skip
    phones_qc, phones_on, fsas_qc, fsas_on = _PHONES["QC"], _PHONES["ON"], _FSAS["QC"], _FSAS["ON"]
    p_family, p_other, p_marketing = _P_FAMILY, _P_OTHER_NAMES, _P_MARKETING / (_P_EMAIL * _P_EMAIL_CONSENT)
    p_email, p_consent, p_push, p_phone, p_postal, p_visit, p_version = (
        _P_EMAIL, _P_EMAIL_CONSENT, _P_PUSH, _P_PHONE, _P_POSTAL, _P_VISIT, _P_ON_VERSION
    )  # fmt: skip
    p_qc_fr, p_qc, p_on_en = _P_QC * _P_NATIVE_LANG, _P_QC, _P_QC + (1 - _P_QC) * _P_NATIVE_LANG
    draft, patient = _Draft, SyntheticPatient
    email_seen: dict[str, int] = {}  # e-mail local part -> times used (bounded by the name tables)
    ramq_seen: dict[int, int] = {}  # letters + birth date -> next 2-digit suffix
    parent: tuple[int, str, str, bool, str | None, str | None] | None = None
    for i in range(n):
        p: Any = draft()
        r = rnd()
        qc = r < p_qc
        lang = "fr" if r < p_qc_fr or r >= p_on_en else "en"
        r = rnd()
        sex = "F" if r < 0.495 else "M" if r < 0.99 else "X"
        age = age_pool[bits(13)]
        dob_off = int((age + rnd()) * 365.2425)
        if age < 18 and parent is not None and rnd() < p_family:  # a family mailbox
            last_i, email, lang, qc, phone, postal = parent
            family, parent = True, None
        else:
            family, last_i = False, last_pool[bits(14)]
        female_names = r < 0.495 or r > 0.995  # half of the 'X' too
        first_i = first_pools[2 * ((lang == "fr") ^ (rnd() < p_other)) + female_names][bits(8)]
        nick_k = bits(1) if rnd() < nick_p[first_i] else -1
        if not family:
            if rnd() < p_email:
                first_f = nicks_fold[first_i][nick_k] if nick_k >= 0 and rnd() < 0.5 else first_fold[first_i]
                last_f = last_fold[last_i]
                k = bits(6)
                pattern = patterns[k & 7]
                if pattern == 0:
                    local = f"{first_f}.{last_f}"
                elif pattern == 1:
                    local = first_f + last_f
                elif pattern == 2:
                    local = first_f[0] + last_f
                elif pattern == 3:
                    local = f"{last_f}.{first_f}"
                else:
                    local = f"{first_f}_{last_f}"
                # Local parts never end in a digit, so "name" + a use count is unique.
                seen = email_seen.get(local, 0) + 1
                email_seen[local] = seen
                email = f"{local}{seen}@{domains[k >> 3]}" if seen > 1 else f"{local}@{domains[k >> 3]}"
            else:
                email = None
            phone = (phones_qc if qc else phones_on)[bits(12)] if rnd() < p_phone else None
            postal = (fsas_qc if qc else fsas_on)[bits(12)] + ldus[bits(13)] if rnd() < p_postal else None
            if email is not None and 25 <= age <= 60:
                parent = (last_i, email, lang, qc, phone, postal)
        if qc:
            key = ((l3_id[last_i] * 26 + f1_id[first_i]) << 16) + dob_off
            nn = ramq_seen.get(key)
            if nn is None:
                nn = int(rnd() * 100)
            ramq_seen[key] = (nn + 1) % 100
            ym = yymm_f[dob_off] if sex == "F" else yymm_m[dob_off]
            p.health_number = f"{l3[last_i]}{f1[first_i]} {ym} {dd[dob_off]}{nn_s[nn]}"
            p.health_province = "QC"
            p.health_version = ""
        else:
            x = (i * _ON_STEP + on_offset) % _ON_SPACE + 100_000_000
            a, b, c = x // 100_000, x // 100 % 1000, x % 100
            p.health_number = f"{a} {d3[b]} {tails[c * 10 + (-(sum4[a] + sum3[b] + sum2[c]) % 10)]}"
            p.health_province = "ON"
            p.health_version = versions[bits(12)] if rnd() < p_version else ""
        if email is not None and rnd() < p_consent:
            p.email_consent, p.email_consent_at = True, stamps[bits(12)]
            p.marketing_consent = marketing = rnd() < p_marketing
            p.marketing_consent_at = stamps[bits(12)] if marketing else None
        else:
            p.email_consent = p.marketing_consent = False
            p.email_consent_at = p.marketing_consent_at = None
        if rnd() < p_visit:
            r = rnd()
            p.last_visit = days[min(int(r * r * 1096), dob_off)]  # recent visits are more common
        else:
            p.last_visit = None
        p.chart_id = str(start_chart + i)
        p.last_name = last_names[last_i]
        p.first_name = first_names[first_i]
        p.preferred_name = nicknames[first_i][nick_k] if nick_k >= 0 else None
        p.date_of_birth = days[dob_off]
        p.sex = sex
        p.language = lang
        p.email = email
        p.push_enabled = rnd() < p_push
        p.phone = phone
        p.postal_code = postal
        p.__class__ = patient  # same slots: now a genuine, frozen SyntheticPatient
        yield p


def synthetic_staff(n: int, *, seed: int = 2) -> list[SyntheticPerson]:
    """``n`` fictional staff members and providers (distinct names while the name tables allow it)."""
    rng = random.Random(seed)
    out: list[SyntheticPerson] = []
    seen: set[tuple[str, str]] = set()
    for _ in range(n):
        for _attempt in range(20):
            lang = "fr" if rng.random() < _P_QC else "en"
            pool = _FIRST_POOLS[2 * (lang == "fr") + (rng.random() < 0.6)]
            person = SyntheticPerson(_LAST[rng.choice(_LAST_POOL)], _FIRST[rng.choice(pool)], lang)
            if (person.last_name, person.first_name) not in seen:
                break
        seen.add((person.last_name, person.first_name))
        out.append(person)
    return out
