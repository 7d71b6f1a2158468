"""Sitemaps: report pages a portal lists for search engines but may not link to.

``robots.txt`` ``Sitemap:`` lines are read first; without them the conventional
``/sitemap.xml`` is tried. Parsing is Scrapy's own (``scrapy.utils.sitemap``, lxml with
entity resolution off), gzip is inflated with a size cap, and sitemap indexes are
followed. The spider decides which of the listed pages are worth fetching.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from scrapy.http import Response
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

logger = logging.getLogger(__name__)


@dataclass
class SitemapEntries:
    sitemaps: list[str] = field(default_factory=list)  # nested sitemaps (from an index)
    pages: list[str] = field(default_factory=list)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def robots_url(url: str) -> str:
    return origin(url) + "/robots.txt"


def default_sitemap(url: str) -> str:
    return origin(url) + "/sitemap.xml"


def from_robots(response: Response) -> list[str]:
    """The ``Sitemap:`` URLs a robots.txt lists (absolute)."""
    return [
        urljoin(response.url, u)
        for u in sitemap_urls_from_robots(response.body, base_url=response.url)
    ]


def parse(response: Response, max_size: int) -> SitemapEntries:
    """Entries of a sitemap or sitemap index; empty (and logged) when it is not one."""
    body = response.body
    if body[:2] == b"\x1f\x8b":
        try:
            body = gunzip(body, max_size=max_size)
        except (OSError, ValueError) as exc:
            logger.warning("sitemap %s: cannot inflate (%s)", response.url, exc)
            return SitemapEntries()
    try:
        sitemap = Sitemap(body)
    except Exception as exc:  # lxml raises XMLSyntaxError and friends
        logger.warning("sitemap %s: not XML (%s)", response.url, exc)
        return SitemapEntries()
    entries = SitemapEntries()
    target = entries.sitemaps if sitemap.type == "sitemapindex" else entries.pages
    if sitemap.type not in ("sitemapindex", "urlset"):
        logger.warning("sitemap %s: unknown root <%s>", response.url, sitemap.type)
        return entries
    for entry in sitemap:
        loc = (entry.get("loc") or "").strip()
        if loc:
            target.append(urljoin(response.url, loc))
    return entries
