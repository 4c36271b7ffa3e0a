"""Synthetic (fictional) patients and staff for the demo clinic, the tests and the benchmarks.

Nobody here is a real person: names are drawn at random from common French- and English-Canadian
names, phones are in the fictional 555-01xx range, e-mail domains are the reserved example.com/.org/.net,
and health numbers are random (valid-looking ON numbers pass the mod-10 check; QC RAMQ codes follow the
name/birth-date/sex layout).  The demo seeding and ``bench/`` build patients with
:func:`synthetic_patients` (up to 1,000,000 rows, so the loop only indexes precomputed tables: no date
parsing or string formatting per row beyond a few concatenations); providers and staff come from
:func:`synthetic_staff`.  :func:`fold` is the search key the patient search (and the ``*_key`` columns of
``core.db.models.patients``) uses; it lives here because the generator needs it for e-mails and RAMQ codes.

Within one generator run chart ids, health numbers and e-mails are unique, except that about 3 % of the
patients share a family mailbox (a child with a parent: same last name, e-mail, phone and postal code).
The output depends only on ``seed`` and ``today`` (pass ``today`` for reproducibility across days).
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

__all__ = ["SyntheticPatient", "SyntheticPerson", "fold", "synthetic_patients", "synthetic_staff"]

# --- fold --------------------------------------------------------------------------------------------
_SPECIAL = str.maketrans(
    {
        "œ": "oe",
        "Œ": "OE",
        "æ": "ae",
        "Æ": "AE",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "TH",
        "ı": "i",
        "ß": "ss",
        "ẞ": "SS",
    }
)
_KEEP = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_DROP_ASCII = str.maketrans("", "", "".join(chr(c) for c in range(128) if chr(c) not in _KEEP))


@lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Search key: no accents, case-folded, only ``[a-z0-9]`` (``"St-Pierre"`` -> ``"stpierre"``)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.translate(_SPECIAL)).casefold()
        text = text.encode("ascii", "ignore").decode("ascii")
    return text.lower().translate(_DROP_ASCII)


# --- records -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SyntheticPatient:
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
    last_name: str
    first_name: str
    language: str


# --- name tables -------------------------------------------------------------------------------------
# "Name*weight" (default weight 1) for last names; Tremblay, Côté and Coté get fixed shares below.
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
_FR_F = (
    "Élodie Hélène Zoé Chloé Noémie Anaïs Marie-Ève Léa Mégane Amélie Geneviève Ginette Catherine Isabelle "
    "Nathalie Sophie Julie Mélanie Chantal Sylvie Josée Manon Camille Florence Rosalie Maëlle Béatrice "
    "Océane Marie-Claude Marie-Hélène Annie Véronique Émilie Justine Francine Lise Thérèse Monique Éloïse"
)
_FR_M = (
    "Jérôme François Gaëtan Jean-François Marc-André Benoît Joël Stéphane Réjean Sébastien Émile Mathieu "
    "Olivier Alexandre Guillaume Étienne Louis Félix Thomas Gabriel Samuel Raphaël Antoine Jacques "
    "Pierre-Luc Jean-Philippe Michel Denis Yves Luc Normand Gilles Rémi Frédéric Hugo Zacharie Noël Éric"
)
_EN_F = (
    "Olivia Emma Chloe Catherine Elizabeth Margaret Charlotte Amelia Ava Sophia Abigail Emily Hannah "
    "Madison Jessica Sarah Jennifer Susan Patricia Linda Karen Deborah Rebecca Rachel Megan Lauren Grace "
    "Evelyn Zoë Mary-Kate Ann-Marie Jo Siobhan Priya"
)
_EN_M = (
    "Liam Noah William James Robert Owen Benjamin Lucas Ethan Jacob Logan Michael David John Richard "
    "Thomas Daniel Matthew Christopher Andrew Joseph Kevin Brian Ryan Tyler Connor Nathan Patrick Sean "
    "Gregory Donald Steven Jack Henry Alexander Mark Al"
)
_NICKNAMES = dict(
    (k, tuple(v.split("|")))
    for k, v in (
        item.split(":")
        for item in [
            "Robert:Bob|Rob",
            "Catherine:Cathy|Kate",
            "Elizabeth:Liz|Beth",
            "Margaret:Maggie|Peggy",
            "William:Bill|Will",
            "James:Jim|Jamie",
            "Michael:Mike",
            "Richard:Rick",
            "Christopher:Chris",
            "Matthew:Matt",
            "Benjamin:Ben",
            "Alexander:Alex",
            "Daniel:Dan",
            "Andrew:Andy|Drew",
            "Joseph:Joe",
            "Patrick:Pat",
            "Gregory:Greg",
            "Jennifer:Jen",
            "Patricia:Patty|Trish",
            "Deborah:Debbie",
            "Rebecca:Becky",
            "Abigail:Abby",
            "Susan:Sue",
            "Samuel:Sam",
            "Stéphane:Steph",
            "Sébastien:Seb",
            "Geneviève:Gen",
            "Jean-François:J-F",
            "Marc-André:Marc",
            "Alexandre:Alex",
            "Frédéric:Fred",
            "Isabelle:Isa",
            "Nathalie:Nat",
            "Véronique:Véro",
            "Mélanie:Mel",
            "Jean-Philippe:J-P",
            "Pierre-Luc:Pierre",
            "Gabriel:Gab",
            "Raphaël:Raph",
            "Marie-Ève:Marie",
            "Guillaume:Will",
            "Mathieu:Math",
        ]
    )
)
_PREFERRED_RATE = 0.10
_P_QC, _P_EMAIL, _P_EMAIL_CONSENT, _P_MARKETING, _P_PUSH = 0.55, 0.85, 0.60, 0.30, 0.20
_P_PHONE, _P_POSTAL, _P_VISIT, _P_ON_VERSION, _SHARED_RATE = 0.93, 0.95, 0.90, 0.75, 0.03
_DOMAINS = ("example.com",) * 5 + ("example.org",) * 3 + ("example.net",) * 2
_AREAS = {"QC": "514 438 450 579 418 581 819 873", "ON": "416 647 437 905 289 365 613 343 519 226 705 807"}
_POSTAL_LETTERS = "ABCEGHJKLMNPRSTVWXYZ"  # Canada Post never uses D F I O Q U
_FIRST_LETTERS = {"QC": "GHJ", "ON": "KLMNP"}
# Rough Canadian age pyramid, relative weight per year of age: (first age, last age, weight).
_AGE_BANDS = (
    (0, 4, 10),
    (5, 19, 11),
    (20, 64, 13),
    (65, 74, 12),
    (75, 84, 7),
    (85, 89, 4),
    (90, 94, 2),
    (95, 100, 1),
)
_ON_SPACE, _ON_STEP = 900_000_000, 701_239_973  # step coprime with the space: i -> number is one-to-one
_CALENDAR_DAYS = 37_000  # > 101 years


def _expand(weighted: list[tuple[int, float]], size: int) -> tuple[int, ...]:
    """A table of ``size`` entries where each value appears in proportion to its weight."""
    total, cum, prev, out = sum(w for _, w in weighted), 0.0, 0, []
    for value, w in weighted:
        cum += w
        end = round(cum / total * size)
        out.extend([value] * (end - prev))
        prev = end
    return tuple(out)


def _ramq_letters(last: str, first: str) -> str:
    return fold(last)[:3].upper().ljust(3, "X") + (fold(first)[:1].upper() or "X")


_LAST: list[str] = [n.split("*")[0].strip() for n in _LAST_NAMES.split(",")]
_LAST_W = [float(n.split("*")[1]) if "*" in n else 1.0 for n in _LAST_NAMES.split(",")]
_LAST += list(_FIXED_SHARES)
_FIXED_SLOTS = [round(share * 10_000) for share in _FIXED_SHARES.values()]
_LAST_POOL = _expand(list(enumerate(_LAST_W)), 10_000 - sum(_FIXED_SLOTS)) + tuple(
    i for k, s in enumerate(_FIXED_SLOTS) for i in [len(_LAST_W) + k] * s
)
_LAST_FOLD = tuple(fold(n) for n in _LAST)
_L3 = tuple(f[:3].upper().ljust(3, "X") for f in _LAST_FOLD)
_L3_ID = tuple(sorted(set(_L3)).index(x) for x in _L3)

_FIRST: list[str] = []
_FIRST_POOLS: list[tuple[int, ...]] = []  # index: 2 * is_french + is_female
for names in (_EN_M, _EN_F, _FR_M, _FR_F):
    _FIRST_POOLS.append(tuple(range(len(_FIRST), len(_FIRST) + len(names.split()))))
    _FIRST.extend(names.split())
_FIRST_FOLD = tuple(fold(n) for n in _FIRST)
_F1 = tuple(f[:1].upper() or "X" for f in _FIRST_FOLD)
_F1_ID = tuple(ord(c) - 65 for c in _F1)
_NICKS = tuple(_NICKNAMES.get(n, ()) for n in _FIRST)
_NICKS_FOLD = tuple(tuple(fold(x) for x in nicks) for nicks in _NICKS)
# Per first name: the chance of a preferred name, so that each pool gives about 10 %.
_NICK_P = [0.0] * len(_FIRST)
for _pool in _FIRST_POOLS:
    _with = sum(1 for i in _pool if _NICKS[i])
    for i in _pool:
        _NICK_P[i] = min(1.0, _PREFERRED_RATE * len(_pool) / _with) if _NICKS[i] else 0.0

_AGE_POOL = _expand([(a, float(w)) for lo, hi, w in _AGE_BANDS for a in range(lo, hi + 1)], 5_000)
# Children reusing a parent's mailbox: each makes a pair, so half the shared rate, among children.
_P_FAMILY = _SHARED_RATE / 2 / (sum(1 for a in _AGE_POOL if a < 18) / len(_AGE_POOL))
_NN = tuple(f"{k:02d}" for k in range(100))
_D3 = tuple(f"{k:03d}" for k in range(1000))
_LUHN2 = tuple(d * 2 - 9 if d * 2 > 9 else d * 2 for d in range(10))
_DSD = tuple(_LUHN2[k // 100] + (k // 10) % 10 + _LUHN2[k % 10] for k in range(1000))  # 1st & 3rd doubled
_SDS = tuple(k // 100 + _LUHN2[(k // 10) % 10] + k % 10 for k in range(1000))  # 2nd doubled
_VERSIONS = tuple(a + b for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_PHONES = {p: tuple(f"{a}-555-01{k:02d}" for a in s.split() for k in range(100)) for p, s in _AREAS.items()}
_FSAS = {
    p: tuple(f"{a}{d}{b} " for a in s for d in range(10) for b in _POSTAL_LETTERS)
    for p, s in _FIRST_LETTERS.items()
}
_LDUS = tuple(f"{d}{b}{e}" for d in range(10) for b in _POSTAL_LETTERS for e in range(10))


# Slot setters in field order, for the generator's fast path (bypasses the frozen __init__).
_SETTERS = tuple(getattr(SyntheticPatient, f.name).__set__ for f in fields(SyntheticPatient))


@lru_cache(maxsize=8)
def _calendar(today: date) -> tuple[tuple[date, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Dates ``today - k days`` with their RAMQ 'YYMM' (male, female = month + 50) and 'DD' parts."""
    days = tuple(today - timedelta(days=k) for k in range(_CALENDAR_DAYS))
    yymm_m = tuple(f"{d.year % 100:02d}{d.month:02d}" for d in days)
    yymm_f = tuple(f"{d.year % 100:02d}{d.month + 50:02d}" for d in days)
    return days, yymm_m, yymm_f, tuple(_NN[d.day] for d in days)


# --- generators --------------------------------------------------------------------------------------
def synthetic_patients(
    n: int, *, seed: int = 1, start_chart: int = 100000, today: date | None = None
) -> Iterator[SyntheticPatient]:
    """``n`` fictional patients, deterministic for ``seed`` (and ``today``); charts ``start_chart``, +1, …"""
    if n < 0:
        raise ValueError("n must be >= 0")
    return _generate(n, seed, start_chart, today or date.today())


def _generate(n: int, seed: int, start_chart: int, today: date) -> Iterator[SyntheticPatient]:
    # Hot loop (1,000,000 rows in benchmarks): everything is a local, tables are precomputed, and the frozen
    # instances are filled through their slot descriptors (about 3x faster than the generated __init__).
    rng = random.Random(seed)
    rnd = rng.random
    days, yymm_m, yymm_f, dd = _calendar(today)
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
    stamps = tuple(midnight - timedelta(seconds=rng.randrange(1, 3 * 365 * 86400)) for _ in range(4096))
    on_offset = rng.randrange(_ON_SPACE)
    last_pool, age_pool, first_pools, n_last, n_age = (
        _LAST_POOL,
        _AGE_POOL,
        _FIRST_POOLS,
        len(_LAST_POOL),
        len(_AGE_POOL),
    )
    last_names, last_fold, l3, l3_id, first_names, first_fold, f1, f1_id, nicknames, nicks_fold, nick_p = (
        _LAST,
        _LAST_FOLD,
        _L3,
        _L3_ID,
        _FIRST,
        _FIRST_FOLD,
        _F1,
        _F1_ID,
        _NICKS,
        _NICKS_FOLD,
        _NICK_P,
    )
    nn_s, d3, dsd, sds, versions, domains, ldus = _NN, _D3, _DSD, _SDS, _VERSIONS, _DOMAINS, _LDUS
    phones_qc, phones_on, fsas_qc, fsas_on = _PHONES["QC"], _PHONES["ON"], _FSAS["QC"], _FSAS["ON"]
    p_family, p_marketing = _P_FAMILY, _P_MARKETING / (_P_EMAIL * _P_EMAIL_CONSENT)
    p_email, p_consent, p_push, p_phone, p_postal, p_visit, p_version = (
        _P_EMAIL,
        _P_EMAIL_CONSENT,
        _P_PUSH,
        _P_PHONE,
        _P_POSTAL,
        _P_VISIT,
        _P_ON_VERSION,
    )
    p_qc_fr, p_qc, p_on_en = _P_QC * 0.85, _P_QC, _P_QC + (1 - _P_QC) * 0.85
    new, cls = object.__new__, SyntheticPatient
    (
        s_chart,
        s_health,
        s_prov,
        s_version,
        s_last,
        s_first,
        s_pref,
        s_dob,
        s_sex,
        s_lang,
        s_email,
        s_consent,
        s_consent_at,
        s_mkt,
        s_mkt_at,
        s_push,
        s_phone,
        s_postal,
        s_visit,
    ) = _SETTERS
    email_seen: dict[str, int] = {}
    ramq_seen: dict[int, int] = {}
    parent: tuple[int, str, str, bool, str | None, str | None] | None = None
    for i in range(n):
        r = rnd()
        qc = r < p_qc
        lang = "fr" if r < p_qc_fr or r >= p_on_en else "en"
        r = rnd()
        sex = "F" if r < 0.495 else "M" if r < 0.99 else "X"
        female = r < 0.495 or r > 0.995
        age = age_pool[int(rnd() * n_age)]
        dob_off = int((age + rnd()) * 365.2425)
        if age < 18 and parent is not None and rnd() < p_family:
            last_i, email, lang, qc, phone, postal = parent
            family, parent = True, None
        else:
            family, last_i = False, last_pool[int(rnd() * n_last)]
        pool = first_pools[2 * ((lang == "fr") ^ (rnd() < 0.1)) + female]
        first_i = pool[int(rnd() * len(pool))]
        nick_k = int(rnd() * len(nicknames[first_i])) if rnd() < nick_p[first_i] else -1
        if not family:
            if rnd() < p_email:
                first_f = nicks_fold[first_i][nick_k] if nick_k >= 0 and rnd() < 0.5 else first_fold[first_i]
                last_f = last_fold[last_i]
                k = int(rnd() * 50)
                pattern = k % 5
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
                seen = email_seen.get(local, 0) + 1
                email_seen[local] = seen
                email = f"{local}{seen}@{domains[k // 5]}" if seen > 1 else f"{local}@{domains[k // 5]}"
            else:
                email = None
            phone = (phones_qc if qc else phones_on)[int(rnd() * 800)] if rnd() < p_phone else None
            if rnd() < p_postal:
                postal = (fsas_qc[int(rnd() * 600)] if qc else fsas_on[int(rnd() * 1000)]) + ldus[
                    int(rnd() * 2000)
                ]
            else:
                postal = None
            if email is not None and 25 <= age <= 60:
                parent = (last_i, email, lang, qc, phone, postal)
        p = new(cls)
        if qc:
            key = ((l3_id[last_i] * 26 + f1_id[first_i]) << 16) + dob_off
            nn = ramq_seen.get(key)
            if nn is None:
                nn = int(rnd() * 100)
            ramq_seen[key] = (nn + 1) % 100
            ymd = f"{(yymm_f if sex == 'F' else yymm_m)[dob_off]} {dd[dob_off]}{nn_s[nn]}"
            s_health(p, f"{l3[last_i]}{f1[first_i]} {ymd}")
            s_prov(p, "QC")
            s_version(p, "")
        else:
            x = (i * _ON_STEP + on_offset) % _ON_SPACE + 100_000_000
            a, b, c = x // 1_000_000, x // 1000 % 1000, x % 1000
            b_s, c_s = d3[b], d3[c]
            s_health(p, f"{a}{b_s[0]} {b_s[1:]}{c_s[0]} {c_s[1:]}{-(dsd[a] + sds[b] + dsd[c]) % 10}")
            s_prov(p, "ON")
            s_version(p, versions[int(rnd() * 676)] if rnd() < p_version else "")
        if email is not None and rnd() < p_consent:
            marketing = rnd() < p_marketing
            s_consent(p, True)
            s_consent_at(p, stamps[int(rnd() * 4096)])
            s_mkt(p, marketing)
            s_mkt_at(p, stamps[int(rnd() * 4096)] if marketing else None)
        else:
            s_consent(p, False)
            s_consent_at(p, None)
            s_mkt(p, False)
            s_mkt_at(p, None)
        if rnd() < p_visit:
            r = rnd()
            s_visit(p, days[min(int(r * r * 1096), dob_off)])
        else:
            s_visit(p, None)
        s_chart(p, str(start_chart + i))
        s_last(p, last_names[last_i])
        s_first(p, first_names[first_i])
        s_pref(p, nicknames[first_i][nick_k] if nick_k >= 0 else None)
        s_dob(p, days[dob_off])
        s_sex(p, sex)
        s_lang(p, lang)
        s_email(p, email)
        s_push(p, rnd() < p_push)
        s_phone(p, phone)
        s_postal(p, postal)
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
