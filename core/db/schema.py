"""Schema versions: tell an empty, current, older or newer database apart, and upgrade.

Checking is a single query on ``alembic_version`` so that opening the app costs nothing;
alembic itself is imported only when an upgrade is really needed.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, inspect, text

from core.errors import AccueilError

# Every revision, oldest first. A test checks this list against the migration scripts.
REVISIONS: tuple[str, ...] = ("0001", "0002", "0006", "0007", "0008", "0010", "0011", "0015", "0016")
HEAD = REVISIONS[-1]
MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaError(AccueilError):
    pass


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def schema_state(engine: Engine) -> str:
    """'empty', 'current', 'behind' or 'ahead' (a schema newer than this code)."""
    revision = current_revision(engine)
    if revision is None:
        return "empty"
    if revision == HEAD:
        return "current"
    if revision in REVISIONS:
        return "behind"
    return "ahead"


def upgrade(engine: Engine) -> str:
    """Bring the schema to HEAD; refuse a schema newer than the code. Returns the old state."""
    state = schema_state(engine)
    if state == "ahead":
        raise SchemaError(
            "The database schema is newer than this version of Accueil "
            f"(database at {current_revision(engine)}, code at {HEAD}): upgrade Accueil.",
        )
    if state == "current":
        return state
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return state


def ensure_current(engine: Engine, *, auto_upgrade: bool) -> None:
    """The start-up check: upgrade the embedded database, refuse anything else out of step."""
    state = schema_state(engine)
    if state == "current":
        return
    if state == "ahead" or not auto_upgrade:
        if state == "ahead":
            upgrade(engine)  # raises the clear error
        raise SchemaError(
            f"The database schema is {'empty' if state == 'empty' else 'out of date'}: run `accueil db upgrade`.",
        )
    upgrade(engine)
