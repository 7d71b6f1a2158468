"""A progress line for operators, independent of the log level.

Every ``NIANBAO_PROGRESS_INTERVAL`` seconds (and once at the end) it prints to stderr:
``[source] 120 pages, 6 candidates, 3 new versions, 0 errors``. Set the interval to 0
to switch it off (``scrapy crawl`` users have LogStats instead).
"""

from __future__ import annotations

import sys
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from nianbao.crawler.source import source_of


class Progress:
    def __init__(self, crawler: Any, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> Progress:
        interval = crawler.settings.getfloat("NIANBAO_PROGRESS_INTERVAL")
        if not interval:
            raise NotConfigured
        ext = cls(crawler, interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def line(self) -> str:
        stats = self.crawler.stats
        get = stats.get_value
        errors = sum(
            v
            for k, v in stats.get_stats().items()
            if k.startswith("downloader/exception_type_count/") or k == "archive/error"
        )
        return (
            f"[{source_of(self.crawler).name}] {get('portal/pages_received', 0)} pages, "
            f"{get('portal/candidates', 0)} candidates, {get('archive/new_versions', 0)} new versions, "
            f"{errors} errors"
        )

    def spider_opened(self, spider: Any) -> None:
        self.loop = task.LoopingCall(lambda: print(self.line(), file=sys.stderr, flush=True))
        self.loop.start(self.interval, now=False)

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.loop and self.loop.running:
            self.loop.stop()
