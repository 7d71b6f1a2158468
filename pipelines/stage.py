"""The Scrapy side of a cleaning stage: call the stage's pure function on the item's document.

Stats go under ``clean/``: ``clean/removed_blocks`` and ``clean/removed/<rule>`` count what
the stages took out, ``clean/flag/<flag>`` the documents flagged (spun_text, …), so a
crawl's summary shows at a glance whether a cleaning rule suddenly fires everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nianbao.pipelines.document import Document


class StagePipeline:
    """Base for the per-stage pipelines; subclasses set ``stage`` to a module's ``run``."""

    stage: Callable[[Document], Document]

    def __init__(self, stats: Any = None) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> StagePipeline:
        return cls(crawler.stats)

    def process_item(self, item: Any) -> Any:
        doc = getattr(item, "doc", None)
        if doc is None:
            return item
        removed, flags = len(doc.removed), set(doc.flags)
        item.doc = type(self).stage(doc)
        if self.stats is not None:
            new = item.doc.removed[removed:]
            if new:
                self.stats.inc_value("clean/removed_blocks", len(new))
            for removal in new:
                self.stats.inc_value(f"clean/removed/{removal.rule}")
            for flag in set(item.doc.flags) - flags:
                self.stats.inc_value(f"clean/flag/{flag}")
        return item
