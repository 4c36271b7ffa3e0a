"""PO-1 identity check, lock-out and PT-5 clear lock-out, PO-8 session cookie, over HTTP."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select

from core.db.models import Message, PortalSession
from core.portal.access import clear_lockout, locked_links
from core.portal.sessions import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT
from tests.portal.conftest import DOB, csrf_of, sign_in

WRONG = {"date_of_birth": "1984-03-01"}


def failure_page(client, token: str, answers: dict[str, str]) -> tuple[int, str]:
    response = sign_in(client, token, answers)
    return response.status_code, response.text.replace(csrf_of(response.text), "CSRF")


def test_right_date_opens_a_session_with_a_strict_http_only_cookie(clinic, client) -> None:
    token = clinic.send()
    page = client.get(f"/m/{token}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/check"
    assert token not in str(page.headers)
    response = sign_in(client, token)
    assert response.status_code == 200 and "Résultats d&#39;analyse" in response.text
    cookie = [h for h in response.history[0].headers.get_list("set-cookie") if h.startswith("accueil_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    with clinic.app.uow() as uow:
        stored = uow.session.scalar(select(PortalSession.token_hash))
    assert stored == hashlib.sha256(value.encode()).digest()  # only the hash is kept


def test_wrong_token_wrong_patient_wrong_answer_look_the_same(clinic, client) -> None:
    token = clinic.send()
    other = clinic.send(clinic.emile)
    wrong_answer = failure_page(client, token, WRONG)
    unknown = failure_page(client, "x" * 43, WRONG)
    # Émile's link with Zoé's answers: the same birth date, so use his link with a wrong one.
    other_patient = failure_page(client, other, {"date_of_birth": "1990-01-01"})
    assert wrong_answer == unknown == other_patient
    assert wrong_answer[0] == 200 and "could not confirm" in wrong_answer[1]


def test_sixth_failure_locks_even_with_the_right_date_until_staff_clear_it(clinic, client) -> None:
    token = clinic.send()
    for _ in range(5):
        assert "could not confirm" in sign_in(client, token, WRONG).text
    assert "Link locked" in sign_in(client, token, WRONG).text
    locked = sign_in(client, token)
    assert "Link locked" in locked.text and "accueil_session" not in client.cookies
    with clinic.app.uow() as uow:
        assert len(locked_links(uow, clinic.zoe)) == 1
    with clinic.app.uow(write=True) as uow:
        assert clear_lockout(uow, clinic.zoe) == 1
    assert "Résultats" in sign_in(client, token).text


def test_an_unknown_link_locks_after_six_failures_like_a_real_one(clinic, client) -> None:
    fake = "y" * 43
    pages = [sign_in(client, fake, WRONG).text for _ in range(6)]
    assert all("could not confirm" in page for page in pages[:5]) and "Link locked" in pages[5]


def test_a_new_message_gives_a_fresh_unlocked_link(clinic, client) -> None:
    token = clinic.send()
    for _ in range(6):
        sign_in(client, token, WRONG)
    fresh = clinic.send()
    assert "Link locked" in sign_in(client, token).text
    assert "Résultats" in sign_in(client, fresh).text


def test_other_validators_chosen_at_send(clinic, client) -> None:
    token = clinic.send(identity_checks=("health_number", "password"), password="Érable-42")
    form = client.get(f"/m/{token}").text
    assert 'name="health_number"' in form and 'name="password"' in form and 'name="date_of_birth"' not in form
    assert "could not confirm" in sign_in(client, token, {"health_number": "1234567890", "password": "x"}).text
    ok = sign_in(client, token, {"health_number": "1234 567 890", "password": "Érable-42"})
    assert "Résultats" in ok.text


def test_chart_id_validator(clinic, client) -> None:
    token = clinic.send(identity_checks=("chart_id",))
    assert "could not confirm" in sign_in(client, token, {"chart_id": "A-200"}).text
    assert "Résultats" in sign_in(client, token, {"chart_id": "a-100"}).text


def test_idle_session_ends_and_gets_the_generic_page(clinic, client) -> None:
    token = clinic.send()
    sign_in(client, token)
    assert client.get("/inbox").status_code == 200
    with clinic.app.uow(write=True) as uow:
        row = uow.session.scalar(select(PortalSession))
        row.last_seen_at -= IDLE_TIMEOUT + timedelta(minutes=1)
        uow.commit()
    response = client.get("/inbox")
    assert response.status_code == 404 and "no longer available" in response.text


def test_expired_link_gets_the_generic_page_even_with_the_right_date(clinic, client) -> None:
    token = clinic.send()
    page = client.get(f"/m/{token}")
    with clinic.app.uow(write=True) as uow:
        message = uow.session.scalar(select(Message))
        message.token_expires_at = message.created_at - timedelta(days=1)
        uow.commit()
    late = client.post("/check", data={"csrf": csrf_of(page.text), "date_of_birth": DOB.isoformat()})
    assert late.status_code == 404 and "no longer available" in late.text and "accueil_session" not in client.cookies
    opened = client.get(f"/m/{token}")
    assert opened.status_code == 404 and "no longer available" in opened.text


def test_forms_without_csrf_are_refused(clinic, client) -> None:
    token = clinic.send()
    client.get(f"/m/{token}")
    response = client.post("/check", data={"csrf": "forged", "date_of_birth": DOB.isoformat()})
    assert response.status_code == 403
    sign_in(client, token)
    assert client.post("/signout", data={"csrf": "forged"}).status_code == 403


def test_rate_limit_per_address(clinic, client) -> None:
    statuses = [sign_in(client, f"{n:043d}", WRONG).status_code for n in range(31)]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429


def test_an_oversized_identity_form_is_refused_before_parsing(clinic, client) -> None:
    token = clinic.send()
    page = client.get(f"/m/{token}")
    response = client.post("/check", data={"csrf": csrf_of(page.text), "date_of_birth": "x" * 20_000})
    assert response.status_code == 413


def test_absolute_time_out_ends_even_an_active_session(clinic, client) -> None:
    sign_in(client, clinic.send())
    with clinic.app.uow(write=True) as uow:
        row = uow.session.scalar(select(PortalSession))
        row.created_at -= ABSOLUTE_TIMEOUT + timedelta(minutes=1)  # opened too long ago, but seen just now
        uow.commit()
    response = client.get("/inbox")
    assert response.status_code == 404 and "no longer available" in response.text
    with clinic.app.uow() as uow:
        assert uow.session.scalar(select(PortalSession.revoked_at)) is not None


def test_only_consecutive_failures_lock(clinic, client) -> None:
    token = clinic.send()
    for _ in range(5):
        sign_in(client, token, WRONG)
    assert "Résultats" in sign_in(client, token).text  # a success starts the count again
    client.cookies.delete("accueil_session")
    for _ in range(5):
        assert "could not confirm" in sign_in(client, token, WRONG).text
    assert "Link locked" in sign_in(client, token, WRONG).text


def test_another_patients_answers_look_like_a_wrong_answer(clinic, client) -> None:
    token = clinic.send(identity_checks=("health_number", "chart_id"))
    wrong = failure_page(client, token, {"health_number": "1111 111 111", "chart_id": "A-999"})
    emiles = failure_page(client, token, {"health_number": "9876 543 210", "chart_id": "A-200"})
    assert wrong == emiles and wrong[0] == 200 and "could not confirm" in wrong[1]


def test_rate_limit_per_link(clinic, client) -> None:
    token = clinic.send()
    statuses = [sign_in(client, token, WRONG).status_code for _ in range(13)]
    assert statuses[:12] == [200] * 12 and statuses[12] == 429
    assert sign_in(client, clinic.send(), WRONG).status_code == 200  # another link from the same address
