"""A version's statistics tables in the archive: stored, read, compared, checked.

The cells come from :mod:`pipelines.figures` (pure parsing of the clean text); the rules
from :mod:`pipelines.rules`. Cells are derived data: :func:`store` replaces a version's
cells whenever its text is (re-)derived. A writer behind a saturated crawl queues a new
version instead (``figures_pending``, migration 0016: parsing and inserting 100-200 cells
cost it as much as the rest of storing a report); :func:`store_pending` works the queue
off (the idle writer, ``nianbao index``), and :func:`load` parses a queued version's text
meanwhile, so every reader sees the same cells either way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from nianbao.models import pending as pending_queue
from nianbao.models.tables import Figure, FiguresPending, Report, Version
from nianbao.pipelines import figures as parser


def _key(f: parser.Figure) -> tuple[Any, ...]:
    return (f.table, f.row, f.column, f.value, f.raw, f.unit, f.line)


def load(session: Session, version_id: int) -> list[parser.Figure]:
    """A version's cells: as stored, or parsed from its text now while it is queued."""
    queued = select(FiguresPending.version_id).where(FiguresPending.version_id == version_id)
    if session.scalar(queued) is not None:  # (a query: not an identity map a delete left stale)
        text = session.scalar(select(Version.text).where(Version.id == version_id))
        return parser.parse(text or "")
    rows = session.scalars(
        select(Figure).where(Figure.version_id == version_id).order_by(Figure.id)
    )
    return [
        parser.Figure(r.tbl, r.row_label, r.col_label, r.value, r.raw, r.unit, r.line) for r in rows
    ]


def store(session: Session, version: Version, *, fresh: bool = False, defer: bool = False) -> bool:
    """(Re)parse ``version``'s text into its cells; True when they changed.

    ``fresh``: the version was inserted in this transaction (it has no cells yet).
    ``defer`` (with ``fresh``): queue it for :func:`store_pending` instead."""
    if fresh and defer:
        pending_queue.put(session, FiguresPending, version.id)
        return False
    if not fresh:  # stored now, whatever was queued
        session.execute(delete(FiguresPending).where(FiguresPending.version_id == version.id))
    cells = parser.parse(version.text)
    if fresh:
        if not cells:
            return False
    elif [_key(f) for f in cells] == [_key(f) for f in load(session, version.id)]:
        return False
    else:
        session.execute(delete(Figure).where(Figure.version_id == version.id))
    if not cells:
        return True
    _insert(session, version.id, cells)
    return True


def _insert(session: Session, version_id: int, cells: list[parser.Figure]) -> None:
    session.execute(
        insert(Figure.__table__),
        [
            {
                "version_id": version_id,
                "tbl": f.table,
                "row_label": f.row,
                "col_label": f.column,
                "value": f.value,
                "raw": f.raw[:100],
                "unit": f.unit,
                "line": f.line,
            }
            for f in cells
        ],
    )


def pending(session: Session) -> int:
    """Versions whose cells wait to be parsed and stored (migration 0016)."""
    return int(session.scalar(select(func.count()).select_from(FiguresPending)) or 0)


def store_pending(session: Session, limit: int | None = None) -> int:
    """Parse and store the cells of up to ``limit`` queued versions, oldest first
    (:func:`models.pending.take`); returns how many were taken off the queue (0: it is
    empty)."""
    taken = pending_queue.take(session, FiguresPending, limit)
    if taken:
        rows = session.execute(select(Version.id, Version.text).where(Version.id.in_(taken)))
        for vid, text in sorted(rows):
            cells = parser.parse(text or "")
            if cells:
                _insert(session, vid, cells)
    return len(taken)


def version_of(session: Session, report_id: int, n: int | None) -> Version | None:
    query = select(Version).where(Version.report_id == report_id)
    query = query.where(Version.n == n) if n is not None else query.order_by(Version.n.desc())
    return session.scalars(query.limit(1)).first()


def previous_year_version(session: Session, report: Report) -> Version | None:
    """The latest version of the same source and organ's report for the year before."""
    if report.year is None or report.organ is None:
        return None
    prev = session.scalars(
        select(Report).where(
            Report.source_id == report.source_id,
            Report.organ == report.organ,
            Report.year == report.year - 1,
        )
    ).first()
    return version_of(session, prev.id, None) if prev is not None else None
