"""The Scrapy side of a cleaning stage: call the stage's pure function on the item's document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipelines.document import Document


class StagePipeline:
    """Base for the per-stage pipelines; subclasses set ``stage`` to a module's ``run``."""

    stage: Callable[[Document], Document]

    def process_item(self, item: Any) -> Any:
        if getattr(item, "doc", None) is not None:
            item.doc = type(self).stage(item.doc)
        return item
