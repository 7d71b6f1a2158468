"""Notice reports that vanished from their portal's columns while their page still answers.

A portal often withdraws a report by unlinking it, not by deleting the page. This
extension records, for every page the crawl fetched, the URLs it links to (canonical, see
:mod:`crawler.urls`), as the spider extracted them once for following
(:func:`crawler.links.targets`, sent with the ``page_links`` signal). When the crawl ends, :func:`models.withdrawal.reconcile_links` marks
withdrawn ("unlinked") each report whose column page — the page that linked it last time —
was fetched again and no longer links to it, and restores reports linked again.

A false withdrawal misleads an auditor, so besides that per-report evidence the crawl as
a whole must be trustworthy: finished normally, page budget not spent, nothing failed or
blocked (a report pushed from page 1 to page 2 of its column must not look unlinked
because page 2 was never fetched). Otherwise nothing changes and ``linkwatch/skipped``
says why. Settings: ``NIANBAO_LINKWATCH_ENABLED`` (default True; the crawl runner turns it
off for a resumed crawl, which sees only part of the portal). Stats under ``linkwatch/``.

A page answered 304 is rebuilt from its stored copy (:mod:`crawler.conditional`), so its
links are seen as if it had been downloaded (a page without ``ETag``/``Last-Modified`` is
never asked for conditionally: it is downloaded whole every time).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import TextResponse

from nianbao.crawler import links as linkmod
from nianbao.crawler.source import source_of
from nianbao.models import withdrawal
from nianbao.models.db import make_engine, resolve_url, sessionmaker_for
from nianbao.models.types import utcnow
from nianbao.models.writer import Writer

logger = logging.getLogger(__name__)

# Stats (prefixes) that mean part of the portal may not have been seen: the page budget,
# the queue cap, the trap guard (a long column's later pages), fetch errors, blocks.
_INCOMPLETE = (
    "portal/budget_exhausted",
    "budget/exhausted",
    "portal/skipped/budget",
    "portal/skipped/queue_full",
    "portal/skipped/error",
    "portal/skipped/timeout",
    "portal/skipped/robots_unavailable",
    # only the date-pattern cap can leave list pages unfetched (a column paged ?year=…);
    # print/share/search/mirror refusals are on every portal and hide no column page
    "portal/trap/date_pattern_exhausted",
    "portal/trap/empty_pages",  # the same, for a pager cut after pages with nothing new
    "portal/blocked",
    "downloader/exception_count",
    "downloader/response_status_count/5",
    "retry/max_reached",
)


def links(response: TextResponse) -> set[str]:
    """Canonical URLs a page points to (:func:`crawler.links.targets`, the rule the spider
    applies once per page and hands to this extension with the ``page_links`` signal)."""
    return linkmod.targets(response.selector, response.url, response.text)


def _reconcile(
    db_url: str, source: str, linked: dict[str, str], fetched: set[str]
) -> tuple[list[int], list[int]]:
    engine = make_engine(db_url)
    try:
        with sessionmaker_for(engine).begin() as session:
            return withdrawal.reconcile_links(session, source, linked, fetched, utcnow())
    finally:
        engine.dispose()


class LinkWatch:
    """See the module's docstring."""

    def __init__(self, crawler: Any, db_url: str) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.db_url = db_url
        self.linked: dict[str, str] = {}  # link target → a page linking to it
        self.fetched: set[str] = set()  # pages fetched whole (200)

    @classmethod
    def from_crawler(cls, crawler: Any) -> LinkWatch:
        if not crawler.settings.getbool("NIANBAO_LINKWATCH_ENABLED"):
            raise NotConfigured
        ext = cls(crawler, resolve_url(crawler.settings.get("NIANBAO_DB") or None))
        crawler.signals.connect(ext.page_parsed, signal=linkmod.page_links)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def page_parsed(self, page: str, targets: set[str]) -> None:
        """A page fetched whole (200, or a 304 rebuilt from its stored copy) and the link
        targets the spider extracted from it (one extraction per page)."""
        self.fetched.add(page)
        for target in targets:
            if target != page:
                self.linked[target] = min(page, self.linked.get(target, page))

    def _why_incomplete(self, reason: str) -> str | None:
        if reason != "finished":
            return f"crawl ended with {reason!r}"
        for key, value in self.stats.get_stats().items():
            if value and key.startswith(_INCOMPLETE):
                return key
        return None

    async def _reconciled(self, source: str) -> tuple[list[int], list[int]]:
        """:func:`models.withdrawal.reconcile_links` for ``source``: as a job of the crawl's
        archive writer when it has one (its process, its engine, its turn at SQLite's write
        lock: run here, each source's close opened an engine of its own, on the reactor's
        GIL, and waited for that lock behind the writer), else in a thread."""
        writer = Writer.acquire_running(self.db_url)
        if writer is None:
            return await asyncio.to_thread(
                _reconcile, self.db_url, source, self.linked, self.fetched
            )
        try:
            job = writer.submit_now(
                withdrawal.reconcile_links, source, self.linked, self.fetched, utcnow()
            )
            result: tuple[list[int], list[int]] = await asyncio.wrap_future(job)
            return result
        finally:
            writer.release()

    async def spider_closed(self, spider: Any, reason: str) -> None:
        source = source_of(self.crawler).name
        why = self._why_incomplete(reason)
        if not source or why:
            self.stats.set_value("linkwatch/skipped", why or "no source")
            return
        withdrawn, restored = await self._reconciled(source)
        self.stats.set_value("linkwatch/withdrawn", len(withdrawn))
        self.stats.set_value("linkwatch/restored", len(restored))
        for rid in withdrawn:
            logger.warning("report %s is no longer linked from %s: marked withdrawn", rid, source)
