"""Reading the archive: what the CLI's read commands (and a web UI) show."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nianbao import errors
from nianbao.models.archive import entity, read_blob
from nianbao.models.runs import run_summary
from nianbao.models.tables import Blob, Capture, CrawlRun, Report, Source, Version


class NotFound(errors.NotFound, LookupError):
    """The report or version asked for is not in the archive."""


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def list_reports(session: Session) -> list[dict[str, Any]]:
    counts = (
        select(Version.report_id, func.count().label("n")).group_by(Version.report_id).subquery()
    )
    rows = session.execute(
        select(Report, counts.c.n, Source.name)
        .join(counts, counts.c.report_id == Report.id)
        .join(Source, Source.id == Report.source_id)
        .order_by(Report.id)
    ).all()
    return [report_row(r, source, versions=n) for r, n, source in rows]


def report_row(r: Report, source: str, **extra: Any) -> dict[str, Any]:
    """A report as every listing shows it (CLI, web app, exports): one shape, one place."""
    row: dict[str, Any] = {
        "id": r.id,
        "source": source,
        "organ": r.organ,
        "year": r.year,
        "title": r.title,
        "url": r.url,
    }
    row.update(extra)
    row.update(
        first_seen=iso(r.first_seen),
        last_seen=iso(r.last_seen),
        withdrawn_at=iso(r.withdrawn_at),
        withdrawn_reason=r.withdrawn_reason,
    )
    return row


def _report(session: Session, report_id: int) -> Report:
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound(f"no report with id {report_id}")
    return report


def same_text_elsewhere(session: Session, report_id: int, sha256: str) -> list[dict[str, Any]]:
    """Versions of *other* reports with this exact normalised text (mirrors, content farms).

    A copy on another site is its own report of that site; this is the link between them.
    """
    rows = session.execute(
        select(Version.report_id, Version.n, Version.first_seen, Source.name, Report.url)
        .join(Report, Report.id == Version.report_id)
        .join(Source, Source.id == Report.source_id)
        .where(Version.sha256 == sha256, Version.report_id != report_id)
        .order_by(Version.first_seen, Version.report_id)
    ).all()
    return [
        {"report_id": rid, "version": n, "first_seen": iso(seen), "source": src, "url": url}
        for rid, n, seen, src, url in rows
    ]


def list_versions(session: Session, report_id: int) -> list[dict[str, Any]]:
    _report(session, report_id)
    versions = session.scalars(
        select(Version).where(Version.report_id == report_id).order_by(Version.n)
    ).all()
    from nianbao.models.neardup import links_of

    similar: dict[int, list[dict[str, Any]]] = {}
    for link in links_of(session, report_id):
        similar.setdefault(link["version"], []).append(link)
    shown: dict[Any, Any] = dict(
        session.execute(
            select(Capture.version_id, func.count())
            .where(Capture.report_id == report_id, Capture.version_id.is_not(None))
            .group_by(Capture.version_id)
        ).all()
    )
    return [
        {
            "n": v.n,
            "captures": shown.get(v.id, 0),  # fetches that showed this text (200 or 304)
            "sha256": v.sha256,
            "first_seen": iso(v.first_seen),
            "last_seen": iso(v.last_seen),
            "url": v.url,
            "same_text_elsewhere": same_text_elsewhere(session, report_id, v.sha256),
            # near-duplicates in other reports (models.neardup), most similar first
            "similar": similar.get(v.n, []),
            **withdrawal(v.report),
        }
        for v in versions
    ]


def list_captures(session: Session, report_id: int) -> list[dict[str, Any]]:
    """Every capture of a report, oldest first: the evidence of where and when."""
    _report(session, report_id)
    rows = session.execute(
        select(Capture, Version.n)
        .outerjoin(Version, Version.id == Capture.version_id)
        .where(Capture.report_id == report_id)
        .order_by(Capture.fetched_at, Capture.id)
    ).all()
    return [
        {
            "id": c.id,
            "fetched_at": iso(c.fetched_at),
            "url": c.url,
            "status": c.status,
            "kind": c.kind,
            "body_sha256": c.body_sha256,
            "version": n,
            "run_id": c.run_id,
            "landing_url": c.landing_url,
            **exchange(c),
        }
        for c, n in rows
    ]


def exchange(c: Capture) -> dict[str, Any]:
    """What a capture recorded of the exchange itself (see :class:`models.tables.Capture`)."""
    return {
        "body_form": c.body_form,
        "protocol": c.protocol,
        "reason": c.reason,
        "remote_ip": c.remote_ip,
        "remote_port": c.remote_port,
        "cert_sha256": c.cert_sha256,
        "request_head": c.request_head,
        "response_head": c.response_head,
        "note": c.note,
    }


@dataclass(frozen=True)
class CaptureBody:
    body: bytes
    form: str  # "wire" (as received), "decoded" (content codings undone)
    capture: Capture


def capture_body(session: Session, capture_id: int, decoded: bool = False) -> CaptureBody:
    """The bytes a capture received (``decoded``: the entity, content codings undone).

    A capture made before wire capture (``body_form = "decoded"``) only has the entity;
    ``form`` says which one the caller got.
    """
    capture = session.get(Capture, capture_id)
    if capture is None:
        raise NotFound(f"no capture with id {capture_id}")
    if capture.body_sha256 is None:
        raise NotFound(
            f"capture {capture_id} has no body (HTTP {capture.status}, {capture.kind}): "
            "a 304 answer carries none; its version's body is in an earlier capture"
        )
    blob = session.get(Blob, capture.body_sha256)
    if blob is None:
        raise NotFound(f"capture {capture_id}: its body {capture.body_sha256} is missing")
    try:
        stored = read_blob(blob)
        if decoded:
            return CaptureBody(entity(capture, stored), "decoded", capture)
    except (zlib.error, ValueError) as exc:  # tampered or rotten: say so, never a traceback
        raise errors.DamagedArchive(
            f"capture {capture_id}: its stored body is damaged ({exc}); run `nianbao verify`"
        ) from exc
    return CaptureBody(stored, capture.body_form, capture)


def list_runs(
    session: Session, source: str | None = None, limit: int = 50, status: str | None = None
) -> list[dict[str, Any]]:
    """Crawl runs, newest first: what an operator checks each morning. ``status``: only the
    runs that ended so (``failed``: the few of a night of thousands that need a look)."""
    query = select(CrawlRun, Source.name).join(Source, Source.id == CrawlRun.source_id)
    if source:
        if session.scalar(select(Source.id).where(Source.name == source)) is None:
            raise NotFound(f"no such source: {source!r}")
        query = query.where(Source.name == source)
    if status:
        query = query.where(CrawlRun.status == status)
    rows = session.execute(query.order_by(CrawlRun.id.desc()).limit(limit)).all()
    return [
        {
            "id": run.id,
            "source": name,
            "started_at": iso(run.started_at),
            "finished_at": iso(run.finished_at),
            "status": run.status,
            "counts": run.counts,
            "errors": run.errors,
            "summary": run_summary(run.counts, run.errors).as_dict(),
            "host": run.host,
            "pid": run.pid,
        }
        for run, name in rows
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
        **withdrawal(v.report),
    }


WITHDRAWN_WHY = {
    "gone": "its address answered 404/410",
    "unlinked": "the column page that linked it no longer does",
}


def withdrawal(report: Report) -> dict[str, Any]:
    """The report's withdrawal (None when it is still published), for every version shown:
    an auditor quoting a version must see that the report is no longer public."""
    return {
        "report_withdrawn_at": iso(report.withdrawn_at),
        "report_withdrawn_reason": report.withdrawn_reason,
    }


def withdrawn_line(data: dict[str, Any]) -> str | None:
    if not data.get("report_withdrawn_at"):
        return None
    reason = data.get("report_withdrawn_reason") or ""
    return (
        f"WITHDRAWN {data['report_withdrawn_at']}: {WITHDRAWN_WHY.get(reason, reason)}"
        " (its versions are kept)"
    )


def explain_dict(v: Version) -> dict[str, Any]:
    """How a version's text was derived: what the cleaner removed and why, flags, metadata.

    Auditors quote the clean text; this is the evidence of what is *not* in it.
    """
    removed = (v.removed or {}).get("items", [])
    return {
        "id": v.report_id,
        "n": v.n,
        "sha256": v.sha256,
        "cleaner_version": v.cleaner_version,
        "flags": list((v.flags or {}).get("items", [])),
        "meta": dict(v.meta or {}),
        # "why": a model's evidence (the relevance stage's scores), "" for a plain rule.
        "removed": [
            {
                "stage": r.get("stage"),
                "rule": r.get("rule"),
                "text": r.get("text"),
                "why": r.get("why") or "",
            }
            for r in removed
        ],
    }
