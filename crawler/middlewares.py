"""Downloader-side politeness and safety: the page budget, back-off retries, redirect
loops, binary pages.

- :class:`PageBudgetMiddleware` spends the source's page budget as requests leave the
  scheduler, i.e. in priority order.

- :class:`BackoffRetryMiddleware` replaces Scrapy's RetryMiddleware, which re-queues a
  failed request at once. A site answering 429/503 is asking us to slow down, so a retry
  waits ``Retry-After`` (when the server sends one, up to a cap) or an exponential
  back-off before it is re-issued; on 429/503 the source's whole crawl pauses meanwhile.
  Other sources (other crawlers) keep being crawled. ``NIANBAO_MAX_DOWNLOAD_SECONDS``
  bounds the time one URL may take across all its attempts: Scrapy's
  ``DOWNLOAD_TIMEOUT`` already cuts one attempt whose body trickles (its timer runs until
  the last byte), but four 30 s attempts at a page sending 12 bytes/s cost two minutes.
  Each attempt gets what is left of the total as its timeout; no retry starts once the
  total is spent (:class:`DownloadTimeLimit`, counted ``portal/skipped/timeout``).
- :class:`RedirectLoopMiddleware` stops ``A → B → A`` chains at the first repeat
  (compared by canonical URL, so session-id variants count as the same page) instead of
  burning ``REDIRECT_MAX_TIMES`` requests on every entry into the loop.
- :class:`BinaryGuard` stops a download whose headers say ``text/html`` but whose first
  bytes are an image, archive or executable, so it never reaches the pipelines as a
  "page". A body sent with ``Content-Encoding`` (gzip, deflate, br, zstd: nearly every
  real portal) is judged by its first *decoded* bytes; when those cannot be had from the
  first chunk, the guard lets it through and the decoder's own size limit
  (:mod:`crawler.wire`) bounds it. PDF/DOC/DOCX bytes under a wrong type are let through: that is a mislabelled
  attachment, and the extractor sniffs magic bytes. Oversized bodies are cut off by
  Scrapy's own ``DOWNLOAD_MAXSIZE`` (and the spider's per-page ``download_maxsize``).
- :class:`HttpMetaRefresh` is Scrapy's MetaRefreshMiddleware for ``http(s)`` targets only.
  Scrapy builds the redirect request before it looks at the target's scheme, and a
  ``Request`` for ``javascript:…`` raises "Missing scheme": the page carrying the refresh
  was lost. Such a page is kept as it is (the refresh cannot be followed anyway).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy import signals
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured, StopDownload
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.response import get_meta_refresh, response_status_message
from twisted.internet import task
from w3lib.url import safe_url_string

from nianbao.crawler.urls import canonical
from nianbao.pipelines import entity, stage
from nianbao.pipelines.attachments import is_document

logger = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None if absent or bad."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


async def _sleep(seconds: float) -> None:
    from twisted.internet import reactor

    await maybe_deferred_to_future(task.deferLater(reactor, seconds, lambda: None))


class DownloadTimeLimit(IgnoreRequest):
    """One URL took ``NIANBAO_MAX_DOWNLOAD_SECONDS`` across its attempts."""


# meta: seconds this URL's earlier attempts and waits took (carried by the retry request,
# so it survives a JOBDIR queue and a shared Redis frontier), and when this attempt started
# (time.monotonic() of the process downloading it)
_SPENT = "nianbao_download_spent"
_ATTEMPT = "nianbao_attempt_started"


class BackoffRetryMiddleware(RetryMiddleware):
    """RetryMiddleware that waits before each retry (settings ``NIANBAO_BACKOFF_*``) and
    bounds one URL's attempts by ``NIANBAO_MAX_DOWNLOAD_SECONDS`` in total."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.base = settings.getfloat("NIANBAO_BACKOFF_BASE")
        self.cap = settings.getfloat("NIANBAO_BACKOFF_MAX")
        self.total = settings.getfloat("NIANBAO_MAX_DOWNLOAD_SECONDS")  # 0: no limit
        self.per_try = settings.getfloat("DOWNLOAD_TIMEOUT")
        self.pausing = 0  # waits in progress that hold the engine paused

    def left(self, request: Request) -> float | None:
        """Seconds left of this URL's total download time (None: no limit)."""
        if self.total <= 0:
            return None
        spent = float(request.meta.get(_SPENT, 0.0))
        started = request.meta.get(_ATTEMPT)
        if started is not None:
            spent += time.monotonic() - started
        return self.total - spent

    def process_request(self, request: Request, spider: Any = None) -> None:
        if self.total <= 0:
            return None
        request.meta.pop(_ATTEMPT, None)
        left = self.left(request)
        assert left is not None
        if left <= 0:
            raise self._over(request)
        request.meta[_ATTEMPT] = time.monotonic()
        # DownloadTimeoutMiddleware (350) set the per-attempt timeout; a retry gets no more
        # than what is left of the total.
        request.meta["download_timeout"] = min(self.per_try, left)
        return None

    def _charge(self, retry: Request, request: Request, wait: float) -> None:
        """Carry the time spent so far, and the wait before it, on the retry request."""
        left = self.left(request)
        if left is not None:
            retry.meta[_SPENT] = self.total - left + wait
            retry.meta.pop(_ATTEMPT, None)

    def _over(self, request: Request) -> DownloadTimeLimit:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("backoff/time_limit")
        logger.warning(
            "%s took %.0f s over %d attempt(s), the download time limit"
            " (NIANBAO_MAX_DOWNLOAD_SECONDS); given up",
            request.url,
            self.total,
            request.meta.get("retry_times", 0) + 1,
        )
        return DownloadTimeLimit(f"download time limit at {request.url}")

    def delay(self, retry_times: int, response: Response | None = None) -> float:
        """Seconds to wait before retry number ``retry_times`` (1, 2, …)."""
        if response is not None:
            asked = retry_after_seconds(response.headers.get(b"Retry-After"))
            if asked is not None:
                return min(asked, self.cap)
        return min(self.base * 2 ** (retry_times - 1), self.cap)

    async def _wait(self, retry: Request, response: Response | None, reason: str) -> Request:
        seconds = self.delay(retry.meta.get("retry_times", 1), response)
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("backoff/retries")
        stats.inc_value("backoff/waited_ms", int(seconds * 1000))
        # 429 and 503 are the site asking us to slow down: no new request to it until the
        # wait is over. One crawler crawls one source, so pausing its engine pauses that
        # site only (requests already handed to the downloader, at most
        # CONCURRENT_REQUESTS, still complete).
        site_wide = response is not None and response.status in (429, 503) and seconds > 0
        logger.info(
            "%s at %s: retrying in %.1f s%s",
            reason,
            retry.url,
            seconds,
            " (site paused meanwhile)" if site_wide else "",
        )
        engine = self.crawler.engine
        if site_wide and engine is not None:
            self.pausing += 1
            engine.pause()
        try:
            if seconds > 0:
                await _sleep(seconds)
        finally:
            if site_wide and engine is not None:
                self.pausing -= 1
                if self.pausing == 0:
                    engine.unpause()
        return retry

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: Any = None
    ) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        reason = response_status_message(response.status)
        retry = self._retry(request, reason)
        if retry is None:
            return response
        # a wait the server asked for (429/503, Retry-After) is politeness, not download
        # time: only the attempt itself counts
        self._charge(retry, request, 0.0)
        return await self._wait(retry, response, f"HTTP {response.status}")

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception, spider: Any = None
    ) -> Request | Response | None:
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get(
            "dont_retry", False
        ):
            return None
        left = self.left(request)
        if left is not None and left <= self.delay(request.meta.get("retry_times", 0) + 1):
            raise self._over(request)  # no time for another attempt
        retry = self._retry(request, exception)
        if retry is None:
            return None
        self._charge(retry, request, self.delay(retry.meta.get("retry_times", 1)))
        return await self._wait(retry, None, type(exception).__name__)


class RedirectLoop(IgnoreRequest):
    """A redirect chain came back to an address it had already visited."""


class RedirectLoopMiddleware:
    """Drop a redirect whose target was already visited in the same redirect chain."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> RedirectLoopMiddleware:
        if not crawler.settings.getbool("REDIRECT_ENABLED"):
            raise NotConfigured
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        location = response.headers.get(b"Location")
        if response.status not in (301, 302, 303, 307, 308) or not location:
            return response
        target = safe_url_string(response.urljoin(location.decode("latin-1")))
        chain = [*request.meta.get("redirect_urls", []), request.url]
        seen = [canonical(u) for u in chain]
        # One hop to a session-id variant of the same page is normal (Tomcat URL rewriting);
        # coming back to an address already in the chain is a loop.
        if target in chain or seen.count(canonical(target)) >= 2:
            self.crawler.stats.inc_value("redirect_loop/dropped")
            logger.warning(
                "redirect loop: %s redirects back to %s (chain: %s); not followed",
                request.url,
                target,
                " → ".join(chain),
            )
            raise RedirectLoop(f"redirect loop at {request.url}")
        return response


_BINARY_MAGIC = (
    b"GIF8",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"Rar!",
    b"7z\xbc\xaf",
    b"MZ",
    b"\x1f\x8b",
    b"BM",
    b"\x00\x00\x01\x00",
    b"ID3",
    b"FWS",
    b"CWS",
    b"RIFF",
)


def looks_binary(chunk: bytes) -> bool:
    """Not text: a known binary magic number, or NUL bytes in the first kilobyte
    (UTF-16 text, which has NULs, announces itself with a BOM)."""
    head = chunk[:1024]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    return head.startswith(_BINARY_MAGIC) or b"\x00" in head


class BinaryGuard:
    """Stop downloads announced as text whose first bytes are binary (an extension)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        # id(request) → (declared Content-Type, Content-Encoding values)
        self.pending: dict[int, tuple[str, list[bytes]]] = {}

    @classmethod
    def from_crawler(cls, crawler: Any) -> BinaryGuard:
        if not crawler.settings.getbool("NIANBAO_BINARY_GUARD_ENABLED"):
            raise NotConfigured
        guard = cls(crawler)
        crawler.signals.connect(guard.headers_received, signal=signals.headers_received)
        crawler.signals.connect(guard.bytes_received, signal=signals.bytes_received)
        crawler.signals.connect(guard.forget, signal=signals.request_left_downloader)
        return guard

    def headers_received(
        self, headers: Any, body_length: int, request: Request, spider: Any
    ) -> None:
        ctype = (headers.get(b"Content-Type") or b"").decode("latin-1").lower()
        if not ctype or ctype.startswith(("text/", "application/xhtml")):
            self.pending[id(request)] = (ctype or "(none)", headers.getlist(b"Content-Encoding"))

    def bytes_received(self, data: bytes, request: Request, spider: Any) -> None:
        pending = self.pending.pop(id(request), None)
        if pending is None:
            return
        ctype, encodings = pending
        if entity.codings(encodings):
            # Compressed on the wire: judge what it decodes to. Undecodable yet (a tiny
            # first chunk, an unknown coding): let the decoder and its size limit decide.
            decoded = entity.peek(data, encodings)
            if decoded is None:
                return
            data = decoded
        if not looks_binary(data) or is_document(data):
            return
        self.crawler.stats.inc_value("binary_guard/stopped")
        logger.warning(
            "binary body served as %s at %s (starts %r); download stopped, not archived",
            ctype,
            request.url,
            data[:8],
        )
        raise StopDownload(fail=True)

    def forget(self, request: Request, spider: Any) -> None:
        self.pending.pop(id(request), None)


class BudgetExhausted(IgnoreRequest):
    """The source's page budget is spent."""


class PageBudgetMiddleware:
    """Enforce the per-source page budget when a request reaches the downloader.

    Counting here rather than when a link is found means the budget is spent in
    priority order: the scheduler hands out report-column links first, and the
    fallback crawl of the rest of the site gets what is left. robots.txt is exempt
    (without it, robots rules could not be obeyed).
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.sent = 0

    @classmethod
    def from_crawler(cls, crawler: Any) -> PageBudgetMiddleware:
        if crawler.settings.getbool("NIANBAO_SHARED_BUDGET"):
            raise NotConfigured  # the shared frontier spends one budget for all workers
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if request.url.endswith("/robots.txt"):
            return None
        limit = self.crawler.settings.getint("NIANBAO_MAX_PAGES")
        if self.sent >= limit:
            self.crawler.stats.inc_value("budget/exhausted")
            raise BudgetExhausted(f"page budget of {limit} requests spent")
        self.sent += 1
        return None


class HttpMetaRefresh(MetaRefreshMiddleware):
    """Follow a ``<meta http-equiv=refresh>`` only to an ``http``/``https`` URL."""

    def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: Any = None
    ) -> Request | Response:
        if isinstance(response, HtmlResponse) and not request.meta.get("dont_redirect"):
            _interval, url = get_meta_refresh(response, ignore_tags=self._ignore_tags)
            if url and urlsplit(urljoin(response.url, url)).scheme not in ("http", "https"):
                logger.debug("meta refresh to %s not followed: not http(s)", url[:80])
                return response
        return super().process_response(request, response)


class CleaningBackpressure:
    """Hold new downloads while the cleaning workers are ``NIANBAO_CLEAN_BACKLOG`` pages
    behind, until they are half that.

    Fetching is cheaper than cleaning, and Scrapy bounds the pages in its pipelines per
    source (5 MB of responses each), not per process: with 300 sources in one crawl, the
    pages waiting for the two cleaning workers reached 10,500 and the crawl process
    1.16 GB (2026-12-01). The pool is the process's, shared by every source, so the wait
    is too: whichever sources have a download due wait together.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit

    @classmethod
    def from_crawler(cls, crawler: Any) -> CleaningBackpressure:
        limit = crawler.settings.getint("NIANBAO_CLEAN_BACKLOG")
        if limit <= 0 or crawler.settings.getint("NIANBAO_CLEAN_WORKERS") <= 0:
            raise NotConfigured
        return cls(limit)

    async def process_request(self, request: Request) -> None:
        pool = stage.running_pool()
        if pool is not None and pool.backlog() >= self.limit:
            await pool.below(max(1, self.limit // 2))
        return None
