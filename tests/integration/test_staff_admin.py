"""SI-5 staff administration on both backends: roles, permissions, delegates, licences, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, update

from core.db.models import AuditEntry, Provider, User
from core.errors import InvalidInput, NotFound
from core.licences import enable_support_staff, grant_licence
from core.staff_admin import licence_of, list_staff, set_delegates, set_flag, set_role
from core.users import add_user


@pytest.fixture
def staff(app):
    with app.uow(write=True) as uow:  # the person running the tests administers the clinic
        add_user(uow, username="adele", display_name="Adèle D'Amours", role="administrator", password=None,
                 os_user=app.actor)
    for username, role in (("dre.leclerc", "provider"), ("moa.benoit", "moa"), ("nadia", "nurse")):
        with app.uow(write=True) as uow:
            add_user(uow, username=username, display_name=username.title(), role=role, password=None)
    with app.uow(write=True) as uow:
        grant_licence(uow, "dre.leclerc")
    with app.uow(write=True) as uow:
        user_id = next(r.id for r in list_staff(uow.session) if r.username == "dre.leclerc")
        uow.session.execute(insert(Provider), [{"emr_id": "PR7", "display_name": "Dre Leclerc", "user_id": user_id}])
        uow.commit()
    return app


def rows(app):
    with app.uow() as uow:
        return {r.username: r for r in list_staff(uow.session)}


def test_roles_permissions_delegates_and_licences(staff) -> None:
    app = staff
    with app.uow(write=True) as uow:
        enable_support_staff(uow, licence_of(uow.session, "dre.leclerc"), "moa.benoit")
    with app.uow(write=True) as uow:
        set_flag(uow, "moa.benoit", "campaigns", True)
    with app.uow(write=True) as uow:
        assert set_delegates(uow, "dre.leclerc", ["adjointe@clinique.example.org", " ",
                                                  "ADJOINTE@clinique.example.org", "secr@clinique.example.org"]) \
            == ("adjointe@clinique.example.org", "secr@clinique.example.org")
    with app.uow(write=True) as uow:
        set_role(uow, "nadia", "Operator")
    with app.uow(write=True) as uow:
        set_flag(uow, "nadia", "active", False)
    found = rows(app)
    leclerc, benoit, nadia = found["dre.leclerc"], found["moa.benoit"], found["nadia"]
    assert (leclerc.holds_licence, leclerc.linked, len(leclerc.delegates)) == (True, True, 2)
    assert (benoit.enabled_by, benoit.can_campaigns, benoit.linked) == ("Dre.Leclerc", True, False)
    assert (nadia.role, nadia.is_operator, nadia.active) == ("operator", True, False)
    with app.uow() as uow:
        actions = uow.session.scalars(select(AuditEntry.action)).all()
    assert {"user.campaigns", "user.delegates", "user.role", "user.active"} <= set(actions)


def test_bad_values_are_refused(staff) -> None:
    with staff.uow(write=True) as uow, pytest.raises(InvalidInput):
        set_role(uow, "nadia", "surgeon")
    with staff.uow(write=True) as uow, pytest.raises(InvalidInput):
        set_delegates(uow, "nadia", ["pas une adresse"])
    with staff.uow(write=True) as uow, pytest.raises(NotFound):
        licence_of(uow.session, "moa.benoit")
    with staff.uow(write=True) as uow, pytest.raises(NotFound):
        set_flag(uow, "personne", "active", True)


def test_only_an_administrator_changes_accounts(staff) -> None:
    app = staff
    with app.uow(write=True) as uow:
        set_role(uow, "adele", "nurse")  # adele steps down: the runner is no administrator any more
    for change in (lambda uow: set_role(uow, "nadia", "provider"),
                   lambda uow: set_flag(uow, "nadia", "campaigns", True),
                   lambda uow: set_delegates(uow, "nadia", ["aide@clinique.example.org"])):
        with app.uow(write=True) as uow, pytest.raises(InvalidInput, match="Only an administrator"):
            change(uow)
    nadia = rows(app)["nadia"]
    assert (nadia.role, nadia.can_campaigns, nadia.delegates) == ("nurse", False, ())


def test_a_role_change_keeps_a_separately_granted_operator_flag(staff) -> None:
    app = staff
    with app.uow(write=True) as uow:
        uow.session.execute(update(User).where(User.username == "nadia").values(is_operator=True))
        uow.commit()
    with app.uow(write=True) as uow:
        set_role(uow, "nadia", "moa")
    assert rows(app)["nadia"].is_operator
    with app.uow(write=True) as uow:
        set_role(uow, "moa.benoit", "operator")
    with app.uow(write=True) as uow:
        set_role(uow, "moa.benoit", "moa")
    assert not rows(app)["moa.benoit"].is_operator
