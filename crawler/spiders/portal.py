"""The portal spider: from a source's start URLs to every annual report on the portal.

Discovery spends the page budget where reports are likely (:mod:`crawler.links`): the
report column and the disclosure sections first, their pagination at the same priority,
pages listed in sitemaps (:mod:`crawler.sitemaps`), and the rest of the site as a
fallback bounded by depth, by how many hops it may stray from anything promising
(``NIANBAO_MAX_COLD_HOPS``) and by the source's page budget (enforced in priority order
by :class:`crawler.middlewares.PageBudgetMiddleware`). Every address is canonicalised
(:mod:`crawler.urls`) and checked for traps (:mod:`crawler.traps`) before it is queued,
so one page is fetched once per crawl.

Pages that might be reports go to the pipelines with their raw response; attachments
(PDF/DOC/DOCX) are followed from them. Every other page fetched whole goes to the page
cache as a ``listing`` item, so the next crawl can ask for it conditionally; a 304 comes
back as the stored copy, whose links are followed as if it had been downloaded
(:mod:`crawler.conditional`). URLs of reports already in the archive are
re-requested directly, so a report that left its column is still checked. Every request
that fails or is refused is logged with its reason and counted (``portal/skipped/*``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from twisted.python.failure import Failure

from nianbao.crawler import cms, failures, sitemaps
from nianbao.crawler import links as linkmod
from nianbao.crawler.classify import classify
from nianbao.crawler.fallback import Fallback
from nianbao.crawler.items import CaptureItem
from nianbao.crawler.reading import PageReading, ReadJob, read, read_job, to_attachment
from nianbao.crawler.traps import PagerGuard, TrapGuard
from nianbao.crawler.urls import canonical, is_attachment, is_binary
from nianbao.crawler.wire import Wire, header_pairs, rebuilt
from nianbao.models.runs import RECEIVED
from nianbao.pipelines import stage
from nianbao.pipelines.decode import charset_of, decode, scrapy_codec
from nianbao.pipelines.derive import document_for
from nianbao.pipelines.workers import WorkerLost


def _confirmed(response: Response) -> bool:
    """The stored copy of a page a 304 confirmed (crawler.conditional), not a download."""
    return "cached" in response.flags and "nianbao_304" in response.meta


def _content_type(response: Response) -> str:
    return (response.headers.get(b"Content-Type") or b"").decode("latin-1")


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def _headers(headers: Any, wire: Wire | None = None) -> dict[str, list[str]]:
    """``{name: [values]}`` of the response headers: as received when the exchange was
    recorded (Scrapy's copy has lost Content-Encoding once the body was decoded, and its
    connection headers), else Scrapy's view."""
    if wire is not None and wire.response_head:
        out: dict[str, list[str]] = {}
        for name, value in header_pairs(wire.response_head):
            out.setdefault(name, []).append(value)
        return out
    return {k.decode("latin-1"): [v.decode("latin-1") for v in vs] for k, vs in headers.items()}


def _wire(response: Response) -> Wire | None:
    """The recorded exchange behind ``response`` (None for a copy rebuilt from the archive)."""
    if "cached" in response.flags:
        return None
    wire = response.meta.get("nianbao_wire")
    return wire if isinstance(wire, Wire) else None


def _cert_sha256(response: Response) -> str | None:
    cert = getattr(response, "certificate", None)
    if cert is None:
        return None
    try:
        return hashlib.sha256(cert.dump()).hexdigest()  # DER (ASN.1) is dump()'s default
    except Exception:  # noqa: BLE001 - a certificate we cannot serialise is just not recorded
        return None


def _sent_form(response: Response) -> dict[str, str]:
    """What a form POST sent, for the capture of its answer: a CMS answers many forms under
    one address (jpage groups, Epoint pages), and the recorded exchange keeps only the
    request's head. Empty for a GET."""
    request = response.request
    if request is None or request.method == "GET" or not request.body:
        return {}
    return {"method": request.method, "form": request.body.decode("latin-1")}


def link_priority(text: str, url: str) -> int:
    """Higher for links more likely to lead to a report (kept for callers of 0.1)."""
    return linkmod.score(text, url)


class PortalSpider(scrapy.Spider):
    name = "portal"
    # Read from the settings in from_crawler.
    max_pages: int
    max_queued: int
    max_depth: int
    max_cold_hops: int
    page_maxsize: int
    attachment_maxsize: int
    use_sitemaps: bool
    resumed: bool  # continuing a JOBDIR queue after a graceful stop
    obey_robots: bool
    pooled_reading: bool
    fallback: Fallback
    guard: TrapGuard
    pagers: PagerGuard

    def __init__(
        self,
        source: str | None = None,
        start_urls: Any = None,
        allowed_domains: Any = None,
        organ: str | None = None,
        max_pages: Any = None,
        known_urls: Any = None,
        not_due: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.start_urls = _as_list(start_urls)
        if not self.start_urls:
            raise ValueError("the portal spider needs start_urls (-a start_urls=URL[,URL...])")
        self.source = source or re.sub(r"\W+", "-", self.start_urls[0].split("//")[-1]).strip("-")
        self.organ = organ
        domains = _as_list(allowed_domains) or [
            re.sub(r":\d+$", "", u.split("//", 1)[-1].split("/", 1)[0]) for u in self.start_urls
        ]
        self.allowed_domains = domains
        if max_pages:
            raise ValueError("the page budget is a setting: -s NIANBAO_MAX_PAGES=N")
        self.known_urls = _as_list(known_urls)
        # Report URL -> when it is due: checked too recently to be asked again (the revisit
        # schedule, models.incremental.not_due). Neither the known URL nor a link to it is
        # requested; its links were followed when it was fetched.
        self.not_due: dict[str, Any] = dict(not_due or {})
        self.queued = 0
        self.seen: set[str] = set()
        self.robots_read: set[str] = set()
        self.pager_refused: set[str] = set()  # pager links not followed (counted once)

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> PortalSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        s = crawler.settings
        spider.max_pages = s.getint("NIANBAO_MAX_PAGES")
        spider.max_queued = spider.max_pages * s.getint("NIANBAO_QUEUE_FACTOR")
        spider.max_depth = s.getint("NIANBAO_MAX_DEPTH")
        spider.max_cold_hops = s.getint("NIANBAO_MAX_COLD_HOPS")
        spider.page_maxsize = s.getint("NIANBAO_MAX_PAGE_BYTES")
        spider.attachment_maxsize = s.getint("DOWNLOAD_MAXSIZE")
        spider.use_sitemaps = s.getbool("NIANBAO_SITEMAPS")
        spider.resumed = s.getbool("NIANBAO_RESUMED")
        spider.guard = TrapGuard(s.getint("NIANBAO_TRAP_MAX_PER_PATTERN"))
        spider.pagers = PagerGuard(s.getint("NIANBAO_TRAP_MAX_EMPTY_PAGES"))
        spider.fallback = Fallback(s.getint("NIANBAO_FALLBACK_BATCH"))
        spider.obey_robots = s.getbool("ROBOTSTXT_OBEY")
        # pages are read in the cleaning pool when the crawl has one (crawler/reading.py)
        spider.pooled_reading = s.getint("NIANBAO_CLEAN_WORKERS") > 0
        crawler.signals.connect(spider.idle, signal=signals.spider_idle)
        if spider.use_sitemaps and spider.obey_robots:
            crawler.signals.connect(spider.robots_received, signal=signals.response_received)
        return spider

    def robots_received(self, response: Response, request: scrapy.Request, spider: Any) -> None:
        """Read Sitemap: lines from the robots.txt Scrapy's RobotsTxtMiddleware fetched,
        rather than fetching it a second time."""
        if not request.meta.get("dont_obey_robotstxt") or not request.url.endswith("/robots.txt"):
            return
        if request.url in self.robots_read or not self._allowed(request.url):
            return
        self.robots_read.add(request.url)
        for req in self.parse_robots(response):
            self.crawler.engine.crawl(req)

    def idle(self) -> None:
        """Scrapy's idle signal: the requests and the items are done. The fallback batch
        is usually out already (:class:`~nianbao.crawler.fallback.FrontierWatch`)."""
        if self.release_fallback():
            raise DontCloseSpider("fallback crawl continues")

    def release_fallback(self) -> bool:
        """The promising frontier is exhausted: release the next batch of fallback links
        (True if any was released)."""
        if not self.fallback:
            return False
        if self.crawler.stats.get_value("budget/exhausted"):
            self.logger.info(
                "page budget of %s spent; %s fallback links not crawled",
                self.max_pages,
                len(self.fallback),
            )
            self.crawler.stats.inc_value("portal/skipped/budget", self.fallback.clear())
            return False
        batch = self.fallback.release()
        self.crawler.stats.inc_value("portal/fallback_released", len(batch))
        for request in batch:
            self.crawler.engine.crawl(request)
        return True

    # --- queueing -----------------------------------------------------------------------

    def _allowed(self, url: str) -> bool:
        host = url.split("//", 1)[-1].split("/", 1)[0].split(":")[0].lower()
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    def _request(
        self,
        url: str,
        *,
        priority: int = 0,
        kind: str = "page",
        text: str = "",
        cold: int = 0,
        level: int = 0,
        callback: Any = None,
        meta: dict[str, Any] | None = None,
        formdata: dict[str, str] | None = None,
    ) -> scrapy.Request | None:
        """A request within the source's domains, once per canonical URL (and form), trap-checked.

        ``kind`` is ``start``, ``page`` (trap-checked), ``list`` (a CMS adapter's list page),
        ``attachment``, ``known`` (a report already archived), ``robots`` or ``sitemap``;
        pages get the NIANBAO_MAX_PAGE_BYTES size limit, the rest DOWNLOAD_MAXSIZE.
        ``level`` counts links followed from a start URL, pagination excluded (a column
        of 40 list pages is one level deep); ``cold`` counts hops since the last
        promising link. ``formdata`` makes it a form POST (jpage groups, Epoint API pages)."""
        url = canonical(url)
        # A form POST is its own request whatever its address: a CMS answers many forms under
        # one URL (jpage groups of two columns, Epoint pages of one API).
        key = url if formdata is None else f"{url} {urlencode(sorted(formdata.items()))}"
        if key in self.seen or not self._allowed(url):
            return None
        stats = self.crawler.stats
        if formdata is None and kind != "start" and url in self.not_due:
            self.seen.add(key)
            stats.inc_value("revisit/not_due")
            self.logger.debug("not asking %s again before %s", url, self.not_due[url])
            return None
        if kind == "page":
            reason = self.guard.check(url, text)
            if reason:
                stats.inc_value(f"portal/trap/{reason}")
                self.logger.debug("not following %s: %s", url, reason)
                return None
        if self.queued >= self.max_queued:
            stats.inc_value("portal/skipped/queue_full")
            return None
        self.seen.add(key)
        self.queued += 1
        maxsize = (
            self.page_maxsize if kind in ("page", "list", "start") else self.attachment_maxsize
        )
        request_meta = {
            "cold": cold,
            "level": level,
            "link_priority": priority,
            "download_maxsize": maxsize,
        } | (meta or {})
        # robots.txt and sitemaps are a sitemap-only source's only way in. Ctrl-C while a
        # sitemap is fetched drops the requests its callback yields, but Scrapy's JOBDIR
        # keeps its fingerprint: a resumed crawl that let the dupefilter drop the sitemap
        # fetched nothing. So a *resumed* crawl lets them past the dupefilter
        # (``self.seen`` still asks for each once per process). Not otherwise: workers
        # sharing a Redis frontier rely on the shared dupefilter to fetch a sitemap once.
        dont_filter = self.resumed and kind in ("robots", "sitemap")
        if formdata is not None:
            return scrapy.FormRequest(
                url,
                formdata=formdata,
                callback=callback or self.parse,
                errback=self.failed,
                priority=priority,
                meta=request_meta,
                dont_filter=dont_filter,
            )
        return scrapy.Request(
            url,
            callback=callback or self.parse,
            errback=self.failed,
            priority=priority,
            meta=request_meta,
            dont_filter=dont_filter,
        )

    async def start(self) -> AsyncIterator[Any]:
        for url in self.start_urls:
            # never refused as a trap; the address as given (its #fragment) for the CMS adapters
            req = self._request(url, priority=10, kind="start", meta={"start_url": url})
            if req:
                yield req
        for url in self.known_urls:
            req = self._request(url, priority=30, kind="known", meta={"known_report": True})
            if req:
                yield req
        if self.use_sitemaps and (self.resumed or not self.obey_robots):
            # Not obeying robots.txt, Scrapy does not fetch it: read its Sitemap: lines here.
            # Resumed, the start URLs are in JOBDIR's seen list and the queue may be empty
            # (stopped while a sitemap was fetched): then no request would make Scrapy
            # fetch robots.txt and a sitemap-only source would yield nothing.
            for origin in dict.fromkeys(sitemaps.robots_url(u) for u in self.start_urls):
                req = self._request(origin, priority=40, kind="robots", callback=self.parse_robots)
                if req:
                    yield req

    # --- sitemaps -----------------------------------------------------------------------

    def parse_robots(self, response: Response) -> Iterator[Any]:
        listed = sitemaps.from_robots(response) if response.status == 200 else []
        self.crawler.stats.inc_value("portal/sitemaps_in_robots", len(listed))
        for url in listed or [sitemaps.default_sitemap(response.url)]:
            req = self._request(url, priority=35, kind="sitemap", callback=self.parse_sitemap)
            if req:
                yield req

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        if response.status != 200:
            return
        self.crawler.stats.inc_value(RECEIVED)
        entries = sitemaps.parse(response, self.attachment_maxsize)
        stats = self.crawler.stats
        stats.inc_value("portal/sitemap_entries", len(entries.pages))
        for url in entries.sitemaps:
            req = self._request(url, priority=35, kind="sitemap", callback=self.parse_sitemap)
            if req:
                yield req
        # Promising entries are queued at once, the rest join the fallback crawl.
        for url in entries.pages:
            value = linkmod.score("", url)
            kind = "attachment" if is_attachment(url) else "page"
            meta: dict[str, Any] = {"from_sitemap": True}
            if kind == "attachment":
                meta |= {"landing_url": response.url, "landing_title": None}
            req = self._request(url, priority=value + 5, kind=kind, cold=1, level=1, meta=meta)
            if value > 0 or kind == "attachment":
                if req:
                    yield req
            else:
                self.fallback.push(req)

    # --- pages --------------------------------------------------------------------------

    def _item(self, response: Response, kind: str, **extra: Any) -> CaptureItem:
        wire = _wire(response)
        body = wire.body if wire is not None and wire.body is not None else response.body
        return CaptureItem(
            source=self.source,
            url=response.url,
            status=response.status,
            fetched_at=datetime.now(UTC),
            kind=kind,
            headers=_headers(response.headers, wire),
            body=body,
            cached="cached" in response.flags,
            wire=wire,
            cert_sha256=_cert_sha256(response),
            **extra,
        )

    def _a_304(self, response: Response, kind: str, headers: Any) -> CaptureItem:
        """The capture of a 304 answer: ``response`` may be the stored copy it confirmed
        (crawler.conditional), the 304's own exchange and headers in its meta."""
        wire = response.meta.get("nianbao_wire")
        wire = wire if isinstance(wire, Wire) else None
        return CaptureItem(
            source=self.source,
            url=response.url,
            status=304,
            fetched_at=datetime.now(UTC),
            kind=kind,
            headers=_headers(headers, wire),
            wire=wire,
        )

    def _not_modified(self, response: Response) -> CaptureItem:
        """A 304 at a report URL: the report seen again, unchanged."""
        confirmed = response.meta.get("nianbao_304")
        return self._a_304(
            response, "not_modified", confirmed if confirmed is not None else response.headers
        )

    def _evidence(self, response: Response) -> Iterator[CaptureItem]:
        """A page that is not a report, kept as evidence of what the portal listed: the 304 it
        answered (its stored copy confirmed), or the page fetched whole. One rule for every
        list page: HTML, a CMS's JSON or XML answer, fetched by GET or by a form POST (the
        exchange recorded with it holds the form). A copy rebuilt from the archive without a
        304 is not new evidence."""
        if "nianbao_page_304" in response.meta:
            yield self._a_304(response, "listing", response.meta["nianbao_page_304"])
        elif response.status == 200 and "cached" not in response.flags:
            yield self._item(response, "listing", context=_sent_form(response) or None)

    def _page_item(
        self,
        response: Response,
        context: dict[str, Any] | None = None,
        reading: PageReading | None = None,
        **extra: Any,
    ) -> CaptureItem:
        """A report candidate: the capture, its context (kept with it, so ``reprocess``
        derives exactly what the crawl did), and the Document the stages clean (already
        cleaned, sealed, when the page was read in a cleaning worker)."""
        context = self._context(response, context)
        item = self._item(response, "page", context=context, **extra)
        if reading is not None and reading.doc is not None:
            item.doc, item.cleaned = reading.doc, reading.spent
            return item
        item.doc = document_for(response.body, response.url, _content_type(response), context)
        if reading is not None:
            item.doc.decoded_as = reading.encoding
        return item

    @staticmethod
    def _context(response: Response, context: dict[str, Any] | None) -> dict[str, Any]:
        return {k: v for k, v in ((context or {}) | _sent_form(response)).items() if v}

    def parse(self, response: Response, **_: Any) -> Any:
        """What a fetched page yields: its capture, and the requests for what it links.

        Returns an iterator; with a cleaning pool running (:mod:`pipelines.stage`), a
        coroutine for one, awaiting the page's reading in the pool (:mod:`crawler.reading`,
        which says why). Scrapy takes either from a callback."""
        kind = classify(response)
        stats = self.crawler.stats
        if kind == "not_modified":  # answer to a conditional request: seen again, unchanged
            stats.inc_value(RECEIVED)
            return iter((self._not_modified(response),))
        if kind == "page" and self.pooled_reading:
            pool = stage.running_pool()
            if pool is not None and pool.broken is None:
                return self._parse_in_pool(response, pool)
        return self._parse_here(response, kind)

    def _received(self, response: Response, kind: str) -> tuple[list[CaptureItem], bool]:
        """The capture a page yields before it is read, and whether to read it: the stored
        copy a 304 confirmed, a 404 at a known report, a gateway's block page. A page
        received whole (or confirmed by a 304) is counted: a source that received none
        "failed"."""
        stats = self.crawler.stats
        out = []
        # The stored copy of a report a 304 confirmed: its capture, then its links as usual.
        if _confirmed(response):
            out.append(self._not_modified(response))
        if kind == "gone":
            # Not a page received: a source answering only 404 failed (models.runs).
            stats.inc_value(f"portal/skipped/http_{response.status}")
            if response.meta.get("known_report"):
                out.append(self._item(response, "gone"))
            return out, False
        if kind == "blocked":
            stats.inc_value("portal/blocked")
            self.logger.warning(
                "blocked by an anti-bot gateway at %s (HTTP %s)", response.url, response.status
            )
            out.append(self._item(response, "blocked"))
            return out, False
        stats.inc_value(RECEIVED)
        return out, True

    def _parse_here(self, response: Response, kind: str) -> Iterator[Any]:
        received, go_on = self._received(response, kind)
        yield from received
        if not go_on:
            return
        meta = response.meta
        # A document: archived only as an attachment of a report page, a report-named link,
        # a sitemap entry or a known report; the pipelines decide what it is.
        if kind == "document":
            if _confirmed(response):
                return
            if meta.get("known_report") or meta.get("landing_url") or is_attachment(response.url):
                yield self._page_item(
                    response,
                    {
                        "landing_title": meta.get("landing_title"),
                        "landing_link_text": meta.get("landing_link_text"),
                        "landing_fields": meta.get("landing_fields"),
                    },
                    landing_url=meta.get("landing_url"),
                )
            return
        ctype = _content_type(response)
        # decode()'s look at the bytes, once: for Scrapy's text and for the cleaning worker
        found = decode(response.body, charset_of(ctype)).encoding
        response = rebuilt(response, encoding=scrapy_codec(found))
        reading = read(
            response,  # type: ignore[arg-type]
            found,
            meta.get("cms"),
            self._cms_url(response),
            bool(meta.get("known_report")),
        )
        yield from self._act(response, reading)

    async def _parse_in_pool(self, response: Response, pool: Any) -> list[Any]:
        """:meth:`_parse_here` for a page read in the cleaning pool, a candidate cleaned there."""
        received, _go_on = self._received(response, "page")
        meta = response.meta
        job = ReadJob(
            cls=type(response),  # type: ignore[arg-type]
            url=response.url,
            status=response.status,
            body=response.body,
            content_type=_content_type(response),
            came_from=meta.get("cms"),
            cms_url=self._cms_url(response),
            known_report=bool(meta.get("known_report")),
            clean=(
                None
                if _confirmed(response) or "nianbao_page_304" in meta
                else self._context(response, None)
            ),
        )
        try:
            reading = await pool.submit(read_job, job)
        except WorkerLost as exc:
            # Its bytes are kept (as any page's); its links are not followed this time.
            self.crawler.stats.inc_value("portal/read_lost")
            self.logger.error("reading %s failed: %s", response.url, exc)
            return [*received, *self._evidence(response)]
        self.crawler.stats.inc_value("portal/read_in_pool")
        return [*received, *self._act(response, reading)]

    def _cms_url(self, response: Response) -> str:
        """The address the CMS adapters are told: a start page as the user gave it (a
        fragment can name a column, gkmlpt's …/index#<id>; canonical addresses drop
        fragments)."""
        given = response.meta.get("start_url")
        return given if given and canonical(given) == canonical(response.url) else response.url

    def _act(self, response: Response, reading: PageReading) -> Iterator[Any]:
        """What a page yields once read: its capture or evidence, its attachments, the
        lists a CMS reaches and the links worth following."""
        meta = response.meta
        if reading.json:
            # A CMS list API's answer (gkmlpt, Epoint): no HTML to read; the adapter reads it.
            yield from self._evidence(response)
            yield from self._cms_lists(response, reading)
            return
        if reading.targets is not None:
            self.crawler.signals.send_catch_log(
                linkmod.page_links, page=canonical(response.url), targets=reading.targets
            )
        if "nianbao_page_304" in meta:
            # A page the archive holds as a non-report page answered 304: the same bytes
            # recognition turned down last time. Its 304 is the capture; links as usual.
            yield from self._evidence(response)
            if reading.candidate:
                yield from self._attachments(response, reading)
        elif reading.candidate or meta.get("known_report"):
            if not _confirmed(response):
                self.crawler.stats.inc_value("portal/candidates")
                yield self._page_item(response, reading=reading)
            yield from self._attachments(response, reading)
        else:
            yield from self._evidence(response)
        yield from self._cms_lists(response, reading)
        yield from self._follow(response, reading.links)

    def _attachments(self, response: Response, reading: PageReading) -> Iterator[scrapy.Request]:
        landing: dict[str, Any] = {"landing_url": response.url, "landing_title": reading.title}
        for link in reading.links:
            if to_attachment(link):
                if "landing_fields" not in landing:  # the page's 索引号, 发布机构, dates …
                    landing["landing_fields"] = reading.landing_fields or {}
                req = self._request(
                    link.url,
                    priority=25,
                    kind="attachment",
                    level=response.meta.get("level", 0) + 1,
                    meta={**landing, "landing_link_text": link.text},
                )
                if req:
                    yield req

    def _follow(self, response: Response, page_links: list[linkmod.Link]) -> Iterator[Any]:
        parent_priority = response.meta.get("link_priority", 0)
        parent_cold = response.meta.get("cold", 0)
        parent_level = response.meta.get("level", 0)
        pagers = {
            link.url for link in page_links if linkmod.is_pager(link.text, link.url, response.url)
        }
        listing = response.meta.get("pager_of") or canonical(response.url)
        pager_spent = self.pagers.exhausted(
            listing, [canonical(link.url) for link in page_links if link.url not in pagers]
        )
        for link in page_links:
            url = link.url
            if is_binary(url):
                continue
            value = linkmod.score(link.text, url)
            # A link whose text names a report: its text is the best title for whatever
            # it leads to, including a document under an address that does not say so.
            named = linkmod.score(link.text, "") >= linkmod.HOT
            landing = (
                {
                    "landing_url": response.url,
                    "landing_title": link.text,
                    "landing_link_text": link.text,
                }
                if named
                else {}
            )
            if to_attachment(link):
                if named:  # a report column listing its PDFs/DOCXs directly
                    req = self._request(
                        url, priority=25, kind="attachment", level=parent_level + 1, meta=landing
                    )
                    if req:
                        yield req
                continue
            level = parent_level + 1
            if url in pagers:
                # Another page of this list: as promising and as deep as the list itself,
                # unless the last pages of it brought no new link (an endless pager).
                if pager_spent:
                    if canonical(url) not in self.pager_refused:
                        self.pager_refused.add(canonical(url))
                        self.crawler.stats.inc_value("portal/trap/empty_pages")
                    continue
                priority, cold, level = max(value, parent_priority), parent_cold, parent_level
                landing = {**landing, "pager_of": listing}
            elif level > self.max_depth:
                self.crawler.stats.inc_value("portal/skipped/depth")
                continue
            else:
                if value == 0 and parent_priority >= linkmod.HOT:
                    value = linkmod.WARM  # an item of the report column, whatever its text
                priority, cold = value, (0 if value > 0 else parent_cold + 1)
            if cold > self.max_cold_hops:
                self.crawler.stats.inc_value("portal/skipped/cold")
                continue
            req = self._request(
                url, priority=priority, text=link.text, cold=cold, level=level, meta=landing
            )
            yield from self._send_or_hold(req, priority)

    def _send_or_hold(self, req: scrapy.Request | None, priority: int) -> Iterator[Any]:
        """A promising request (priority > 0) now; any other to the fallback crawl, which
        the spider releases once a source's promising requests are done."""
        if priority > 0:
            if req:
                yield req
        else:
            self.fallback.push(req)

    def _cms_lists(self, response: Response, reading: PageReading) -> Iterator[Any]:
        """List pages a CMS reaches without plain links (crawler/cms/), as pagers of this
        page: as promising and as deep as the list itself."""
        for name, page in reading.cms:
            priority = response.meta.get("link_priority", 0)
            if page.item:  # an article the list names: followed as a link in the list
                yield from self._cms_item(response, page, name)
                continue
            req = self._request(
                page.url,
                priority=priority,
                kind="list",
                cold=response.meta.get("cold", 0),
                level=response.meta.get("level", 0),
                formdata=page.formdata,
                meta={"cms": (name, page.state), **page.extra},
            )
            if req is not None:
                self.crawler.stats.inc_value(f"portal/cms/{name}")
            yield from self._send_or_hold(req, priority)

    def _cms_item(self, response: Response, page: cms.ListPage, name: str) -> Iterator[Any]:
        """An item of a CMS list (``ListPage(item=True)``), scored as :meth:`_follow` scores
        an item of a report column: one level deeper, at least WARM under a HOT list."""
        meta = response.meta
        parent_priority, level = meta.get("link_priority", 0), meta.get("level", 0) + 1
        if level > self.max_depth:
            self.crawler.stats.inc_value("portal/skipped/depth")
            return
        value = linkmod.score(page.text, page.url)
        if value == 0 and parent_priority >= linkmod.HOT:
            value = linkmod.WARM
        cold = 0 if value > 0 else meta.get("cold", 0) + 1
        if cold > self.max_cold_hops:
            self.crawler.stats.inc_value("portal/skipped/cold")
            return
        named = linkmod.score(page.text, "") >= linkmod.HOT
        landing = (
            {
                "landing_url": response.url,
                "landing_title": page.text,
                "landing_link_text": page.text,
            }
            if named
            else {}
        )
        req = self._request(
            page.url, priority=value, text=page.text, cold=cold, level=level, meta=landing
        )
        if req is not None:
            self.crawler.stats.inc_value(f"portal/cms/{name}/items")
        yield from self._send_or_hold(req, value)

    # --- failures -----------------------------------------------------------------------

    def failed(self, failure: Failure) -> None:
        """Log and count why a request produced nothing; nothing is archived for it."""
        failures.record(failure, self.crawler.stats, self.logger)
