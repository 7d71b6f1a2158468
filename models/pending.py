"""Taking a batch off a queue of versions a busy writer put off (one row a version id).

The near-duplicate queue (migration 0014, :mod:`models.neardup`) and the table-cells queue
(0016, :mod:`models.figures`) are worked off the same way; the search index's (0013) is
SQLite's own SQL beside an FTS5 table (:mod:`models.search`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session


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
