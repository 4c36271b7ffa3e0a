"""Many rows in one statement: the bulk writes of a send to thousands of patients.

A send (compose, a campaign's Start) writes a few rows per patient into several tables. An
``executemany`` costs a statement per row on the server, and SQLAlchemy's multi-row VALUES a
parameter per value, which psycopg parses on the client (seconds for 5,000 rows). On PostgreSQL
these helpers ``COPY`` the rows in (through a temporary staging table when the insert needs
``ON CONFLICT``/``RETURNING``, or for an update): one statement, whatever the number of rows. Values go through each column's own
SQLAlchemy type first (UTC datetimes, JSON), exactly as ``insert(table)`` would, and Python-side
column defaults are applied the same way. On SQLite, where a statement costs no round trip,
they run one prepared statement through the driver's ``executemany``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import JSON, Column, Table, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


def _postgres(session: Session) -> Dialect | None:
    dialect = session.get_bind().dialect
    return dialect if dialect.name == "postgresql" else None


def _values(processors: list[Callable[[Any], Any] | None], names: list[str], row: dict[str, Any]) -> list[Any]:
    return [value if process is None or value is None else process(value)
            for process, value in zip(processors, (row[name] for name in names), strict=True)]


def _driver(session: Session) -> Any:
    """The driver's connection under the session's transaction (statements on it belong to it)."""
    dbapi = session.connection().connection.dbapi_connection
    assert dbapi is not None
    return dbapi


def _executemany(session: Session, table: Table, sql: str, names: list[str], rows: Sequence[dict[str, Any]]) -> int:
    """SQLite: the driver's own executemany (a C loop over one prepared statement), values processed
    as SQLAlchemy would; its per-row parameter handling costs more than SQLite's work."""
    dialect = session.get_bind().dialect
    processors = _processors(table, names, dialect)
    cursor = _driver(session).cursor()
    try:
        with _wrapped(dialect, sql):
            cursor.executemany(sql, [_values(processors, names, row) for row in rows])
        return int(cursor.rowcount)
    finally:
        cursor.close()


@contextmanager
def _wrapped(dialect: Dialect, sql: str) -> Iterator[None]:
    """The driver's errors as SQLAlchemy's (``IntegrityError`` and the rest), as ``session.execute`` raises them."""
    try:
        yield
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error) from exc


def _processors(table: Table, names: list[str], dialect: Dialect) -> list[Callable[[Any], Any] | None]:
    """Each column's bind processing as ``insert()`` applies it (JSON is sent as its text)."""
    found: list[Callable[[Any], Any] | None] = []
    for name in names:
        impl = table.c[name].type.dialect_impl(dialect)
        if isinstance(impl, JSON):
            found.append(lambda value: None if value is None else json.dumps(value))
        else:
            process = impl.bind_processor(dialect)
            found.append(None if process is None else _last_value(process))
    return found


def _last_value(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process`` remembering its last input: a send's rows share one moment (one datetime object)."""
    last: list[Any] = [object(), None]

    def run(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, process(value)
        return last[1]
    return run


def _copy(session: Session, table: Table, target: str, names: list[str], rows: list[dict[str, Any]],
          dialect: Dialect) -> None:
    """``COPY target (names) FROM STDIN`` of the rows, on the session's own connection and transaction."""
    processors = _processors(table, names, dialect)
    quote = dialect.identifier_preparer.quote
    sql = f"COPY {target} ({', '.join(quote(name) for name in names)}) FROM STDIN"
    with _wrapped(dialect, sql), _driver(session).cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(_values(processors, names, row))


_staging_count = 0


def _staging(session: Session, table: Table, names: list[str], rows: list[dict[str, Any]],
             dialect: Dialect) -> str:
    """A temporary table (dropped at commit) with ``names`` typed as in ``table``, holding the rows."""
    global _staging_count
    _staging_count += 1
    name = f"bulk_{table.name}_{_staging_count}"
    quote = dialect.identifier_preparer.quote
    session.execute(text(f"CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS SELECT "
                         f"{', '.join(quote(column) for column in names)} FROM {table.name} WITH NO DATA"))
    _copy(session, table, name, names, rows, dialect)
    return name


def _default(column: Column[Any]) -> Any:
    default = column.default
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]


def _with_defaults(table: Table, rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """Column names in a stable order, and every row with all of them: a column a row leaves out
    gets its Python-side default, as ``insert()`` would give it, or NULL."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    missing = [column.name for column in table.columns
               if column.name not in names and column.default is not None and not column.primary_key]
    names += missing
    if not missing and all(len(row) == len(names) for row in rows):
        return names, list(rows)
    fill = {name: table.c[name] for name in names}
    return names, [{name: row[name] if name in row else _default(fill[name]) for name in names} for row in rows]


def next_ids(session: Session, table: Table, count: int) -> list[int]:
    """``count`` new ids for ``table``, so rows can be inserted with :func:`insert_rows` (no
    ``RETURNING``) and still be known by id.

    PostgreSQL: from the table's sequence. SQLite: the ids SQLite itself would give next (one
    more than the largest), which only this transaction can use when it is a write transaction
    (``BEGIN IMMEDIATE``, as every send's unit of work is); in any other, a writer in between
    makes the insert fail (the snapshot is stale), never reuse an id.
    """
    if _postgres(session) is None:
        largest = session.execute(text(f"SELECT coalesce(max(id), 0) FROM {table.name}")).scalar_one()
        return list(range(int(largest) + 1, int(largest) + 1 + count))
    return list(session.execute(
        text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"),
        {"table": table.name, "count": count}).scalars())


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts of column values) in the caller's transaction, in one statement."""
    if not rows:
        return
    names, full = _with_defaults(table, rows)
    dialect = _postgres(session)
    if dialect is None:
        _executemany(session, table, f"INSERT INTO {table.name} ({', '.join(names)}) "
                                     f"VALUES ({', '.join('?' for _ in names)})", names, full)
    else:
        _copy(session, table, table.name, names, full, dialect)


def insert_returning(session: Session, table: Table, rows: Sequence[dict[str, Any]], returning: Sequence[str], *,
                     on_conflict_do_nothing: Sequence[str] = ()) -> list[tuple[Any, ...]]:
    """PostgreSQL only: :func:`insert_rows` with ``RETURNING`` (and optionally ``ON CONFLICT DO NOTHING``),
    through a staging table: ``INSERT … SELECT`` from it is one statement for the server."""
    dialect = _postgres(session)
    if dialect is None:
        raise ValueError("insert_returning is for PostgreSQL; use insert(...).returning(...) elsewhere")
    if not rows:
        return []
    names, full = _with_defaults(table, rows)
    staging = _staging(session, table, names, full, dialect)
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    conflict = (f" ON CONFLICT ({', '.join(quote(name) for name in on_conflict_do_nothing)}) DO NOTHING"
                if on_conflict_do_nothing else "")
    statement = (f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {staging}{conflict} "
                 f"RETURNING {', '.join(quote(name) for name in returning)}")
    return [tuple(row) for row in session.execute(text(statement))]


def update_rows(session: Session, table: Table, key: str, rows: Sequence[dict[str, Any]], *,
                where: str = "") -> int:
    """Set each row's values on the row whose ``key`` column matches; returns the rows changed.

    ``where`` is an extra SQL condition on the target table (e.g. ``"portal_reference IS NULL"``),
    written with the table's name. Every row must carry the same columns.
    """
    if not rows:
        return 0
    names = list(rows[0])
    if key not in names or any(len(row) != len(names) for row in rows):
        raise ValueError(f"each row needs its '{key}' and the same columns")
    dialect = _postgres(session)
    if dialect is None:
        ordered = [name for name in names if name != key] + [key]
        sets = ", ".join(f"{name} = ?" for name in ordered[:-1])
        extra = f" AND ({where})" if where else ""
        return _executemany(session, table, f"UPDATE {table.name} SET {sets} WHERE {key} = ?{extra}", ordered, rows)
    staging = _staging(session, table, names, list(rows), dialect)
    quote = dialect.identifier_preparer.quote
    sets = ", ".join(f"{quote(name)} = {staging}.{quote(name)}" for name in names if name != key)
    extra = f" AND ({where})" if where else ""
    result = session.execute(text(f"UPDATE {table.name} SET {sets} FROM {staging} "
                                  f"WHERE {table.name}.{quote(key)} = {staging}.{quote(key)}{extra}"))
    return int(getattr(result, "rowcount", 0) or 0)
