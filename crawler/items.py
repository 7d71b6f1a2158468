"""What the spider hands to the pipelines: one observed response."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipelines.document import Document


@dataclass
class CaptureItem:
    """A response worth archiving.

    ``kind`` says what the spider saw: ``page`` (a report candidate: ``doc`` carries the raw
    body through the cleaning stages), ``not_modified`` (304 to a conditional request),
    ``gone`` (404/410 at a known report URL), ``blocked`` (an anti-bot gateway answered) or
    ``listing`` (any other page fetched whole: kept in the page cache so that the next crawl
    can ask for it conditionally, see :mod:`models.pagecache`). ``cached`` marks a response
    rebuilt from that cache after a 304 (:mod:`crawler.conditional`), never archived again.
    """

    source: str
    url: str
    status: int
    fetched_at: datetime
    kind: str = "page"
    headers: dict[str, Any] = field(default_factory=dict)
    body: bytes = b""
    landing_url: str | None = None
    landing_title: str | None = None
    doc: Document | None = None
    cached: bool = False

    def __repr__(self) -> str:  # Scrapy logs items; never dump the body
        return f"<CaptureItem {self.kind} {self.status} {self.url} ({len(self.body)} bytes)>"
