"""Conditional requests for URLs the archive already holds a report capture of.

At spider open the middleware loads, in a worker thread, the ``ETag`` / ``Last-Modified``
of the latest capture of each of the source's report URLs (:func:`models.incremental.
validators_for`); each request for such a URL then carries ``If-None-Match`` /
``If-Modified-Since``, and a server that has nothing new answers 304 with no body, which
the spider hands on as a ``not_modified`` capture ("seen again, unchanged").

Only report URLs get validators: list pages are never sent conditionally (they are not
archived, and a 304 there would hide the links the crawl needs to find new reports).
Settings: ``NIANBAO_CONDITIONAL_ENABLED`` (default True). Stats under ``conditional/``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from models.db import make_engine, resolve_url, sessionmaker_for
from models.incremental import Validators, validators_for

logger = logging.getLogger(__name__)


def load_validators(db_url: str, source: str) -> dict[str, Validators]:
    """Blocking: read the validators map (runs in a worker thread)."""
    engine = make_engine(db_url, read_only=True)
    try:
        with sessionmaker_for(engine)() as session:
            return validators_for(session, source)
    finally:
        engine.dispose()


class ConditionalRequests:
    def __init__(self, crawler: Any, db_url: str) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.db_url = db_url
        self.validators: dict[str, Validators] = {}

    @classmethod
    def from_crawler(cls, crawler: Any) -> ConditionalRequests:
        if not crawler.settings.getbool("NIANBAO_CONDITIONAL_ENABLED"):
            raise NotConfigured
        mw = cls(crawler, resolve_url(crawler.settings.get("NIANBAO_DB") or None))
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        return mw

    async def spider_opened(self, spider: Any) -> None:
        source = getattr(spider, "source", None)
        if not source:
            return
        # The archive is migrated by the store pipeline, which opens before this signal.
        self.validators = await asyncio.to_thread(load_validators, self.db_url, source)
        self.stats.set_value("conditional/known_urls", len(self.validators))
        logger.info("conditional requests: validators for %d URLs", len(self.validators))

    def process_request(self, request: Request) -> None:
        v = self.validators.get(request.url)
        if v is None or b"If-None-Match" in request.headers:
            return
        if v.etag:
            request.headers[b"If-None-Match"] = v.etag
        if v.last_modified:
            request.headers[b"If-Modified-Since"] = v.last_modified
        request.meta["nianbao_conditional"] = True
        self.stats.inc_value("conditional/requests")

    def process_response(self, request: Request, response: Response) -> Response:
        if request.meta.get("nianbao_conditional"):
            if response.status == 304:
                self.stats.inc_value("conditional/not_modified")
            else:
                self.stats.inc_value("conditional/modified")
        return response
