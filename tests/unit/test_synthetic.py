"""Unit tests for core.synthetic: fictional patients and staff, and the ``fold`` search key."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import synthetic
from core.synthetic import SyntheticPatient, SyntheticPerson, fold, synthetic_patients, synthetic_staff

TODAY = date(2025, 6, 1)


@pytest.fixture(scope="module")
def five_k() -> list[SyntheticPatient]:
    return list(synthetic_patients(5_000, seed=11, today=TODAY))


@pytest.fixture(scope="module")
def twenty_k() -> list[SyntheticPatient]:
    return list(synthetic_patients(20_000, seed=5, today=TODAY))


def luhn_ok(digits: str) -> bool:
    """Plain Luhn check, written independently of the generator's lookup tables."""
    total = 0
    for pos, ch in enumerate(reversed(digits)):
        d = int(ch)
        if pos % 2 == 1:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0


def share(rows: list[SyntheticPatient], pred: Callable[[SyntheticPatient], bool]) -> float:
    return sum(1 for p in rows if pred(p)) / len(rows)


def test_luhn_helper_rejects_a_wrong_check_digit() -> None:
    assert luhn_ok("9876543217") and not luhn_ok("9876543218")


# --- fold ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Côté", "cote"), ("Coté", "cote"), ("O'Neil", "oneil"), ("St-Pierre", "stpierre"),
        ("Mc Donald", "mcdonald"), ("Ste-Marie", "stemarie"), ("L'Heureux", "lheureux"),
        ("D’Amours", "damours"), ("Marie-Ève", "marieeve"), ("Gaëtan", "gaetan"), ("J.-F.", "jf"),
        ("Œuvre", "oeuvre"), ("cœur", "coeur"), ("Lætitia", "laetitia"), ("Æsop", "aesop"),
        ("Straße", "strasse"), ("Søren", "soren"), ("Łukasz", "lukasz"), ("ÉLODIE", "elodie"),
        ("514-555-0123", "5145550123"), ("日本", ""), ("", ""),
    ],
)  # fmt: skip
def test_fold_examples(text: str, key: str) -> None:
    assert fold(text) == key


@given(st.text())
def test_fold_keeps_only_ascii_letters_and_digits_and_is_idempotent(text: str) -> None:
    key = fold(text)
    assert re.fullmatch(r"[a-z0-9]*", key)
    assert fold(key) == key


@given(st.from_regex(r"[a-z0-9]{0,20}", fullmatch=True))
def test_fold_leaves_a_folded_key_alone(text: str) -> None:
    assert fold(text) == text


# --- patients: structure and determinism ---------------------------------------------------------------
def test_same_seed_gives_the_same_patients_and_another_seed_does_not() -> None:
    first = list(synthetic_patients(300, seed=42, today=TODAY))
    assert first == list(synthetic_patients(300, seed=42, today=TODAY))
    assert first != list(synthetic_patients(300, seed=43, today=TODAY))


def test_chart_ids_are_consecutive_from_start_chart_and_unique() -> None:
    rows = list(synthetic_patients(2_000, start_chart=7_000, today=TODAY))
    assert [p.chart_id for p in rows] == [str(7_000 + k) for k in range(2_000)]
    assert len({p.chart_id for p in rows}) == 2_000


def test_counts_and_bad_n() -> None:
    assert list(synthetic_patients(0, today=TODAY)) == []
    assert len(list(synthetic_patients(17, today=TODAY))) == 17
    with pytest.raises(ValueError):
        synthetic_patients(-1)


def test_rows_are_complete_frozen_synthetic_patients(five_k: list[SyntheticPatient]) -> None:
    p = five_k[0]
    assert type(p) is SyntheticPatient
    assert all(dataclasses.replace(q) == q for q in five_k[:500])  # every slot is set
    assert hash(p) == hash(dataclasses.replace(p))
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.last_name = "Autre"  # type: ignore[misc]


# --- health numbers ----------------------------------------------------------------------------------
def test_ontario_numbers_pass_the_mod10_check(twenty_k: list[SyntheticPatient]) -> None:
    ontario = [p for p in twenty_k if p.health_province == "ON"]
    assert len(ontario) > 5_000
    for p in ontario:
        assert re.fullmatch(r"[1-9]\d{3} \d{3} \d{3}", p.health_number), p.health_number
        assert luhn_ok(p.health_number.replace(" ", "")), p.health_number
        assert re.fullmatch(r"([A-Z]{2})?", p.health_version)
    versions = Counter(bool(p.health_version) for p in ontario)
    assert versions[True] > 0 and versions[False] > 0


def test_ramq_codes_match_name_birth_date_and_sex(twenty_k: list[SyntheticPatient]) -> None:
    quebec = [p for p in twenty_k if p.health_province == "QC"]
    assert len(quebec) > 5_000
    padded = 0
    for p in quebec:
        assert re.fullmatch(r"[A-Z]{4} \d{4} \d{4}", p.health_number), p.health_number
        assert p.health_version == ""
        last = fold(p.last_name)
        letters = (last[:3] + "XX")[:3].upper() + fold(p.first_name)[0].upper()
        padded += len(last) < 3
        month = p.date_of_birth.month + (50 if p.sex == "F" else 0)
        dob = f"{p.date_of_birth.year % 100:02d}{month:02d} {p.date_of_birth.day:02d}"
        assert p.health_number[:12] == f"{letters} {dob}", (p.health_number, p)
    assert padded > 0  # short names such as Li or Ng are padded with X
    assert any(p.sex == "F" and int(p.health_number[7:9]) > 50 for p in quebec)


def test_health_numbers_are_unique_within_a_run(twenty_k: list[SyntheticPatient]) -> None:
    assert len({(p.health_province, p.health_number) for p in twenty_k}) == len(twenty_k)


def test_ramq_suffixes_keep_namesakes_born_the_same_day_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synthetic, "_LAST_POOL", (synthetic._LAST.index("Tremblay"),) * (1 << 14))
    monkeypatch.setattr(synthetic, "_AGE_POOL", (30,) * (1 << 13))  # ~365 birth dates for everyone
    rows = list(synthetic_patients(6_000, today=TODAY))
    codes = Counter(p.health_number[:12] for p in rows if p.health_province == "QC")
    assert max(codes.values()) > 1  # same letters and birth date...
    assert len({p.health_number for p in rows}) == len(rows)  # ...but never the same number


# --- e-mails -----------------------------------------------------------------------------------------
def test_some_patients_share_a_family_mailbox(five_k: list[SyntheticPatient]) -> None:
    counts = Counter(p.email for p in five_k if p.email)
    shared = [p for p in five_k if p.email and counts[p.email] > 1]
    assert shared, "no shared e-mail in 5,000 patients"
    assert max(counts.values()) == 2  # pairs, never accidental collisions
    assert 0.01 < len(shared) / len(five_k) < 0.06
    by_email: dict[str, list[SyntheticPatient]] = {}
    for p in shared:
        by_email.setdefault(p.email or "", []).append(p)
    today = TODAY
    for parent, child in (sorted(pair, key=lambda p: p.date_of_birth) for pair in by_email.values()):
        assert parent.last_name == child.last_name and parent.phone == child.phone
        assert (today - child.date_of_birth).days < 18 * 366 <= (today - parent.date_of_birth).days


def test_emails_are_ascii_from_the_name_on_reserved_domains(twenty_k: list[SyntheticPatient]) -> None:
    with_email = [p for p in twenty_k if p.email]
    assert 0.80 < len(with_email) / len(twenty_k) < 0.90
    for p in with_email:
        email = p.email or ""
        assert email.isascii() and "'" not in email
        local, _, domain = email.partition("@")
        assert domain in {"example.com", "example.org", "example.net"}, email
        assert re.fullmatch(r"[a-z0-9._]+", local), email
        assert fold(p.last_name) in local, (email, p.last_name)
    assert {p.email.rsplit("@")[1] for p in with_email if p.email} == {
        "example.com",
        "example.org",
        "example.net",
    }
    assert any(p.email and "cote" in p.email for p in with_email if p.last_name in ("Côté", "Coté"))


# --- names -------------------------------------------------------------------------------------------
def test_names_with_accents_apostrophes_and_hyphens_are_present(five_k: list[SyntheticPatient]) -> None:
    last = {p.last_name for p in five_k}
    first = {p.first_name for p in five_k}
    assert any(not n.isascii() for n in last) and any(not n.isascii() for n in first)
    assert any("'" in n for n in last)
    assert any("-" in n for n in last) and any("-" in n for n in first)
    assert any(n.startswith(("Mc", "Mac")) for n in last) and any(n.startswith(("St-", "Ste-")) for n in last)
    assert len(last) >= 80 and len(first) >= 80


def test_cote_and_tremblay_weights(twenty_k: list[SyntheticPatient]) -> None:
    counts = Counter(p.last_name for p in twenty_k)
    n = len(twenty_k)
    assert 0.006 < counts["Côté"] / n < 0.014
    assert 0.006 < counts["Coté"] / n < 0.014
    assert 0.015 < counts["Tremblay"] / n < 0.025
    assert sum(fold(name).startswith("cote") for name in counts.elements()) / n > 0.015


def test_preferred_names_are_nicknames_for_about_one_in_ten(twenty_k: list[SyntheticPatient]) -> None:
    with_nick = [p for p in twenty_k if p.preferred_name is not None]
    assert 0.07 < len(with_nick) / len(twenty_k) < 0.13
    assert all(p.preferred_name and p.preferred_name != p.first_name for p in with_nick)
    pairs = {(p.first_name, p.preferred_name) for p in with_nick}
    assert ("Robert", "Bob") in pairs and ("Catherine", "Cathy") in pairs
    assert not ({("Robert", "Cathy"), ("Catherine", "Bob")} & pairs)


# --- other fields ------------------------------------------------------------------------------------
def test_field_formats(twenty_k: list[SyntheticPatient]) -> None:
    now = datetime.combine(TODAY, datetime.min.time(), UTC)
    for p in twenty_k:
        assert p.sex in {"F", "M", "X"} and p.language in {"fr", "en"}
        assert 0 <= (TODAY - p.date_of_birth).days < 101 * 366
        if p.phone is not None:
            assert re.fullmatch(r"\d{3}-555-01\d{2}", p.phone), p.phone
        if p.postal_code is not None:
            assert re.fullmatch(
                r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] \d[ABCEGHJ-NPRSTV-Z]\d", p.postal_code
            )
            assert p.postal_code[0] in ("GHJ" if p.health_province == "QC" else "KLMNP"), p
        assert (p.email_consent_at is not None) == p.email_consent
        assert (p.marketing_consent_at is not None) == p.marketing_consent
        assert not (p.email_consent or p.marketing_consent) or p.email is not None
        for stamp in (p.email_consent_at, p.marketing_consent_at):
            assert stamp is None or (stamp.tzinfo is UTC and now - timedelta(days=3 * 366) < stamp < now)
        if p.last_visit is not None:
            assert p.date_of_birth <= p.last_visit <= TODAY
            assert (TODAY - p.last_visit).days <= 3 * 366


def test_distributions(twenty_k: list[SyntheticPatient]) -> None:
    n = len(twenty_k)
    with_email = [p for p in twenty_k if p.email]
    assert 0.55 < share(with_email, lambda p: p.email_consent) < 0.65
    assert 0.25 < share(twenty_k, lambda p: p.marketing_consent) < 0.35
    assert 0.15 < share(twenty_k, lambda p: p.push_enabled) < 0.25
    assert 0.07 < share(twenty_k, lambda p: p.last_visit is None) < 0.13
    assert 0.004 < share(twenty_k, lambda p: p.sex == "X") < 0.02
    assert 0.4 < share(twenty_k, lambda p: p.sex == "F") < 0.6
    quebec = [p for p in twenty_k if p.health_province == "QC"]
    ontario = [p for p in twenty_k if p.health_province == "ON"]
    assert 0.3 < len(quebec) / n < 0.7
    assert 0.75 < share(quebec, lambda p: p.language == "fr") < 0.95
    assert 0.75 < share(ontario, lambda p: p.language == "en") < 0.95
    ages = Counter((TODAY - p.date_of_birth).days // 3653 for p in twenty_k)  # decades
    assert ages[0] > 0.1 * n and ages[9] > 0 and ages[3] > ages[9]


# --- staff -------------------------------------------------------------------------------------------
def test_synthetic_staff() -> None:
    staff = synthetic_staff(40)
    assert staff == synthetic_staff(40) and staff != synthetic_staff(40, seed=3)
    assert len(staff) == 40 and all(type(s) is SyntheticPerson for s in staff)
    many = synthetic_staff(400)
    assert len({(s.last_name, s.first_name) for s in many}) == 400  # distinct names
    assert {s.language for s in staff} == {"fr", "en"}
    patients = list(synthetic_patients(3_000, today=TODAY))
    assert {s.last_name for s in staff} <= {p.last_name for p in patients}
    assert synthetic_staff(0) == []
