"""A version's statistics tables in the archive: stored, read, compared, checked.

The cells come from :mod:`pipelines.figures` (pure parsing of the clean text); the rules
from :mod:`pipelines.rules`. Cells are derived data: :func:`store` replaces a version's
cells whenever its text is (re-)derived.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from nianbao.models.tables import Figure, Report, Version
from nianbao.pipelines import figures as parser


def _key(f: parser.Figure) -> tuple[Any, ...]:
    return (f.table, f.row, f.column, f.value, f.raw, f.unit, f.line)


def load(session: Session, version_id: int) -> list[parser.Figure]:
    rows = session.scalars(
        select(Figure).where(Figure.version_id == version_id).order_by(Figure.id)
    )
    return [
        parser.Figure(r.tbl, r.row_label, r.col_label, r.value, r.raw, r.unit, r.line) for r in rows
    ]


def store(session: Session, version: Version, *, fresh: bool = False) -> bool:
    """(Re)parse ``version``'s text into its cells; True when they changed.

    ``fresh``: the version was inserted in this transaction (it has no cells yet)."""
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
    session.execute(
        insert(Figure.__table__),
        [
            {
                "version_id": version.id,
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
    return True


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
