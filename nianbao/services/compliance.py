"""The compliance ledger: who published their annual report by the deadline, and the evidence.

One row per source × organ × report year. The organs of a source are its configured organ
(``organ`` in sources.toml) and every organ its reports name; the years are ``--year`` or
every year its reports cover. The organ type (hence the deadline, :mod:`pipelines.deadlines`)
comes from ``organ_type`` in sources.toml for the source's own organ (for every organ when
the source names none), else from the organ's name.

Status, and the evidence it rests on (``basis``):

* ``on_time``: first captured by the deadline (China time); or the date the report states
  is by the deadline and no complete crawl after the deadline missed it;
* ``late``: the stated date is after the deadline, or a complete crawl after the deadline
  did not find it (it was captured later);
* ``missing``: no report, and a complete crawl ran after the deadline;
* ``unknown``: no report and no complete crawl after the deadline (every crawl since was
  blocked, failed, or none ran) — never ``missing`` on a blocked crawl; or a report whose
  timing nothing proves;
* ``pending``: no report yet and the deadline has not passed.

A *complete* crawl: a run that ended ``ok`` with no blocked capture. Each row also gives the
first capture that saw the report, the first list-page capture (kind ``page``) whose body
links to it, and every version first seen after the deadline (edits after publication).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from nianbao.models.archive import entity, read_blob
from nianbao.models.queries import NotFound, iso
from nianbao.models.tables import Blob, Capture, CrawlRun, Report, ReportUrl, Source, Version
from nianbao.pipelines import deadlines

CHINA = timezone(timedelta(hours=8))  # no daylight saving: a fixed offset is exact


def _day(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


def _complete_runs(session: Session, source_id: int) -> list[CrawlRun]:
    blocked = exists().where(Capture.run_id == CrawlRun.id, Capture.kind == "blocked")
    return list(
        session.scalars(
            select(CrawlRun)
            .where(CrawlRun.source_id == source_id, CrawlRun.status == "ok", ~blocked)
            .order_by(CrawlRun.started_at)
        )
    )


def _first_capture(session: Session, report_id: int) -> Capture | None:
    return session.scalars(
        select(Capture)
        .where(Capture.report_id == report_id, Capture.kind.in_(("report", "not_modified")))
        .order_by(Capture.fetched_at, Capture.id)
        .limit(1)
    ).first()


def _needles(session: Session, report: Report) -> set[bytes]:
    """How a list page may link to a report: its addresses (or its attachment's landing
    page), absolute or as a path."""
    urls = set(session.scalars(select(ReportUrl.url).where(ReportUrl.report_id == report.id)))
    for meta in session.scalars(select(Version.meta).where(Version.report_id == report.id)):
        if (meta or {}).get("landing_url"):
            urls.add(meta["landing_url"])
    return {n.encode() for u in urls for n in (u, urlsplit(u).path) if len(n) > 1}


def _first_links(session: Session, source_id: int, reports: list[Report]) -> dict[int, Capture]:
    """Report id → the earliest list-page capture (kind ``page``) whose body links to it.
    One pass over the source's page captures, each body decoded once."""
    wanted = {r.id: _needles(session, r) for r in reports}
    found: dict[int, Capture] = {}
    pages = session.scalars(
        select(Capture)
        .where(
            Capture.source_id == source_id,
            Capture.kind == "page",
            Capture.body_sha256.is_not(None),
        )
        .order_by(Capture.fetched_at, Capture.id)
    )
    for page in pages:
        if len(found) == len(wanted):
            break
        blob = session.get(Blob, page.body_sha256)
        if blob is None:
            continue
        try:
            body = entity(page, read_blob(blob))
        except Exception:  # noqa: BLE001 — a damaged body is verify's business, not ours
            continue
        for report_id, needles in wanted.items():
            if report_id not in found and any(n in body for n in needles):
                found[report_id] = page
    return found


def _capture_ref(c: Capture | None) -> dict[str, Any] | None:
    return None if c is None else {"capture": c.id, "url": c.url, "fetched_at": iso(c.fetched_at)}


def _row(
    session: Session,
    source: Source,
    organ: str | None,
    year: int,
    report: Report | None,
    runs: list[CrawlRun],
    today: date,
    linked: dict[int, Capture],
) -> dict[str, Any]:
    override = (source.config or {}).get("organ_type")
    if override and (source.organ is None or organ == source.organ):
        kind, kind_from = override, "sources.toml"
    else:
        kind, kind_from = deadlines.organ_type(organ), "name"
    due, rule = deadlines.deadline(year, kind)
    after = [r for r in runs if _day(r.started_at) > due]
    row: dict[str, Any] = {
        "source": source.name,
        "organ": organ,
        "organ_type": kind,
        "organ_type_from": kind_from if kind else None,
        "year": year,
        "deadline": due.isoformat(),
        "deadline_rule": rule,
        "report": None,
        "stated_date": None,
        "first_capture": None,
        "first_linked_by": None,
        "edits_after_deadline": [],
    }
    if report is None:
        if today <= due:
            row["status"], row["basis"] = "pending", "the deadline has not passed"
        elif after:
            row["status"] = "missing"
            row["basis"] = (
                f"complete crawl run {after[0].id} on {_day(after[0].started_at)} found no report"
            )
        else:
            row["status"] = "unknown"
            row["basis"] = "no complete crawl after the deadline (blocked, failed or none ran)"
        return row
    versions = list(
        session.scalars(select(Version).where(Version.report_id == report.id).order_by(Version.n))
    )
    stated = next((v.published for v in versions if v.published), None)
    first = _first_capture(session, report.id)
    row.update(
        report=report.id,
        stated_date=stated,
        first_capture=_capture_ref(first),
        first_linked_by=_capture_ref(linked.get(report.id)),
        edits_after_deadline=[
            {"version": v.n, "first_seen": iso(v.first_seen)}
            for v in versions[1:]
            if _day(v.first_seen) > due
        ],
    )
    seen = _day(first.fetched_at) if first else None
    missed_by = [
        r for r in after if seen is not None and r.finished_at and _day(r.finished_at) < seen
    ]
    if seen is not None and seen <= due:
        row["status"], row["basis"] = "on_time", f"captured on {seen}"
    elif stated and stated > due.isoformat():
        row["status"], row["basis"] = "late", f"the report states {stated}"
    elif missed_by:
        row["status"] = "late"
        row["basis"] = (
            f"complete crawl run {missed_by[0].id} on {_day(missed_by[0].started_at)} did not find it"
        )
    elif stated:
        row["status"], row["basis"] = (
            "on_time",
            f"the report states {stated} (first captured {seen})",
        )
    else:
        row["status"], row["basis"] = (
            "unknown",
            f"no stated date; first captured {seen}, after the deadline",
        )
    return row


def ledger(
    session: Session,
    source: str | None = None,
    year: int | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    query = select(Source).order_by(Source.name)
    if source is not None:
        query = query.where(Source.name == source)
    sources = list(session.scalars(query))
    if source is not None and not sources:
        raise NotFound(f"no source named {source!r} in the archive")
    today = _day(now or datetime.now(UTC))
    rows: list[dict[str, Any]] = []
    for src in sources:
        reports = list(
            session.scalars(
                select(Report).where(Report.source_id == src.id).order_by(Report.first_seen)
            )
        )

        def organ_of(r: Report, src: Source = src) -> str | None:
            return r.organ or src.organ

        organs = sorted({o for o in [src.organ, *(organ_of(r) for r in reports)] if o})
        years = [year] if year is not None else sorted({r.year for r in reports if r.year})
        runs = _complete_runs(session, src.id)
        in_scope = [r for r in reports if year is None or r.year == year]
        linked = _first_links(session, src.id, in_scope)
        for organ in organs or [None]:
            for y in years:
                report = next((r for r in reports if organ_of(r) == organ and r.year == y), None)
                rows.append(_row(session, src, organ, y, report, runs, today, linked))
    return rows


LEDGER_FIELDS = [
    "source",
    "organ",
    "organ_type",
    "year",
    "deadline",
    "status",
    "basis",
    "report",
    "stated_date",
    "first_capture",
    "first_capture_at",
    "first_linked_by",
    "first_linked_at",
    "edits_after_deadline",
]


def ledger_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ledger flattened for CSV: capture ids and times, edits as ``v2@2024-05-01``."""
    out = []
    for r in rows:
        first, linked = r["first_capture"] or {}, r["first_linked_by"] or {}
        out.append(
            {
                **{k: r[k] for k in LEDGER_FIELDS if k in r},
                "first_capture": first.get("capture"),
                "first_capture_at": first.get("fetched_at"),
                "first_linked_by": linked.get("capture"),
                "first_linked_at": linked.get("fetched_at"),
                "edits_after_deadline": " ".join(
                    f"v{e['version']}@{e['first_seen'][:10]}" for e in r["edits_after_deadline"]
                ),
            }
        )
    return out
