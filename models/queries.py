"""Reading the archive: what the CLI's read commands (and a web UI) show."""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.tables import Report, Version


class NotFound(LookupError):
    """The report or version asked for is not in the archive."""


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def list_reports(session: Session) -> list[dict[str, Any]]:
    counts = (
        select(Version.report_id, func.count().label("n")).group_by(Version.report_id).subquery()
    )
    rows = session.execute(
        select(Report, counts.c.n).join(counts, counts.c.report_id == Report.id).order_by(Report.id)
    ).all()
    return [
        {
            "id": r.id,
            "organ": r.organ,
            "year": r.year,
            "title": r.title,
            "url": r.url,
            "versions": n,
            "first_seen": iso(r.first_seen),
            "last_seen": iso(r.last_seen),
            "withdrawn_at": iso(r.withdrawn_at),
        }
        for r, n in rows
    ]


def _report(session: Session, report_id: int) -> Report:
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound(f"no report with id {report_id}")
    return report


def list_versions(session: Session, report_id: int) -> list[dict[str, Any]]:
    _report(session, report_id)
    versions = session.scalars(
        select(Version).where(Version.report_id == report_id).order_by(Version.n)
    ).all()
    return [
        {
            "n": v.n,
            "sha256": v.sha256,
            "first_seen": iso(v.first_seen),
            "last_seen": iso(v.last_seen),
            "url": v.url,
        }
        for v in versions
    ]


def get_version(
    session: Session, report_id: int, n: int | None = None, as_of: datetime | None = None
) -> Version:
    """Version ``n``, or the one current at ``as_of`` (the latest first seen by then)."""
    _report(session, report_id)
    query = select(Version).where(Version.report_id == report_id)
    if n is not None:
        version = session.scalar(query.where(Version.n == n))
        if version is None:
            raise NotFound(f"report {report_id} has no version {n}")
        return version
    if as_of is not None:
        version = session.scalar(
            query.where(Version.first_seen <= as_of).order_by(Version.n.desc()).limit(1)
        )
        if version is None:
            raise NotFound(f"report {report_id} had not been captured yet at {as_of.isoformat()}")
        return version
    version = session.scalar(query.order_by(Version.n.desc()).limit(1))
    if version is None:
        raise NotFound(f"report {report_id} has no versions")
    return version


def version_dict(v: Version) -> dict[str, Any]:
    return {
        "id": v.report_id,
        "n": v.n,
        "sha256": v.sha256,
        "title": v.title,
        "organ": v.organ,
        "year": v.year,
        "published": v.published,
        "text": v.text,
        "url": v.url,
        "first_seen": iso(v.first_seen),
        "last_seen": iso(v.last_seen),
    }


def diff_versions(session: Session, report_id: int, a: int, b: int) -> str:
    """A unified diff of the clean texts of versions ``a`` and ``b``, line by line."""
    va, vb = get_version(session, report_id, a), get_version(session, report_id, b)
    lines = difflib.unified_diff(
        va.text.splitlines(),
        vb.text.splitlines(),
        fromfile=f"report {report_id} version {a} ({iso(va.first_seen)})",
        tofile=f"report {report_id} version {b} ({iso(vb.first_seen)})",
        lineterm="",
    )
    return "\n".join(lines)
