"""The reports list: filters (organ, source, year, status, full text) and paging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nianbao.models.queries import NotFound, report_row
from nianbao.models.search import search
from nianbao.models.tables import Report, Source, Version

PAGE_SIZE = 50
STATUSES = ("current", "withdrawn", "changed")
SEARCH_LIMIT = 10_000  # versions a full-text filter looks at


@dataclass
class Filters:
    organ: str = ""
    source: str = ""
    year: int | None = None
    status: str = ""
    q: str = ""
    page: int = 1


def reports_page(session: Session, f: Filters) -> dict[str, Any]:
    counts = (
        select(Version.report_id, func.count().label("n")).group_by(Version.report_id).subquery()
    )
    query = (
        select(Report, counts.c.n, Source.name)
        .join(counts, counts.c.report_id == Report.id)
        .join(Source, Source.id == Report.source_id)
    )
    if f.organ:
        query = query.where(Report.organ.contains(f.organ, autoescape=True))
    if f.source:
        query = query.where(Source.name == f.source)
    if f.year is not None:
        query = query.where(Report.year == f.year)
    if f.status == "current":
        query = query.where(Report.withdrawn_at.is_(None))
    elif f.status == "withdrawn":
        query = query.where(Report.withdrawn_at.is_not(None))
    elif f.status == "changed":
        query = query.where(counts.c.n > 1)
    if f.q:
        ids = {hit["report_id"] for hit in search(session, f.q, limit=SEARCH_LIMIT)}
        query = query.where(Report.id.in_(ids or {-1}))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(Report.year.desc(), Report.id)
        .limit(PAGE_SIZE)
        .offset((max(f.page, 1) - 1) * PAGE_SIZE)
    ).all()
    return {
        "total": total,
        "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        "reports": [report_row(r, source, versions=n) for r, n, source in rows],
        "sources": list(session.scalars(select(Source.name).order_by(Source.name))),
    }


def report_summary(session: Session, report_id: int) -> dict[str, Any]:
    row = session.execute(
        select(Report, Source.name)
        .join(Source, Source.id == Report.source_id)
        .where(Report.id == report_id)
    ).first()
    if row is None:
        raise NotFound(f"no report with id {report_id}")
    r, source = row
    return {**report_row(r, source), "linked_from": r.linked_from}


def matrix(session: Session, source: str) -> dict[str, Any]:
    """Organ × year for one source: which reports exist, and when each was first seen."""
    rows = session.execute(
        select(Report)
        .join(Source, Source.id == Report.source_id)
        .where(Source.name == source)
        .order_by(Report.organ, Report.year)
    ).scalars()
    cells: dict[str, dict[int, dict[str, Any]]] = {}
    years: set[int] = set()
    for r in rows:
        if r.year is None:
            continue
        years.add(r.year)
        cells.setdefault(r.organ or "?", {})[r.year] = {
            "id": r.id,
            "first_seen": r.first_seen.date().isoformat(),
            "withdrawn": r.withdrawn_at is not None,
        }
    return {"source": source, "years": sorted(years), "organs": cells}
