"""List pages as evidence, and the latest copy of each for conditional recrawls.

Pages that are not reports — column lists, articles, the home page — decide what a crawl
finds, and an auditor may have to prove that a report was linked from its column on a
date. So every such page fetched whole is kept as a capture of kind ``page`` **whenever its
bytes change** (the body is content-addressed in ``blobs``, so an unchanged page costs
nothing), and a 304 for it is a small ``not_modified`` capture with no body: "first linked
on" and "still there on" are both provable from captures.

The "page cache" a recrawl needs is then a view, not a second store: the latest ``page``
capture of each URL gives the validators (``ETag`` / ``Last-Modified``) to ask with and,
when the portal answers 304, the body whose links the crawl follows instead
(:mod:`crawler.conditional`). Report pages are not kept here: their captures are report
captures already.

Writes come in batches from the store pipeline's writer thread: one query for the latest
body hash of the batch's URLs, the new blobs, then the capture rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from nianbao.models import log
from nianbao.models.archive import CaptureIn, body_digest, header, put_blob
from nianbao.models.incremental import Validators, latest_body
from nianbao.models.tables import Capture, Source

# URLs longer than this are kept as evidence but never asked for conditionally.
MAX_URL = 1000


@dataclass(frozen=True)
class CachedPage:
    url: str
    fetched_at: datetime
    etag: str | None
    last_modified: str | None
    content_type: str | None
    body: bytes  # the entity (content codings undone)


def _latest(source_filter: Any) -> Any:
    return (
        select(Capture.url, func.max(Capture.id).label("id"))
        .where(source_filter, Capture.kind == "page", Capture.body_sha256.is_not(None))
        .group_by(Capture.url)
        .subquery()
    )


def validators_for(session: Session, source_name: str) -> dict[str, Validators]:
    """URL → validators of the latest page capture of each page of this source (once per crawl)."""
    source_id = session.scalar(select(Source.id).where(Source.name == source_name))
    if source_id is None:
        return {}
    latest = _latest(Capture.source_id == source_id)
    rows = session.execute(
        select(Capture.url, Capture.headers).join(latest, latest.c.id == Capture.id)
    )
    out: dict[str, Validators] = {}
    for url, headers in rows:
        v = Validators(header(headers, "etag"), header(headers, "last-modified"))
        if (v.etag or v.last_modified) and len(url) <= MAX_URL:
            out[url] = v
    return out


def load(session: Session, source_name: str, url: str) -> CachedPage | None:
    """The latest page capture of ``url``, its body decoded."""
    found = latest_body(session, source_name, url, "page")
    if found is None:
        return None
    capture, body = found
    headers = capture.headers
    return CachedPage(
        url,
        capture.fetched_at,
        header(headers, "etag"),
        header(headers, "last-modified"),
        header(headers, "content-type"),
        body,
    )


def latest_hashes(session: Session, source_id: int, urls: Sequence[str]) -> dict[str, str]:
    """URL → body hash of its latest page capture, for the given URLs."""
    latest = _latest(Capture.source_id == source_id)
    rows = session.execute(
        select(Capture.url, Capture.body_sha256)
        .join(latest, latest.c.id == Capture.id)
        .where(Capture.url.in_(list(urls)))
    )
    return {url: sha for url, sha in rows}


@dataclass
class Saved:
    changed: int = 0  # page captures with a new body
    unchanged: int = 0  # fetched whole, same bytes as the latest capture: no row
    not_modified: int = 0  # 304 rows


def _form(cap: CaptureIn) -> str | None:
    """The form a POST sent (the crawler keeps it in the capture's context)."""
    form = (cap.context or {}).get("form")
    return form if isinstance(form, str) else None


def latest_form_hashes(
    session: Session, source_id: int, urls: Sequence[str]
) -> dict[tuple[str, str], str]:
    """(URL, form) → body hash of the latest page capture answering that form POST.

    A CMS answers many forms under one URL (jpage groups of several columns, the pages of
    an Epoint API), so the URL's latest capture says nothing about another form's answer:
    compared with it, every unchanged answer but one would be stored again on each crawl."""
    rows = session.execute(
        select(Capture.url, Capture.context, Capture.body_sha256)
        .where(Capture.source_id == source_id, Capture.kind == "page")
        .where(Capture.url.in_(list(urls)))
        .order_by(Capture.id)
    )
    out: dict[tuple[str, str], str] = {}
    for url, context, sha in rows:
        form = context.get("form") if isinstance(context, dict) else None
        if isinstance(form, str) and sha:
            out[(url, form)] = sha
    return out


def save(session: Session, source_id: int, pages: Iterable[CaptureIn]) -> Saved:
    """Record a batch of non-report pages: a capture for each new body or 304 (a form
    POST's answer compared with the last answer to the same form)."""
    batch = list(pages)
    out = Saved()
    whole = [p for p in batch if p.status == 200 and p.body is not None]
    known: dict[Any, str] = dict(
        latest_hashes(session, source_id, sorted({p.url for p in whole if _form(p) is None}))
    )
    posted = sorted({p.url for p in whole if _form(p) is not None})
    if posted:
        known.update(latest_form_hashes(session, source_id, posted))
    rows: list[dict[str, object]] = []
    for cap in batch:
        sha = None
        if cap.status == 200 and cap.body is not None:
            sha = body_digest(cap.body)
            form = _form(cap)
            key = cap.url if form is None else (cap.url, form)
            if known.get(key) == sha:
                out.unchanged += 1
                continue
            known[key] = put_blob(session, cap.body, sha)
            out.changed += 1
        elif cap.status == 304:
            out.not_modified += 1
        else:
            continue
        rows.append(
            {
                "run_id": cap.run_id,
                "source_id": source_id,
                "url": cap.url,
                "fetched_at": cap.fetched_at,
                "status": cap.status,
                "headers": cap.headers,
                "body_sha256": sha,
                "kind": "page" if sha else "not_modified",
                "landing_url": None,
                "note": cap.note,
                **cap.exchange(),
            }
        )
    if rows:
        ids = session.scalars(
            insert(Capture).returning(Capture.id, sort_by_parameter_order=True), rows
        ).all()
        log.append(session, "capture", ids)
    return out
