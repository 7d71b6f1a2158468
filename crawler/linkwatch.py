"""Notice reports that vanished from their portal's columns while their page still answers.

A portal often withdraws a report by unlinking it, not by deleting the page. This
extension records every link target on every page the crawl fetched (canonical URLs, see
:mod:`crawler.urls`); when the crawl ends having seen the whole portal, reports of the
source that nothing links to any more are marked withdrawn ("unlinked") and those linked
again are restored (:func:`models.archive.reconcile_links`).

"Seen the whole portal" is strict, since a false withdrawal misleads an auditor: the
spider finished normally, the page budget was not exhausted, no page failed to download
or was blocked. Otherwise nothing is changed and ``linkwatch/skipped`` says why.
Settings: ``NIANBAO_LINKWATCH_ENABLED`` (default True). Stats under ``linkwatch/``.

Known limit: links on a page answered 304 are not seen (there is no body); only report
pages get conditional requests, so this matters only for a report page that is the sole
link to another report.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Response, TextResponse

from crawler.urls import canonical
from models import archive
from models.db import make_engine, resolve_url, sessionmaker_for
from models.types import utcnow

logger = logging.getLogger(__name__)

# Stats that mean part of the portal was not seen.
_INCOMPLETE = ("portal/budget_exhausted", "portal/blocked", "downloader/exception_count")


def _reconcile(db_url: str, source: str, linked: set[str]) -> tuple[list[int], list[int]]:
    engine = make_engine(db_url)
    try:
        with sessionmaker_for(engine).begin() as session:
            return archive.reconcile_links(session, source, linked, utcnow())
    finally:
        engine.dispose()


class LinkWatch:
    def __init__(self, crawler: Any, db_url: str) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.db_url = db_url
        self.linked: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Any) -> LinkWatch:
        if not crawler.settings.getbool("NIANBAO_LINKWATCH_ENABLED"):
            raise NotConfigured
        ext = cls(crawler, resolve_url(crawler.settings.get("NIANBAO_DB") or None))
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def response_received(self, response: Response, request: Any, spider: Any) -> None:
        if not isinstance(response, TextResponse) or response.status != 200:
            return
        for href in response.css("a::attr(href)").getall():
            href = href.strip()
            if href and not href.startswith(("javascript:", "mailto:", "tel:", "#")):
                self.linked.add(canonical(response.urljoin(href)))

    def _why_incomplete(self, reason: str) -> str | None:
        if reason != "finished":
            return f"crawl ended with {reason!r}"
        for key in _INCOMPLETE:
            if self.stats.get_value(key):
                return key
        statuses = self.stats.get_stats()
        failed = [
            k
            for k, v in statuses.items()
            if k.startswith("downloader/response_status_count/5") and v
        ]
        if failed or self.stats.get_value("retry/max_reached"):
            return "pages failed with a server error"
        return None

    async def spider_closed(self, spider: Any, reason: str) -> None:
        source = getattr(spider, "source", None)
        why = self._why_incomplete(reason)
        if not source or why:
            self.stats.set_value("linkwatch/skipped", why or "no source")
            return
        withdrawn, restored = await asyncio.to_thread(_reconcile, self.db_url, source, self.linked)
        self.stats.set_value("linkwatch/withdrawn", len(withdrawn))
        self.stats.set_value("linkwatch/restored", len(restored))
        for rid in withdrawn:
            logger.warning("report %s is no longer linked from %s: marked withdrawn", rid, source)
