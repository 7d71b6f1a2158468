"""What the spider hands to the pipelines: one observed response."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nianbao.crawler.wire import Wire
from nianbao.pipelines.document import Document, Sealed


@dataclass
class CaptureItem:
    """A response worth archiving.

    ``kind`` says what the spider saw: ``page`` (a report candidate: ``doc`` carries the raw
    body through the cleaning stages), ``not_modified`` (304 to a conditional request),
    ``gone`` (404/410 at a known report URL), ``blocked`` (an anti-bot gateway answered) or
    ``listing`` (any other page: kept as a ``page`` capture whenever its bytes change, and
    asked for conditionally next time, see :mod:`models.pagecache`). ``cached`` marks a
    response rebuilt from the archive after a 304 (:mod:`crawler.conditional`): its body is
    never archived again; for a listing, the 304 itself is.

    ``body`` is the body as received (before content decoding) and ``wire`` the exchange
    as it crossed the network (:mod:`crawler.wire`); ``doc`` carries the decoded entity
    through the cleaning stages, and comes out of a cleaning worker sealed for the writer
    (:class:`~pipelines.document.Sealed`).
    """

    source: str
    url: str
    status: int
    fetched_at: datetime
    kind: str = "page"
    headers: dict[str, Any] = field(default_factory=dict)
    body: bytes = b""
    landing_url: str | None = None
    # What the crawl saw around a report candidate (the landing page's title and fields,
    # the link text): stored with the capture (captures.context) for reprocess.
    context: dict[str, Any] = field(default_factory=dict)
    doc: Document | Sealed | None = None
    # CPU-ms of each cleaning stage, when ``doc`` was cleaned where the page was read (a
    # cleaning worker, crawler/reading.py): the cleaning pipeline only counts them
    cleaned: dict[str, float] | None = None
    cached: bool = False
    wire: Wire | None = None
    cert_sha256: str | None = None

    def __repr__(self) -> str:  # Scrapy logs items; never dump the body
        return f"<CaptureItem {self.kind} {self.status} {self.url} ({len(self.body)} bytes)>"
