"""The source a crawler crawls: one home for its name, organ and page budget.

``nianbao crawl`` runs one Scrapy crawler per source and gives each its own settings
(``NIANBAO_SOURCE``, ``NIANBAO_SOURCE_ORGAN``, ``NIANBAO_SOURCE_ORGAN_TYPE``,
``NIANBAO_MAX_PAGES``), so every component —
the store pipeline, conditional requests, link watch, progress, the shared frontier, the page
budget — reads them in ``from_crawler``/at spider open through :func:`source_of`, never
from spider attributes that others may change. Under plain ``scrapy crawl portal -a
start_urls=…`` without ``-s NIANBAO_SOURCE=…``, the name is the one the spider derived
from its first start URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SourceConf:
    name: str
    organ: str | None
    max_pages: int  # requests per crawl, spent in priority order
    organ_type: str | None = None  # sources.toml override: "government" / "department"


def source_of(crawler: Any) -> SourceConf:
    """The source of this crawler (call once the spider exists: at or after spider open)."""
    settings = crawler.settings
    spider = crawler.spider
    name = settings.get("NIANBAO_SOURCE") or getattr(spider, "source", None) or spider.name
    organ = settings.get("NIANBAO_SOURCE_ORGAN") or getattr(spider, "organ", None) or None
    organ_type = settings.get("NIANBAO_SOURCE_ORGAN_TYPE") or None
    return SourceConf(str(name), organ, settings.getint("NIANBAO_MAX_PAGES"), organ_type)
