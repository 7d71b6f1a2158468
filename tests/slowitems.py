"""An item pipeline for tests that archives nothing and takes its time: a stand-in for a
busy crawl's cleaning workers and archive writer, which keep report items in the pipelines
for seconds while the source's requests are all done (tests/test_frontier_watch.py).

``NIANBAO_TEST_SLOW_SECONDS``: how long each item waits; ``NIANBAO_TEST_SLOW_LOG``: a file
that gets one line per item as it leaves, ``<time.monotonic()> <url>`` (the clock the demo
server stamps arrivals with, system-wide on Linux).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any


class SlowItems:
    def __init__(self, seconds: float, log: str) -> None:
        self.seconds = seconds
        self.log = log

    @classmethod
    def from_crawler(cls, crawler: Any) -> SlowItems:
        s = crawler.settings
        return cls(s.getfloat("NIANBAO_TEST_SLOW_SECONDS"), s.get("NIANBAO_TEST_SLOW_LOG"))

    async def process_item(self, item: Any) -> Any:
        await asyncio.sleep(self.seconds)
        with open(self.log, "a", encoding="utf-8") as f:
            f.write(f"{time.monotonic()} {item.url}\n")
        return item
