"""Epoint (新点) WebBuilder columns whose lists come from a JSON API.

Sites built on Epoint WebBuilder (public-resource trading centres, and the government sites
of many Jiangsu, Shandong and Henan counties) render a column's list in the browser: a
script POSTs to ``…/rest/frontAppCustomAction/getPageInfoListNew`` (under
``/EpointWebBuilder/`` or a site-specific context such as ``/EpointWebBuilder_zbggzy/``)
with one form field, ``params``, holding JSON::

    {"siteGuid": "<uuid>", "categoryNum": "<column number>", "kw": "", "startDate": "",
     "endDate": "", "pageIndex": <0-based>, "pageSize": <n>}

and the answer is JSON: ``custom.infodata`` lists the page's items (``infourl``,
``title``, ``infodate``) and ``custom.count`` the items of the column. The HTML the crawler
downloads has no link to any of them.

This adapter reads a page that names the endpoint together with a ``siteGuid`` and one or
more ``categoryNum`` values (in its scripts or data attributes), asks the API for the first
page of each column, follows the items as items of the column, and asks for the next page
while ``count`` says more remain. The answer shape and the request form are those of real
portals as public crawlers record them (tests/fixtures/cms/manifest.toml); how a page
carries the parameters varies by site template, so the reading of the page is tolerant.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin

from nianbao.crawler.cms.base import ListPage

ACTION = "frontAppCustomAction/getPageInfoListNew"
_ENDPOINT = re.compile(
    r"""["']((?:https?://[^"'\s]+)?/[^"'\s]*?rest/frontAppCustomAction/getPageInfoListNew)["']"""
)
_SITE = re.compile(r"""siteGuid["']?\s*[:=]\s*["']([0-9A-Fa-f-]{36})["']""")
_CATEGORY = re.compile(r"""categoryNum["']?\s*[:=]\s*["'](\d{3,})["']""", re.I)
_SIZE = re.compile(r"""pageSize["']?\s*[:=]\s*["']?(\d{1,3})\b""")
_TAGS = re.compile(r"<[^>]+>")
# Items per request when the page does not say (the portals' own scripts use 8–20).
PAGE_SIZE = 10
# API pages read per column at most (the spider's queue bound applies as well).
MAX_PAGES = 200


@dataclass(frozen=True)
class ApiPage:
    """One request to the list API: which column of which site, which page."""

    api: str
    site: str
    category: str
    index: int  # 0-based, as the API counts
    size: int = PAGE_SIZE

    def form(self) -> dict[str, str]:
        params = {
            "siteGuid": self.site,
            "categoryNum": self.category,
            "kw": "",
            "startDate": "",
            "endDate": "",
            "pageIndex": self.index,
            "pageSize": self.size,
        }
        return {"params": json.dumps(params, ensure_ascii=False, separators=(",", ":"))}


def columns(text: str, url: str) -> list[ApiPage]:
    """First API pages of the columns a page names (none unless it names the endpoint,
    a site GUID and a column number)."""
    if ACTION not in text:
        return []
    endpoint, site = _ENDPOINT.search(text), _SITE.search(text)
    if not endpoint or not site:
        return []
    size = _SIZE.search(text)
    per = int(size.group(1)) if size and 0 < int(size.group(1)) <= 100 else PAGE_SIZE
    api = urljoin(url, endpoint.group(1))
    categories = dict.fromkeys(_CATEGORY.findall(text))
    return [ApiPage(api, site.group(1), c, 0, per) for c in categories]


def answer(text: str, asked: ApiPage) -> tuple[list[tuple[str, str]], ApiPage | None]:
    """The (url, title) of the items of one API answer, and the next page to ask for
    (None when ``count`` is reached, the page is empty, or the answer is not the API's)."""
    try:
        data = json.loads(text)
    except ValueError:
        return [], None
    custom = data.get("custom") if isinstance(data, dict) else None
    rows = custom.get("infodata") if isinstance(custom, dict) else None
    if not isinstance(rows, list):
        return [], None
    items: list[tuple[str, str]] = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        link = row.get("infourl") or row.get("href")
        if isinstance(link, str) and link.strip():
            title = _TAGS.sub("", str(row.get("title") or row.get("customtitle") or ""))
            items.append((urljoin(asked.api, link.strip()), title.strip()))
    count = custom.get("count") if isinstance(custom, dict) else None
    more = (
        bool(rows)
        and isinstance(count, int)
        and (asked.index + 1) * asked.size < count
        and asked.index + 1 < MAX_PAGES
    )
    following = ApiPage(asked.api, asked.site, asked.category, asked.index + 1, asked.size)
    return items, following if more else None


class Epoint:
    """The Epoint adapter (see :mod:`nianbao.crawler.cms`): API pages (form POSTs to one
    address), and their items as items of the column."""

    name = "epoint"

    def next_lists(self, text: str, url: str, state: ApiPage | None) -> Iterator[ListPage]:
        if state is None:
            for first in columns(text, url):
                yield ListPage(first.api, first.form(), first)
            return
        items, following = answer(text, state)
        for link, title in items:  # the spider keeps to the source's domains
            yield ListPage(link, item=True, text=title)
        if following is not None:
            yield ListPage(following.api, following.form(), following)
