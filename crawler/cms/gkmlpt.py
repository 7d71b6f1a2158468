"""Guangdong's 政府信息公开目录 platform (gkmlpt): columns whose lists are JSON.

Every Guangdong government site serves its disclosure catalogue from ``…/gkmlpt/``: a
column is ``…/gkmlpt/index#<column id>``, a single-page app whose list the browser loads
from ``…/gkmlpt/api/all/<column id>?page=N&sid=<site id>``. The answer is JSON: the
page's ``articles`` (each with its ``url``, ``…/gkmlpt/content/…/post_<id>.html``, and
``title``) and ``total``, the articles in the column. The fragment never reaches a
server, so a crawler that fetches ``…/gkmlpt/index`` sees an empty shell.

This adapter reads column links (``…/gkmlpt/index#<id>``) on any page, and a start URL of
that form, and asks the API for their first page; each JSON answer gives the articles to follow as items of the
column and, while ``total`` says more remain, the next page. The site id (``SID: '…'``
in the gkmlpt pages' script) is added when the page that links the column carries it;
the API answers without it too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin

from nianbao.crawler.cms.base import ListPage

_COLUMN = re.compile(r"""href\s*=\s*["']([^"'#]*/gkmlpt/index(?:\.html?)?)#(\d+)["']""", re.I)
_SID = re.compile(r"""\bSID\s*[:=]\s*["']?(\d+)""")
# API pages read per column at most (the spider's queue bound applies as well).
MAX_PAGES = 200


@dataclass(frozen=True)
class ApiPage:
    """One request to the list API: which column of which site, which page."""

    api: str  # …/gkmlpt/api/all/<column id>
    page: int
    sid: str | None = None
    size: int | None = None  # articles per page, as the first page answered

    @property
    def url(self) -> str:
        query = {"page": self.page} | ({"sid": self.sid} if self.sid else {})
        return f"{self.api}?{urlencode(query)}"


def columns(text: str, url: str) -> list[ApiPage]:
    """First API pages of the gkmlpt columns ``text`` links to, and of the column ``url``
    itself names (a crawl started at ``…/gkmlpt/index#<id>``)."""
    sid = _SID.search(text)
    found: dict[str, ApiPage] = {}
    here = _COLUMN.findall(f'href="{url}"')
    for href, column in here + _COLUMN.findall(text):
        index = urljoin(url, href)
        base = index[: index.rindex("/gkmlpt/")]
        api = f"{base}/gkmlpt/api/all/{column}"
        found.setdefault(api, ApiPage(api, 1, sid.group(1) if sid else None))
    return list(found.values())


def answer(text: str, asked: ApiPage) -> tuple[list[tuple[str, str]], ApiPage | None]:
    """The (url, title) of the articles of one API answer, and the next page to ask for
    (None when ``total`` is reached, the page is empty, or the answer is not the API's)."""
    try:
        data = json.loads(text)
    except ValueError:
        return [], None
    articles = data.get("articles") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        return [], None
    items: list[tuple[str, str]] = []
    for article in articles:
        if not isinstance(article, dict):
            continue
        link = article.get("url") or article.get("post_url")
        if isinstance(link, str) and link.strip():
            title = article.get("title")
            items.append((urljoin(asked.api, link.strip()), str(title or "").strip()))
    total = data.get("total")
    size = asked.size or len(articles)
    more = (
        bool(articles)
        and len(articles) >= size  # a short page is the last
        and isinstance(total, int)
        and (asked.page - 1) * size + len(articles) < total
        and asked.page < MAX_PAGES
    )
    return items, ApiPage(asked.api, asked.page + 1, asked.sid, size) if more else None


class Gkmlpt:
    """The gkmlpt adapter (see :mod:`nianbao.crawler.cms`): API pages, and their articles
    as items of the column."""

    name = "gkmlpt"

    def next_lists(self, text: str, url: str, state: ApiPage | None) -> Iterator[ListPage]:
        if state is None:
            if "/gkmlpt/" in text or "/gkmlpt/" in url:  # cheap test before the expression
                for first in columns(text, url):
                    yield ListPage(first.url, state=first)
            return
        items, following = answer(text, state)
        for link, title in items:  # the spider keeps to the source's domains
            yield ListPage(link, item=True, text=title)
        if following is not None:
            yield ListPage(following.url, state=following)
