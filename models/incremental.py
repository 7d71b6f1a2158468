"""What a recrawl needs to know from the archive before it starts.

Loaded once per source at spider open (never per request, so the reactor never waits on
the database): the URLs of the source's reports, to re-request them directly, and the HTTP
validators (``ETag`` / ``Last-Modified``) of the latest capture of each, for conditional
requests; and, per 304 answer, the raw body that answer confirms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nianbao.models.archive import entity, header, read_blob
from nianbao.models.tables import Blob, Capture, Report, ReportUrl, Source


@dataclass(frozen=True)
class Validators:
    etag: str | None
    last_modified: str | None


def validators_for(session: Session, source_name: str) -> dict[str, Validators]:
    """URL → validators of its latest capture, when that capture was a 200 report.

    A URL whose latest capture is a 404 or a block (even a 200 challenge page) gets none: if it answers again it must
    send the whole body, so the archive can tell what it says now. 304 captures are skipped
    (they repeat the validators of the capture they confirm).
    """
    latest = (
        select(Capture.url, func.max(Capture.id).label("id"))
        .join(Source, Source.id == Capture.source_id)
        .where(Source.name == source_name, Capture.kind.in_(("report", "gone", "blocked")))
        .group_by(Capture.url)
        .subquery()
    )
    rows = session.execute(
        select(Capture.url, Capture.status, Capture.kind, Capture.headers).join(
            latest, latest.c.id == Capture.id
        )
    )
    out: dict[str, Validators] = {}
    for url, status, kind, headers in rows:
        if status != 200 or kind != "report":  # a 200 challenge page is "blocked"
            continue
        v = Validators(header(headers, "etag"), header(headers, "last-modified"))
        if v.etag or v.last_modified:
            out[url] = v
    return out


def latest_report_body(
    session: Session, source_name: str, url: str
) -> tuple[dict[str, Any], bytes] | None:
    """Headers and entity (content codings undone) of the latest 200 report capture at
    ``url`` (what a 304 there confirms), or None."""
    found = latest_body(session, source_name, url, "report")
    if found is None:
        return None
    capture, body = found
    return capture.headers or {}, body


def latest_body(
    session: Session, source_name: str, url: str, kind: str
) -> tuple[Capture, bytes] | None:
    """The latest 200 capture of ``kind`` at ``url`` with its entity (codings undone)."""
    row = session.execute(
        select(Capture, Blob)
        .join(Source, Source.id == Capture.source_id)
        .join(Blob, Blob.sha256 == Capture.body_sha256)
        .where(
            Source.name == source_name,
            Capture.url == url,
            Capture.kind == kind,
            Capture.status == 200,
        )
        .order_by(Capture.id.desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        return None
    capture, blob = row
    return capture, entity(capture, read_blob(blob))


def known_report_urls(session: Session, source_name: str) -> list[str]:
    """Every URL any report of this source was seen at, withdrawn ones included.

    Withdrawn reports are asked for again so that a report that comes back at its old
    address is noticed even when no page links to it.
    """
    current = session.scalars(select(Report.url).join(Source).where(Source.name == source_name))
    seen = session.scalars(
        select(ReportUrl.url).join(Report).join(Source).where(Source.name == source_name)
    )
    return sorted(set(current) | set(seen))
