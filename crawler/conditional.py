"""Conditional requests for every URL the archive already holds, so an unchanged recrawl is cheap.

At spider open the middleware loads, in a worker thread, two maps of ``ETag`` /
``Last-Modified`` for the source:

* **reports** — the latest capture of each report URL (:func:`models.incremental.
  validators_for`). A 304 there is evidence: the spider hands it on as a ``not_modified``
  capture ("seen again, unchanged").
* **pages** — every other page the last crawl fetched whole: column lists, articles, the
  home page (:mod:`models.pagecache`; the spider sends them to the store pipeline as
  ``listing`` items).

Either way the crawl must still follow the page's links (a column that did not change may
link a report that was missing last time; a report page links its attachments and the
pages around it). So a 304 is replaced by the stored copy — the cached page, or the raw
body of the report capture it confirms — marked ``cached`` (for a report, with the 304's
headers in ``meta["nianbao_304"]``): the spider follows the same links as if it had
downloaded the page, and :mod:`crawler.linkwatch` still sees what the page links to. A
report with no stored text body (a PDF/DOCX) keeps its bare 304.

Only GET requests are made conditional (a Hanweb ``dataproxy.jsp`` POST answers
differently per form, under one URL). A page whose cached copy has vanished meanwhile is
requested again without validators. Settings: ``NIANBAO_CONDITIONAL_ENABLED`` (default
True) turns both off. Stats under ``conditional/``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes

from nianbao.crawler.source import source_of
from nianbao.models import pagecache
from nianbao.models.archive import header
from nianbao.models.db import acquire_engine, release_engine, resolve_url, sessionmaker_for
from nianbao.models.incremental import Validators, latest_report_body, validators_for
from nianbao.models.types import utcnow
from nianbao.pipelines.attachments import is_document

logger = logging.getLogger(__name__)

_CONDITIONAL = (b"If-None-Match", b"If-Modified-Since")


class ConditionalRequests:
    def __init__(self, crawler: Any, db_url: str) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.db_url = db_url
        self.source: str | None = None
        self.reports: dict[str, Validators] = {}
        self.pages: dict[str, Validators] = {}
        self.engine: Any = None
        self.Session: Any = None  # one sessionmaker: each new one builds a Session class

    @classmethod
    def from_crawler(cls, crawler: Any) -> ConditionalRequests:
        if not crawler.settings.getbool("NIANBAO_CONDITIONAL_ENABLED"):
            raise NotConfigured
        mw = cls(crawler, resolve_url(crawler.settings.get("NIANBAO_DB") or None))
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    def _load(self, source: str) -> tuple[dict[str, Validators], dict[str, Validators]]:
        """Blocking (runs in a worker thread): both validator maps, one read-only engine
        kept open for the cached bodies that 304 answers call for."""
        self.engine = acquire_engine(self.db_url, read_only=True)  # one for every source
        self.Session = sessionmaker_for(self.engine)
        with self.Session() as session:
            return validators_for(session, source), pagecache.validators_for(session, source)

    def _cached(self, url: str) -> pagecache.CachedPage | None:
        assert self.source is not None and self.Session is not None
        with self.Session() as session:
            return pagecache.load(session, self.source, url)

    def _confirmed(self, url: str) -> pagecache.CachedPage | None:
        """The report body a 304 at ``url`` confirms, if it is a text page."""
        assert self.source is not None and self.Session is not None
        with self.Session() as session:
            found = latest_report_body(session, self.source, url)
        if found is None:
            return None
        headers, body = found  # the entity: content codings undone
        ctype = header(headers, "content-type")
        if is_document(body[:16]) or not (ctype is None or "html" in ctype.lower()):
            return None  # an attachment: nothing to follow
        return pagecache.CachedPage(
            url, utcnow(), header(headers, "etag"), header(headers, "last-modified"), ctype, body
        )

    async def spider_opened(self, spider: Any) -> None:
        self.source = source_of(self.crawler).name
        # The archive is migrated by the store pipeline, which opens before this signal.
        self.reports, self.pages = await asyncio.to_thread(self._load, self.source)
        self.stats.set_value("conditional/known_urls", len(self.reports))
        self.stats.set_value("conditional/cached_pages", len(self.pages))
        logger.info(
            "conditional requests: validators for %d report URLs and %d cached pages",
            len(self.reports),
            len(self.pages),
        )

    def spider_closed(self, spider: Any) -> None:
        if self.engine is not None:
            release_engine(self.engine)
            self.engine = self.Session = None

    def process_request(self, request: Request) -> None:
        if request.method != "GET" or request.meta.get("nianbao_unconditional"):
            return
        if any(h in request.headers for h in _CONDITIONAL):
            return  # the caller asked for something of its own
        kind, v = "report", self.reports.get(request.url)
        if v is None:
            kind, v = "page", self.pages.get(request.url)
        if v is None:
            return
        if v.etag:
            request.headers[b"If-None-Match"] = v.etag
        if v.last_modified:
            request.headers[b"If-Modified-Since"] = v.last_modified
        request.meta["nianbao_conditional"] = kind
        self.stats.inc_value("conditional/requests")

    async def process_response(self, request: Request, response: Response) -> Response | Request:
        kind = request.meta.get("nianbao_conditional")
        if not kind:
            return response
        if response.status != 304:
            self.stats.inc_value("conditional/modified")
            return response
        self.stats.inc_value("conditional/not_modified")
        if kind == "report":
            confirmed = await asyncio.to_thread(self._confirmed, request.url)
            if confirmed is None:
                return response
            request.meta["nianbao_304"] = response.headers
            return self._replay(request, confirmed)
        cached = await asyncio.to_thread(self._cached, request.url)
        if cached is None:  # dropped from the cache since the crawl began: ask plainly
            self.stats.inc_value("conditional/cache_missing")
            logger.warning("no cached copy of %s any more; fetching it whole", request.url)
            headers = Headers(request.headers)
            for h in _CONDITIONAL:
                headers.pop(h, None)
            meta = {k: v for k, v in request.meta.items() if k != "nianbao_conditional"}
            return request.replace(
                headers=headers, meta=meta | {"nianbao_unconditional": True}, dont_filter=True
            )
        self.stats.inc_value("conditional/replayed")
        request.meta["nianbao_page_304"] = response.headers
        return self._replay(request, cached)

    @staticmethod
    def _replay(request: Request, cached: pagecache.CachedPage) -> Response:
        headers = Headers()
        for name, value in (
            ("Content-Type", cached.content_type),
            ("ETag", cached.etag),
            ("Last-Modified", cached.last_modified),
        ):
            if value:
                headers[name] = value
        cls = responsetypes.from_args(headers=headers, url=request.url, body=cached.body)
        return cls(
            url=request.url,
            status=200,
            headers=headers,
            body=cached.body,
            request=request,
            flags=["cached"],
        )
