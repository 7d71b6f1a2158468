"""Writing to the archive: captures, raw bodies, reports and versions.

One entry point per kind of observation, each one transaction:

* :func:`record_report` — a response that was recognised as a report (its text derived);
* :func:`record_not_modified` — a 304 for a URL we hold a report for;
* :func:`record_gone` — a 404/410 for a report URL: the report is withdrawn;
* :func:`record_other` — blocked (anti-bot) or failed responses, kept as evidence only.

Crawl runs are in :mod:`models.runs`; withdrawal by unlinking in :mod:`models.withdrawal`.

A version is created only when the normalised text's hash differs from the report's
latest version; otherwise the latest version's ``last_seen`` moves forward. Nothing here
deletes anything.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.tables import Blob, Capture, Report, ReportUrl, Source, Version
from models.types import utcnow
from pipelines.normalize import normal_form

COMPRESS_MIN = 256  # tiny bodies are not worth zlib's header


@dataclass
class CaptureIn:
    """What the crawler observed, independent of Scrapy."""

    source: str
    url: str
    status: int
    fetched_at: datetime
    headers: dict[str, Any] = field(default_factory=dict)
    body: bytes | None = None
    landing_url: str | None = None
    run_id: int | None = None


@dataclass
class Stored:
    capture_id: int
    report_id: int | None = None
    version_n: int | None = None
    new_report: bool = False
    new_version: bool = False


def get_or_create_source(
    session: Session, name: str, organ: str | None = None, config: dict[str, Any] | None = None
) -> Source:
    source = session.scalar(select(Source).where(Source.name == name))
    if source is None:
        source = Source(name=name, organ=organ, config=config or {}, created_at=utcnow())
        session.add(source)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:  # another process created it first
            source = session.scalars(select(Source).where(Source.name == name)).one()
    elif config is not None and (source.config != config or source.organ != organ):
        source.config, source.organ = config, organ
    return source


def put_blob(session: Session, body: bytes) -> str:
    """Store ``body`` once; return its SHA-256."""
    digest = hashlib.sha256(body).hexdigest()
    if session.get(Blob, digest) is not None:
        return digest
    if len(body) >= COMPRESS_MIN:
        packed = zlib.compress(body, 6)
        blob = Blob(sha256=digest, size=len(body), compression="zlib", data=packed)
    else:
        blob = Blob(sha256=digest, size=len(body), compression="none", data=body)
    try:
        with session.begin_nested():
            session.add(blob)
    except IntegrityError:
        pass  # written concurrently by another process: same bytes, same row
    return digest


def read_blob(blob: Blob) -> bytes:
    return zlib.decompress(blob.data) if blob.compression == "zlib" else bytes(blob.data)


def report_key(organ: str | None, year: int | None, url: str) -> str:
    """A report's identity within its source: organ + year, else its URL."""
    if organ and year:
        return f"{normal_form(organ)}|{year}"
    return f"url|{url}"


def _find_report(
    session: Session, source_id: int, key: str, url: str, sha256: str
) -> Report | None:
    """The report of this source a capture belongs to.

    By identity (organ + year) first. The URL only decides when one side's organ or year
    is unknown: a CMS that reuses an address for next year's report must not turn the 2019
    report into a version of the 2018 one. A capture with no organ/year at a new address
    belongs to the report of this source that already had exactly this text (it moved).
    """
    report = session.scalar(select(Report).where(Report.source_id == source_id, Report.key == key))
    if report is not None:
        return report
    url_keyed = key.startswith("url|")
    for candidate in session.scalars(
        select(Report)
        .join(ReportUrl)
        .where(Report.source_id == source_id, ReportUrl.url == url)
        .order_by(ReportUrl.last_seen.desc())
    ):
        if url_keyed or candidate.key.startswith("url|"):
            return candidate
    if url_keyed:
        return session.scalar(
            select(Report)
            .join(Version, Version.report_id == Report.id)
            .where(Report.source_id == source_id, Version.sha256 == sha256)
            .order_by(Report.last_seen.desc())
            .limit(1)
        )
    return None


def _touch_url(session: Session, report: Report, url: str, when: datetime) -> None:
    row = session.scalar(
        select(ReportUrl).where(ReportUrl.report_id == report.id, ReportUrl.url == url)
    )
    if row is None:
        session.add(ReportUrl(report_id=report.id, url=url, first_seen=when, last_seen=when))
    else:
        row.last_seen = max(row.last_seen, when)


def latest_version(session: Session, report_id: int) -> Version | None:
    return session.scalar(
        select(Version).where(Version.report_id == report_id).order_by(Version.n.desc()).limit(1)
    )


def record_report(
    session: Session,
    cap: CaptureIn,
    derived: Any,
    *,
    organ: str | None,
    year: int | None,
    published: str | None,
    cleaner_version: str,
    meta: dict[str, Any] | None = None,
) -> Stored:
    """Archive a recognised report capture; ``derived`` is a :class:`pipelines.document.Document`."""
    source = get_or_create_source(session, cap.source)
    body_sha = put_blob(session, cap.body or b"")
    when = cap.fetched_at
    key = report_key(organ, year, cap.url)
    report = _find_report(session, source.id, key, cap.url, derived.sha256)
    new_report = report is None
    if report is None:
        report = Report(
            source_id=source.id,
            key=key,
            organ=organ,
            year=year,
            title=derived.title,
            url=cap.url,
            first_seen=when,
            last_seen=when,
        )
        session.add(report)
        session.flush()
    elif report.key.startswith("url|") and not key.startswith("url|"):
        report.key, report.organ, report.year = key, organ, year  # now we know who and when
    report.last_seen = max(report.last_seen, when)
    if report.withdrawn_reason != "unlinked":  # answering again undoes a 404/410, not an unlink
        report.withdrawn_at, report.withdrawn_reason = None, None
    _touch_url(session, report, cap.url, when)
    current = latest_version(session, report.id)
    new_version = current is None or current.sha256 != derived.sha256
    if new_version:
        version = Version(
            report_id=report.id,
            n=(current.n + 1) if current else 1,
            sha256=derived.sha256,
            title=derived.title,
            organ=organ,
            year=year,
            published=published,
            text=derived.text,
            norm_text=derived.norm_text,
            url=cap.url,
            first_seen=when,
            last_seen=when,
            cleaner_version=cleaner_version,
            meta=meta or {},
            removed={"items": [r.as_dict() for r in derived.removed]},
            flags={"items": list(derived.flags)},
        )
        session.add(version)
        session.flush()
        report.title, report.url = derived.title, cap.url
    else:
        assert current is not None
        version = current
        version.last_seen = max(version.last_seen, when)
        report.url = cap.url
    capture = Capture(
        run_id=cap.run_id,
        source_id=source.id,
        url=cap.url,
        fetched_at=when,
        status=cap.status,
        headers=cap.headers,
        body_sha256=body_sha,
        kind="report",
        report_id=report.id,
        version_id=version.id,
        landing_url=cap.landing_url,
    )
    session.add(capture)
    session.flush()
    return Stored(capture.id, report.id, version.n, new_report, new_version)


def _report_at(session: Session, source_id: int, url: str) -> Report | None:
    return session.scalar(
        select(Report)
        .join(ReportUrl)
        .where(Report.source_id == source_id, ReportUrl.url == url)
        .order_by(ReportUrl.last_seen.desc())
        .limit(1)
    )


def record_not_modified(session: Session, cap: CaptureIn) -> Stored:
    """A 304: the report at this URL was seen again, unchanged."""
    source = get_or_create_source(session, cap.source)
    report = _report_at(session, source.id, cap.url)
    version = latest_version(session, report.id) if report else None
    if report is not None and version is not None:
        report.last_seen = max(report.last_seen, cap.fetched_at)
        if report.withdrawn_reason == "gone":
            report.withdrawn_at, report.withdrawn_reason = None, None
        version.last_seen = max(version.last_seen, cap.fetched_at)
        _touch_url(session, report, cap.url, cap.fetched_at)
    capture = Capture(
        run_id=cap.run_id,
        source_id=source.id,
        url=cap.url,
        fetched_at=cap.fetched_at,
        status=cap.status,
        headers=cap.headers,
        body_sha256=None,
        kind="not_modified",
        report_id=report.id if report else None,
        version_id=version.id if version else None,
        landing_url=cap.landing_url,
    )
    session.add(capture)
    session.flush()
    return Stored(capture.id, report.id if report else None, version.n if version else None)


def record_gone(session: Session, cap: CaptureIn) -> Stored:
    """A 404/410 where a report used to be: mark it withdrawn, keep every version."""
    source = get_or_create_source(session, cap.source)
    report = _report_at(session, source.id, cap.url)
    if report is not None and report.withdrawn_at is None and report.url == cap.url:
        report.withdrawn_at, report.withdrawn_reason = cap.fetched_at, "gone"
    body_sha = put_blob(session, cap.body) if cap.body else None
    capture = Capture(
        run_id=cap.run_id,
        source_id=source.id,
        url=cap.url,
        fetched_at=cap.fetched_at,
        status=cap.status,
        headers=cap.headers,
        body_sha256=body_sha,
        kind="gone",
        report_id=report.id if report else None,
        landing_url=cap.landing_url,
    )
    session.add(capture)
    session.flush()
    return Stored(capture.id, report.id if report else None)


def record_other(session: Session, cap: CaptureIn, kind: str, note: str | None = None) -> Stored:
    """Evidence only (blocked by an anti-bot gateway, unparsable, …): no report changes.

    The capture is filed under the report whose URL it is, if any, so ``captures`` shows
    an auditor that the page was tried and blocked — never that it was withdrawn.
    """
    source = get_or_create_source(session, cap.source)
    report = _report_at(session, source.id, cap.url)
    body_sha = put_blob(session, cap.body) if cap.body else None
    capture = Capture(
        run_id=cap.run_id,
        source_id=source.id,
        url=cap.url,
        fetched_at=cap.fetched_at,
        status=cap.status,
        headers=cap.headers,
        body_sha256=body_sha,
        kind=kind,
        report_id=report.id if report else None,
        landing_url=cap.landing_url,
        note=note,
    )
    session.add(capture)
    session.flush()
    return Stored(capture.id, report.id if report else None)
