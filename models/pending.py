"""Taking a batch off a queue of versions a busy writer put off (one row a version id).

The near-duplicate queue (migration 0014, :mod:`models.neardup`) and the table-cells queue
(0016, :mod:`models.figures`) are worked off the same way; the search index's (0013) is
SQLite's own SQL beside an FTS5 table (:mod:`models.search`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

_COLLECTED = "nianbao_queued_versions"


def put(session: Session, table: Any, version_id: int) -> None:
    """Queue ``version_id`` on ``table``: inserted now, or, in a transaction that collects
    them (:func:`collect`: the crawl's writer), with the others at its end (:func:`write`),
    one statement a table for the batch instead of one a version and table (two of the
    nine statements of a new report's write). A look at the queue in that transaction
    does not see them before :func:`write`."""
    collected = session.info.get(_COLLECTED)
    if collected is None:
        session.execute(insert(table.__table__), [{"version_id": version_id}])
    else:
        collected.append((table, version_id))


def collect(session: Session) -> list[tuple[Any, int]]:
    """From now on in this session's transaction, :func:`put` collects; the caller must call
    :func:`write` before committing. Returns the list (a writer that rolls a savepoint back
    truncates it to its length before the savepoint)."""
    collected: list[tuple[Any, int]] = []
    session.info[_COLLECTED] = collected
    return collected


def write(session: Session) -> None:
    """Insert what :func:`put` collected, one statement a table."""
    collected = session.info.pop(_COLLECTED, None) or []
    rows: dict[Any, list[dict[str, int]]] = {}
    for table, version_id in collected:
        rows.setdefault(table, []).append({"version_id": version_id})
    for table, values in rows.items():
        session.execute(insert(table.__table__), values)


def take(session: Session, table: Any, limit: int | None) -> list[int]:
    """The ids of up to ``limit`` queued versions (oldest first), taken off ``table`` (a
    mapped class with a ``version_id`` key) with ``DELETE … RETURNING``: an idle crawl
    writer and ``nianbao index`` working at once never take one twice (PostgreSQL's second
    delete finds the rows gone; SQLite has one writer at a time)."""
    queued = select(table.version_id).order_by(table.version_id)
    if limit is not None:
        queued = queued.limit(limit)
    return sorted(
        session.scalars(
            delete(table)
            .where(table.version_id.in_(queued.scalar_subquery()))
            .returning(table.version_id)
        )
    )
