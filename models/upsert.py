"""Idempotent writes: ``INSERT … ON CONFLICT`` on SQLite and PostgreSQL behind one interface.

Many crawler processes write to one archive. A row that several of them may create at the
same moment (a source, a raw body, a report, an address a report was seen at) is written
with the database's own conflict handling instead of "look, then insert", so the loser of a
race neither fails nor creates a duplicate: the unique constraint decides, the statement
waits for the winner (PostgreSQL) or runs after it (SQLite's single writer), and the row is
then read back. Both dialects' ``insert()`` constructs come from SQLAlchemy itself
(``sqlalchemy.dialects.{sqlite,postgresql}.insert``); nothing here is hand-rolled SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from nianbao.models.prepared import Prepared
from nianbao.models.tables import Blob, Report, ReportUrl, Source


def _insert(session: Session, table: Any) -> Any:
    """The dialect's ``insert()``, which has ``on_conflict_do_nothing/update``."""
    return _insert_for(session.get_bind().dialect, table)


def _insert_for(dialect: Dialect, table: Any) -> Any:
    """:func:`_insert` for a dialect (a prepared statement is built before any session)."""
    if dialect.name == "postgresql":
        return postgresql.insert(table)
    if dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no idempotent insert for the {dialect.name!r} dialect")


# Statements built once per dialect and table, their values bound at execution: building
# an ``INSERT … ON CONFLICT`` and its cache key each time was most of a small write's cost.
_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _ignoring(session: Session, table: Any, conflict: Sequence[str]) -> Any:
    key = ("ignore", session.get_bind().dialect.name, table.name, tuple(conflict))
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = _insert(session, table).on_conflict_do_nothing(index_elements=list(conflict))
        _STATEMENTS[key] = stmt
    return stmt


def insert_ignore(
    session: Session, table: Any, values: dict[str, Any], conflict: Sequence[str]
) -> bool:
    """Insert ``values`` unless a row with the same ``conflict`` columns exists.

    Returns whether this call inserted the row.
    """
    result = session.execute(_ignoring(session, table, conflict), values)
    assert isinstance(result, CursorResult)
    return bool(result.rowcount)


def ensure_source(session: Session, name: str, values: dict[str, Any]) -> Source:
    """The source called ``name``, created with ``values`` if no process has created it yet."""
    source = session.scalars(_SOURCE, {"name": name}).one_or_none()
    if source is None:  # look first: an existing row costs no write and no sequence value
        insert_ignore(session, Source.__table__, {"name": name, **values}, ["name"])
        query = _SOURCE.execution_options(populate_existing=True)
        source = session.scalars(query, {"name": name}).one()
    return source


_SOURCE = select(Source).where(Source.name == bindparam("name"))


_HAS_BLOB = select(Blob.__table__.c.sha256).where(Blob.__table__.c.sha256 == bindparam("sha"))


def has_blob(session: Session, sha256: str) -> bool:
    return session.execute(_HAS_BLOB, {"sha": sha256}).scalar() is not None


def ensure_blob(session: Session, sha256: str, size: int, compression: str, data: bytes) -> bool:
    """Store a raw body once per SHA-256; returns whether this call stored it."""
    values = {"sha256": sha256, "size": size, "compression": compression, "data": data}
    return bool(_NEW_BLOB.run(session, values).rowcount)


# Every report write runs these two: prepared (:mod:`models.prepared`), not executed by
# the session, whose machinery cost more CPU than the database's work.
_NEW_BLOB = Prepared(
    lambda d: _insert_for(d, Blob.__table__).on_conflict_do_nothing(index_elements=["sha256"]),
    ["sha256", "size", "compression", "data"],
)


def _touch(dialect: Dialect) -> Any:
    table = ReportUrl.__table__
    stmt = _insert_for(dialect, table)
    later = func.greatest if dialect.name == "postgresql" else func.max
    return stmt.on_conflict_do_update(
        index_elements=["report_id", "url"],
        set_={"last_seen": later(table.c.last_seen, stmt.excluded.last_seen)},
    )


_TOUCH = Prepared(_touch, ["report_id", "url", "first_seen", "last_seen"])


REPORT_COLUMNS = (
    "source_id", "key", "organ", "year", "title", "url", "first_seen", "last_seen",
    "withdrawn_at", "withdrawn_reason", "linked_from",
)  # fmt: skip
_NEW_REPORT = Prepared(
    lambda d: _insert_for(d, Report.__table__).on_conflict_do_nothing(
        index_elements=["source_id", "key"]
    ),
    REPORT_COLUMNS,
    new_id=True,
)


def insert_report(session: Session, values: dict[str, Any]) -> int | None:
    """Insert the report ``values`` describe (every column of :data:`REPORT_COLUMNS`)
    unless another writer has inserted ``(source_id, key)`` first: the new row's id, or
    None (then :func:`report_by_key` reads and locks the winner's).

    A row this transaction inserts is its own until the commit (PostgreSQL locks it; on
    SQLite ``BEGIN IMMEDIATE`` admits one writer at a time), as :func:`report_by_key` and
    :func:`lock_report` lock a row found: writers of one report take turns, so the second
    of two concurrent captures sees the version the first one wrote and extends it instead
    of adding a duplicate. Nothing is read back and no ORM object is made: the caller has
    the values (building and tracking a :class:`Report` for a row the job never changes
    was a tenth of a first crawl's report write, 2026-12-02)."""
    return _NEW_REPORT.run(session, values)


def report_by_key(session: Session, source_id: int, key: str) -> Report | None:
    """The report ``(source_id, key)``, locked for this transaction, if there is one."""
    return session.scalars(_REPORT, {"source": source_id, "key": key}).one_or_none()


_REPORT = (
    select(Report)
    .where(Report.source_id == bindparam("source"), Report.key == bindparam("key"))
    .with_for_update()
    .execution_options(populate_existing=True)
)
_LOCK_REPORT = (
    select(Report)
    .where(Report.id == bindparam("id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def lock_report(session: Session, report_id: int) -> Report:
    """The report ``report_id``, with the row lock :func:`insert_report` takes, for a
    report found another way."""
    return session.scalars(_LOCK_REPORT, {"id": report_id}).one()


def touch_report_url(session: Session, report_id: int, url: str, when: datetime) -> None:
    """Record that ``report_id`` was seen at ``url`` at ``when`` (first/last seen kept)."""
    _TOUCH.run(session, {"report_id": report_id, "url": url, "first_seen": when, "last_seen": when})


def upsert_rows(
    session: Session,
    table: Any,
    rows: list[dict[str, Any]],
    conflict: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert ``rows`` in one statement; a row whose ``conflict`` columns exist overwrites
    that row's ``update`` columns (last writer wins). No two rows may share a key."""
    stmt = _insert(session, table).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(conflict), set_={c: stmt.excluded[c] for c in update}
    )
    session.execute(stmt)
