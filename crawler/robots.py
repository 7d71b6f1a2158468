"""robots.txt as RFC 9309 reads it: a server error means "disallow all".

Scrapy's ``RobotsTxtMiddleware`` parses whatever body robots.txt answered with, so a portal
whose robots.txt answers 503 (an overloaded server, a gateway in front of it) is crawled
as if it allowed everything. RFC 9309 §2.3.1.4: when robots.txt is unreachable because of
a server error, the crawler must assume complete disallow. :class:`RobotsTxt` does that
for the host for the rest of the crawl, logs it once, and refuses each request with
:class:`RobotsUnavailable` (counted ``portal/skipped/robots_unavailable``, so the run's
reason names it); the next crawl asks again. The 5xx answer was already retried with
back-off by :class:`crawler.middlewares.BackoffRetryMiddleware`. A 4xx robots.txt (404:
there is none) still means "allow all" (§2.3.1.3), as in Scrapy.

It overrides ``_parse_robots`` and ``process_request_2`` of Scrapy 2.19's middleware;
``tests/test_robots.py`` fails if an upgrade changes them.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached

from nianbao.crawler.wire import rebuilt

logger = logging.getLogger(__name__)

DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"


class RobotsUnavailable(IgnoreRequest):
    """The host's robots.txt answered a server error: nothing of it may be fetched."""


class RobotsTxt(RobotsTxtMiddleware):
    """RobotsTxtMiddleware reading a 5xx robots.txt as "disallow all" (RFC 9309)."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.unavailable: dict[str, int] = {}  # host → the status its robots.txt answered

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if 500 <= response.status <= 599:
            self.unavailable[netloc] = response.status
            self._stats.inc_value("robotstxt/unavailable")
            logger.warning(
                "robots.txt at %s answered HTTP %s: nothing of %s is fetched in this crawl"
                " (RFC 9309 §2.3.1.4)",
                response.url,
                response.status,
                netloc,
            )
            response = rebuilt(response, body=DISALLOW_ALL)  # no charset guess from the 5xx page
        await super()._parse_robots(response, netloc, request)

    def process_request_2(self, rp: Any, request: Request) -> None:
        status = self.unavailable.get(urlparse_cached(request).netloc)
        if status is not None:
            raise RobotsUnavailable(f"robots.txt answered HTTP {status}")
        super().process_request_2(rp, request)
