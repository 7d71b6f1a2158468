"""The page cache: the latest copy of each non-report page, for conditional recrawls.

A recrawl of an unchanged portal should cost almost nothing, but the crawl must still
follow every column list to find new reports. So the archive keeps, per source and URL,
the last body of every page that was not a report together with its ``ETag`` /
``Last-Modified``: the next crawl asks for the page conditionally and, on 304, follows the
links of the stored copy (:mod:`crawler.conditional`). Report pages are not cached here:
their raw captures are in ``captures``/``blobs`` already and a 304 there is evidence in
its own right (a ``not_modified`` capture).

Writes come in batches from the store pipeline's writer thread, as one ``INSERT … ON
CONFLICT DO UPDATE`` per batch (:mod:`models.upsert`), so many crawler processes may write
the same page and the last one wins, which for a cache is right.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import upsert
from models.incremental import Validators
from models.tables import Page, Source

# Longer URLs are not cached (the unique index on (source, url) has a size limit); such a
# page is simply downloaded whole every time.
MAX_URL = 1000
# A page much larger than any column list is not worth keeping a second copy of.
MAX_BODY = 2_000_000


@dataclass(frozen=True)
class CachedPage:
    url: str
    fetched_at: datetime
    etag: str | None
    last_modified: str | None
    content_type: str | None
    body: bytes  # uncompressed


def cacheable(url: str, body: bytes, etag: str | None, last_modified: str | None) -> bool:
    """Whether a page is worth caching: it has a validator to ask with, and sane sizes."""
    return bool(etag or last_modified) and len(url) <= MAX_URL and len(body) <= MAX_BODY


def validators_for(session: Session, source_name: str) -> dict[str, Validators]:
    """URL → validators of every cached page of this source (loaded once per crawl)."""
    rows = session.execute(
        select(Page.url, Page.etag, Page.last_modified)
        .join(Source, Source.id == Page.source_id)
        .where(Source.name == source_name)
    )
    return {url: Validators(etag, lm) for url, etag, lm in rows}


def load(session: Session, source_name: str, url: str) -> CachedPage | None:
    """The cached copy of one page, decompressed."""
    row = session.execute(
        select(Page.fetched_at, Page.etag, Page.last_modified, Page.content_type, Page.body)
        .join(Source, Source.id == Page.source_id)
        .where(Source.name == source_name, Page.url == url)
    ).one_or_none()
    if row is None:
        return None
    fetched_at, etag, last_modified, content_type, body = row
    return CachedPage(url, fetched_at, etag, last_modified, content_type, zlib.decompress(body))


def save(session: Session, source_id: int, pages: Iterable[CachedPage]) -> int:
    """Insert or overwrite the cached copies; returns how many rows were written."""
    rows = {  # one row per URL: ON CONFLICT may not touch a row twice in one statement
        p.url: {
            "source_id": source_id,
            "url": p.url,
            "fetched_at": p.fetched_at,
            "etag": p.etag,
            "last_modified": p.last_modified,
            "content_type": p.content_type,
            "body": zlib.compress(p.body, 6),
        }
        for p in pages
        if cacheable(p.url, p.body, p.etag, p.last_modified)
    }
    if not rows:
        return 0
    upsert.upsert_rows(  # in URL order: concurrent batches lock rows in one order, no deadlock
        session,
        Page.__table__,
        [rows[url] for url in sorted(rows)],
        conflict=["source_id", "url"],
        update=["fetched_at", "etag", "last_modified", "content_type", "body"],
    )
    return len(rows)
