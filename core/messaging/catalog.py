"""The clinic's eForm catalogue: the built-in forms are written into every new clinic."""

from __future__ import annotations

import copy

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import EForm
from core.messaging.builtin_forms import BUILTIN_FORMS
from core.messaging.eforms import FormDefinition


def ensure_builtin_forms(session: Session) -> int:
    """Add the built-in forms that are missing; returns how many were added."""
    present = set(session.scalars(select(EForm.code)))
    added = 0
    for code, title_en, title_fr, definition in BUILTIN_FORMS:
        if code in present:
            continue
        FormDefinition.from_data(definition)  # a broken built-in must fail loudly, here
        session.add(EForm(code=code, title_en=title_en, title_fr=title_fr, definition=copy.deepcopy(definition),
                          built_in=True))
        added += 1
    session.flush()
    return added
