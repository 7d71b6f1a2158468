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
import weakref
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, event, func, insert, select
from sqlalchemy.orm import Session

from nianbao.models import figures, log, upsert
from nianbao.models.prepared import Prepared
from nianbao.models.tables import Blob, Capture, Report, ReportUrl, Source, Version
from nianbao.models.types import utcnow
from nianbao.pipelines import entity as entity_mod
from nianbao.pipelines.document import Document
from nianbao.pipelines.normalize import normal_form

COMPRESS_MIN = 256  # tiny bodies are not worth zlib's header
# A wire body in gzip or zstd (most report pages: portals compress) does not shrink again
# under zlib: stored as it is ("none"), the same bytes back, without 0.4 ms of zlib a page.
_COMPRESSED = (b"\x1f\x8b", b"\x28\xb5\x2f\xfd")


@dataclass
class CaptureIn:
    """What the crawler observed, independent of Scrapy.

    ``body`` is what the blob will hold: with ``body_form = "wire"`` the body as received,
    before content decoding (see :class:`models.tables.Capture`). The heads are the raw
    bytes of the exchange (``request_head`` as sent, ``response_head`` as received).
    """

    source: str
    url: str
    status: int
    fetched_at: datetime
    headers: dict[str, Any] = field(default_factory=dict)
    body: bytes | None = None
    landing_url: str | None = None
    run_id: int | None = None
    body_form: str = "wire"
    protocol: str | None = None
    reason: str | None = None
    request_head: bytes | None = None
    response_head: bytes | None = None
    remote_ip: str | None = None
    remote_port: int | None = None
    cert_sha256: str | None = None
    note: str | None = None
    context: dict[str, Any] | None = None  # what the crawl saw around it (landing page …)

    def exchange(self) -> dict[str, Any]:
        """The capture columns that record the exchange itself."""
        return {
            "body_form": self.body_form,
            "protocol": self.protocol,
            "reason": self.reason,
            "request_head": _latin1(self.request_head),
            "response_head": _latin1(self.response_head),
            "remote_ip": self.remote_ip,
            "remote_port": self.remote_port,
            "cert_sha256": self.cert_sha256,
            "context": self.context,
        }


def _latin1(raw: bytes | None) -> str | None:
    """Raw header bytes as text that maps back to the same bytes (Latin-1 is 1:1)."""
    return raw.decode("latin-1") if raw else None


# A stored body is decoded with this bound: it was decoded within DOWNLOAD_MAXSIZE when it
# was captured, so this only stops a body that was tampered with into a bomb.
ENTITY_MAX = 1 << 30


def content_encodings(headers: dict[str, Any] | None) -> list[str]:
    """Every ``Content-Encoding`` value of a stored capture's headers, in order."""
    out: list[str] = []
    for key, value in (headers or {}).items():
        if key.lower() == "content-encoding":
            out.extend(str(v) for v in (value if isinstance(value, list) else [value]))
    return out


def entity(capture: Capture, stored: bytes) -> bytes:
    """The entity a capture's stored body describes (content codings undone).

    ``decoded`` captures already hold it; ``wire`` captures hold the body as sent, decoded
    here by :mod:`pipelines.entity`, the code the crawl used. A body that was not in its
    declared coding was archived as sent and is returned as it is, as the crawl used it.
    """
    if capture.body_form != "wire":
        return stored
    return entity_mod.decode(stored, content_encodings(capture.headers), ENTITY_MAX).body


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
    if config is None:  # a look-up: once per source and session (a writer's batch)
        known = session.info.setdefault("nianbao_sources", {})
        source = known.get(name)
        if source is not None and source in session:
            return source
    source = upsert.ensure_source(
        session, name, {"organ": organ, "config": config or {}, "created_at": utcnow()}
    )
    if config is not None and (source.config != config or source.organ != organ):
        source.config, source.organ = config, organ
    else:
        session.info.setdefault("nianbao_sources", {})[name] = source
    return source


# Source ids this process has seen committed, by engine: a writer's batch used to look its
# sources up again in every transaction (nearly one a report when a night's sources
# interleave). Sources are never deleted; an id is remembered only once the transaction
# that saw it has committed, and every rollback (a job's savepoint too) forgets the ids
# its transaction saw, so none of a row that was rolled back is ever used.
_SOURCE_IDS: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()
_SEEN_SOURCES = "nianbao_source_ids"


def source_id(session: Session, name: str) -> int:
    """The id of the source called ``name``, created if no process has created it yet."""
    bind = session.get_bind()
    known = _SOURCE_IDS.get(bind)
    sid = known.get(name) if known is not None else None
    if sid is None:
        sid = get_or_create_source(session, name).id
        session.info.setdefault(_SEEN_SOURCES, {})[name] = (bind, sid)
    return sid


@event.listens_for(Session, "after_commit")
def _remember_sources(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: its transaction may roll back
        return
    for name, (bind, sid) in session.info.pop(_SEEN_SOURCES, {}).items():
        _SOURCE_IDS.setdefault(bind, {})[name] = sid


@event.listens_for(Session, "after_soft_rollback")
def _forget_sources(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_SEEN_SOURCES, None)


def body_digest(body: bytes) -> str:
    """A body's key in ``blobs``: the SHA-256 of the bytes stored (for wire captures, the
    body as received: WARC's payload digest)."""
    return hashlib.sha256(body).hexdigest()


def put_blob(session: Session, body: bytes, digest: str | None = None) -> str:
    """Store ``body`` once; return its SHA-256 (``digest``: already computed by the caller)."""
    digest = digest or body_digest(body)
    if len(body) < COMPRESS_MIN or body.startswith(_COMPRESSED):
        # kept as it is: no zlib to spare by looking first (the insert ignores a known body)
        upsert.ensure_blob(session, digest, len(body), "none", body)
    elif not upsert.has_blob(session, digest):
        upsert.ensure_blob(session, digest, len(body), "zlib", zlib.compress(body, 6))
    return digest


def header(headers: dict[str, Any] | None, name: str) -> str | None:
    """One HTTP header of a stored capture (``{name: [values]}``, any case), first value."""
    wanted = name.lower()
    for key, value in (headers or {}).items():
        if key.lower() == wanted:
            if isinstance(value, list):
                return str(value[0]) if value else None
            return str(value) if value else None
    return None


def read_blob(blob: Blob) -> bytes:
    return zlib.decompress(blob.data) if blob.compression == "zlib" else bytes(blob.data)


def report_key(organ: str | None, year: int | None, url: str) -> str:
    """A report's identity within its source: organ + year, else its URL."""
    if organ and year:
        return f"{normal_form(organ)}|{year}"
    return f"url|{url}"


def _find_report(session: Session, source_id: int, key: str, url: str, sha256: str) -> int | None:
    """The id of the report of this source a capture belongs to.

    By identity (organ + year) first. The URL only decides when one side's organ or year
    is unknown: a CMS that reuses an address for next year's report must not turn the 2019
    report into a version of the 2018 one. A capture with no organ/year at a new address
    belongs to the report of this source that already had exactly this text (it moved).

    Ids, read with Core statements: the caller locks the one found (loading it then), and
    on a first crawl there is none (the ORM's select of a report cost twice the look-up).
    The look-ups, in that order, are one statement (the first that finds one, by
    ``COALESCE`` of each as a subquery): a first crawl found nothing by either, and on
    PostgreSQL each was a round trip of its own (0.10–0.25 ms a new report, 2026-12-03).
    """
    if key.startswith("url|"):
        values = {"source": source_id, "key": key, "url": url, "sha256": sha256}
        found = _ID_FOR_URL_KEY.scalar(session, values)
    else:
        # only a URL-keyed report at this address is ours, unless we do not know who and when
        found = _ID_FOR_KEY.scalar(session, {"source": source_id, "key": key, "url": url})
    return None if found is None else int(found)


# The look-ups of every write, built once (values bound at execution) and run as
# :mod:`models.prepared` statements: SQLAlchemy's execution of each cost more CPU than
# SQLite's work on it.
_REPORTS_T, _URLS_T, _VERSIONS_T = Report.__table__, ReportUrl.__table__, Version.__table__
_BY_KEY = select(_REPORTS_T.c.id).where(
    _REPORTS_T.c.source_id == bindparam("source"), _REPORTS_T.c.key == bindparam("key")
)
_AT_URL = (
    select(_REPORTS_T.c.id)
    .join(_URLS_T, _URLS_T.c.report_id == _REPORTS_T.c.id)
    .where(_REPORTS_T.c.source_id == bindparam("source"), _URLS_T.c.url == bindparam("url"))
    .order_by(_URLS_T.c.last_seen.desc())
    .limit(1)
)
_URL_KEYED_AT_URL = _AT_URL.where(func.substr(_REPORTS_T.c.key, 1, 4) == "url|")
_BY_TEXT = (
    select(_REPORTS_T.c.id)
    .join(_VERSIONS_T, _VERSIONS_T.c.report_id == _REPORTS_T.c.id)
    .where(
        _REPORTS_T.c.source_id == bindparam("source"), _VERSIONS_T.c.sha256 == bindparam("sha256")
    )
    .order_by(_REPORTS_T.c.last_seen.desc())
    .limit(1)
)
_ID_AT_URL = Prepared(lambda _: _AT_URL, ["source", "url"])
# _find_report's look-ups in its order, as one statement (a key is unique in its source)
_ID_FOR_KEY = Prepared(
    lambda _: select(func.coalesce(_BY_KEY.scalar_subquery(), _URL_KEYED_AT_URL.scalar_subquery())),
    ["source", "key", "url"],
)
_ID_FOR_URL_KEY = Prepared(
    lambda _: select(
        func.coalesce(
            _BY_KEY.scalar_subquery(), _AT_URL.scalar_subquery(), _BY_TEXT.scalar_subquery()
        )
    ),
    ["source", "key", "url", "sha256"],
)
_LATEST = (
    select(Version)
    .where(Version.report_id == bindparam("report"))
    .order_by(Version.n.desc())
    .limit(1)
)


def latest_version(session: Session, report_id: int) -> Version | None:
    return session.scalar(_LATEST, {"report": report_id})


def record_report(
    session: Session,
    cap: CaptureIn,
    derived: Document,
    *,
    organ: str | None,
    year: int | None,
    published: str | None,
    cleaner_version: str,
    meta: dict[str, Any] | None = None,
) -> Stored:
    """Archive a recognised report capture; ``derived`` is a :class:`pipelines.document.Document`.

    Empty text (an unparsable attachment, a scan, a bomb the parser refused) never
    identifies a report, since every empty text has the same hash: it would merge
    unrelated documents into one report, or "move" one. Such a capture is a version only
    of a report its organ and year identify (a scanned report behind its landing page) that
    has no readable text yet; otherwise it is kept as evidence of kind ``unreadable``, filed
    under the report at its URL if there is one, with a note saying why.
    """
    empty = not derived.readable
    if empty and not (organ and year):
        return _unreadable(session, cap, derived)
    sid = source_id(session, cap.source)
    body_sha = put_blob(session, cap.body or b"")
    when = cap.fetched_at
    key = report_key(organ, year, cap.url)
    found = _find_report(session, sid, key, cap.url, derived.sha256)
    if empty and found is not None:
        current = latest_version(session, found)
        if current is not None and (current.norm_text or "").strip():
            return _unreadable(session, cap, derived)  # a failed parse is not an edit
    new_identity = False
    report: Report | None = None  # a report that was there, locked: what this job changes
    new_report: dict[str, Any] | None = None  # or the row this job inserted, as inserted
    if found is None:  # insert-or-get; either way the report row is ours until the commit
        values = dict(
            source_id=sid,
            key=key,
            organ=organ,
            year=year,
            title=derived.title,
            url=cap.url,
            first_seen=when,
            last_seen=when,
            withdrawn_at=None,
            withdrawn_reason=None,
            linked_from=None,
        )
        new_id = upsert.insert_report(session, values)
        if new_id is not None:
            new_report = {**values, "id": new_id}
        else:  # another writer's row won the race
            report = upsert.report_by_key(session, sid, key)
            assert report is not None
    else:
        report = upsert.lock_report(session, found)
        if report.key.startswith("url|") and not key.startswith("url|"):
            report.key, report.organ, report.year = key, organ, year  # now we know who and when
            new_identity = True
    if report is not None:
        _update(report, last_seen=max(report.last_seen, when))
        if report.withdrawn_reason != "unlinked":  # answering again undoes a 404/410, not an unlink
            _update(report, withdrawn_at=None, withdrawn_reason=None)
        report_id = report.id
    else:
        assert new_report is not None
        report_id = new_report["id"]
    upsert.touch_report_url(session, report_id, cap.url, when)
    # A report this transaction has just inserted has no versions yet.
    current = None if new_report is not None else latest_version(session, report_id)
    new_version = current is None or current.sha256 != derived.sha256
    if new_version:
        inserted = dict(
            report_id=report_id,
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
        version = _insert_version(session, inserted)
        # numpy and datasketch load only when a version is written, not for every reader
        from nianbao.models import neardup

        neardup.link_version(session, version, fresh=True)
        figures.store(session, version, fresh=True, defer=bool(session.info.get(neardup.DEFER)))
        if report is not None:  # a new report has this title and URL already
            _update(report, title=derived.title, url=cap.url)
    else:
        assert current is not None and report is not None
        version = current
        _update(version, last_seen=max(version.last_seen, when))
        _update(report, url=cap.url)
    capture = _insert_capture(
        session, cap, sid, "report", body_sha, report_id, version.id, cap.note
    )
    if new_report is not None:
        log.append_inserted(session, "report", [new_report])
    elif new_identity:
        log.append(session, "report", [report_id])
    if new_version:
        log.append_inserted(session, "version", [{**inserted, "id": version.id}])
    log.append_inserted(session, "capture", [capture])
    return Stored(capture["id"], report_id, version.n, new_report is not None, new_version)


# A new version and a capture are inserted, never changed by the job that writes them: an
# INSERT of their table, not the unit of work's flush of a new object (which tracked,
# sorted and post-processed one row for ≈ 0.4 CPU-ms apiece, a fifth of a write), run as
# a :mod:`models.prepared` statement.
_VERSION_KEYS = (
    "report_id", "n", "sha256", "title", "organ", "year", "published", "text", "norm_text",
    "url", "first_seen", "last_seen", "cleaner_version", "meta", "removed", "flags",
)  # fmt: skip
_CAPTURE_KEYS = (
    "run_id", "source_id", "url", "fetched_at", "status", "headers", "body_sha256", "kind",
    "report_id", "version_id", "landing_url", "note", "body_form", "protocol", "reason",
    "request_head", "response_head", "remote_ip", "remote_port", "cert_sha256", "context",
)  # fmt: skip
_VERSIONS = Prepared(lambda _: insert(Version.__table__), _VERSION_KEYS, new_id=True)
_CAPTURES = Prepared(lambda _: insert(Capture.__table__), _CAPTURE_KEYS, new_id=True)


def _insert_version(session: Session, values: dict[str, Any]) -> Version:
    """Insert a version row; the returned :class:`Version` carries its values and id but
    is not in the session (nothing the writing job does changes a version it created)."""
    version = Version(**values)
    version.id = _VERSIONS.run(session, values)
    return version


def _insert_capture(
    session: Session,
    cap: CaptureIn,
    source: int,
    kind: str,
    body_sha256: str | None,
    report_id: int | None,
    version_id: int | None,
    note: str | None,
) -> dict[str, Any]:
    """Insert the capture row of ``cap`` (the exchange as observed, filed as ``kind``): the
    values inserted, with the new row's ``id`` (what its log leaf is computed from)."""
    values = dict(
        run_id=cap.run_id,
        source_id=source,
        url=cap.url,
        fetched_at=cap.fetched_at,
        status=cap.status,
        headers=cap.headers,
        body_sha256=body_sha256,
        kind=kind,
        report_id=report_id,
        version_id=version_id,
        landing_url=cap.landing_url,
        note=note,
        **cap.exchange(),
    )
    values["id"] = _CAPTURES.run(session, values)
    return values


def _update(row: Any, **values: Any) -> None:
    """Set the attributes whose value differs. One set to its own value still marks the row
    dirty, and the unit of work's flush of a row with nothing to write (a new report's
    first capture) cost ≈ 0.2 CPU-ms a report."""
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


def _unreadable(session: Session, cap: CaptureIn, derived: Any) -> Stored:
    errors = "; ".join(str(e) for e in (getattr(derived, "errors", None) or []))
    note = "recognised as a report, but no text could be read"
    return record_other(session, cap, "unreadable", f"{note} ({errors[:300]})" if errors else note)


def _locked_report_at(session: Session, source_id: int, url: str) -> Report | None:
    """The report of this source last seen at ``url``, locked as :func:`record_report`
    locks the one it writes: sightings of one report written at the same time by several
    writers (a 304 that extends it, a 404 that withdraws it, a 200 that undoes that) take
    turns, each reading what the one before left, and none is lost."""
    found = _ID_AT_URL.scalar(session, {"source": source_id, "url": url})
    return upsert.lock_report(session, found) if found is not None else None


def record_not_modified(session: Session, cap: CaptureIn) -> Stored:
    """A 304: the report at this URL was seen again, unchanged."""
    sid = source_id(session, cap.source)
    report = _locked_report_at(session, sid, cap.url)
    version = latest_version(session, report.id) if report else None
    if report is not None and version is not None:
        report.last_seen = max(report.last_seen, cap.fetched_at)
        if report.withdrawn_reason == "gone":
            report.withdrawn_at, report.withdrawn_reason = None, None
        version.last_seen = max(version.last_seen, cap.fetched_at)
        upsert.touch_report_url(session, report.id, cap.url, cap.fetched_at)
    capture = _insert_capture(
        session,
        cap,
        sid,
        "not_modified",
        None,
        report.id if report else None,
        version.id if version else None,
        cap.note,
    )
    log.append_inserted(session, "capture", [capture])
    return Stored(capture["id"], report.id if report else None, version.n if version else None)


def record_gone(session: Session, cap: CaptureIn) -> Stored:
    """A 404/410 where a report used to be: mark it withdrawn, keep every version."""
    sid = source_id(session, cap.source)
    report = _locked_report_at(session, sid, cap.url)
    if report is not None and report.withdrawn_at is None and report.url == cap.url:
        report.withdrawn_at, report.withdrawn_reason = cap.fetched_at, "gone"
    body_sha = put_blob(session, cap.body) if cap.body else None
    capture = _insert_capture(
        session, cap, sid, "gone", body_sha, report.id if report else None, None, cap.note
    )
    log.append_inserted(session, "capture", [capture])
    return Stored(capture["id"], report.id if report else None)


def record_other(session: Session, cap: CaptureIn, kind: str, note: str | None = None) -> Stored:
    """Evidence only (blocked by an anti-bot gateway, unparsable, …): no report changes.

    The capture is filed under the report whose URL it is, if any, so ``captures`` shows
    an auditor that the page was tried and blocked — never that it was withdrawn.
    """
    sid = source_id(session, cap.source)
    report_id = _ID_AT_URL.scalar(session, {"source": sid, "url": cap.url})
    body_sha = put_blob(session, cap.body) if cap.body else None
    capture = _insert_capture(session, cap, sid, kind, body_sha, report_id, None, note)
    log.append_inserted(session, "capture", [capture])
    return Stored(capture["id"], report_id)
