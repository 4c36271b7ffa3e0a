"""MS-7 on both backends: licensed providers, nurses as providers, three support staff per licence."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db.models import User
from core.errors import InvalidInput
from core.licences import NotAllowedToSend, check_can_send, enable_support_staff, grant_licence, list_licences
from core.users import add_user, disable_user


@pytest.fixture
def staff(app):
    with app.uow(write=True) as uow:
        add_user(uow, username="drcote", display_name="Dre Zoé Côté", role="provider", password=None)
        add_user(uow, username="drlee", display_name="Dr Owen Lee", role="provider", password=None)
        add_user(uow, username="inf.roy", display_name="Chloé Roy", role="nurse", password=None)
        for n, role in enumerate(("moa", "administrator", "resident", "medical_student")):
            add_user(uow, username=f"staff{n}", display_name=f"Staff {n}", role=role, password=None)
    return app


def user_id(app, username: str) -> int:
    with app.uow() as uow:
        return uow.session.scalar(select(User.id).where(User.username == username))


def can_send(app, username: str) -> str | None:
    with app.uow() as uow:
        try:
            check_can_send(uow.session, user_id(app, username))
        except NotAllowedToSend as exc:
            return exc.message
    return None


def test_provider_needs_a_licence(staff) -> None:
    assert "needs a patient-engagement licence" in can_send(staff, "drcote")
    with staff.uow(write=True) as uow:
        grant_licence(uow, "drcote")
    assert can_send(staff, "drcote") is None
    assert can_send(staff, "drlee") is not None


def test_nurse_can_hold_a_licence_as_provider(staff) -> None:
    assert "not enabled by any licence" in can_send(staff, "inf.roy")
    with staff.uow(write=True) as uow:
        grant_licence(uow, "inf.roy")
    assert can_send(staff, "inf.roy") is None


def test_fourth_support_staff_is_refused_naming_the_licence(staff) -> None:
    with staff.uow(write=True) as uow:
        licence = grant_licence(uow, "drcote")
    for n in range(3):
        with staff.uow(write=True) as uow:
            enable_support_staff(uow, licence, f"staff{n}")
        assert can_send(staff, f"staff{n}") is None
    with staff.uow(write=True) as uow, pytest.raises(NotAllowedToSend) as caught:
        enable_support_staff(uow, licence, "staff3")
    assert "Dre Zoé Côté" in caught.value.message and "3 support staff" in caught.value.message
    assert "not enabled" in can_send(staff, "staff3")
    with staff.uow() as uow:
        [summary] = list_licences(uow.session)
    assert len(summary.enabled_staff) == 3


def test_only_providers_and_nurses_hold_licences(staff) -> None:
    with staff.uow(write=True) as uow, pytest.raises(InvalidInput, match="Only a provider"):
        grant_licence(uow, "staff0")


def test_support_staff_stop_when_the_licence_holder_is_disabled(staff) -> None:
    with staff.uow(write=True) as uow:
        licence = grant_licence(uow, "drcote")
    with staff.uow(write=True) as uow:
        enable_support_staff(uow, licence, "staff0")
    assert can_send(staff, "staff0") is None
    with staff.uow(write=True) as uow:
        disable_user(uow, "drcote")
    refusal = can_send(staff, "staff0")
    assert "Dre Zoé Côté" in refusal and "disabled account" in refusal


def test_the_refusals_read_in_the_users_language(staff) -> None:
    from core.i18n import set_language

    with staff.uow(write=True) as uow:
        licence = grant_licence(uow, "drcote")
    for n in range(3):
        with staff.uow(write=True) as uow:
            enable_support_staff(uow, licence, f"staff{n}")
    try:
        set_language("fr")
        with staff.uow(write=True) as uow, pytest.raises(NotAllowedToSend) as caught:
            enable_support_staff(uow, licence, "staff3")
        with staff.uow(write=True) as uow, pytest.raises(InvalidInput) as refused:
            grant_licence(uow, "drcote")
    finally:
        set_language("en")
    assert caught.value.message.startswith("La licence de Dre Zoé Côté active déjà 3 membres")
    assert refused.value.message == "Dre Zoé Côté détient déjà une licence."
