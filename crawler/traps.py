"""Crawler traps: addresses that would spend the page budget without leading to a report.

Two kinds of defence. :func:`trap_reason` refuses a link outright: search results and
search forms, print/share variants of a page, the traditional-script / accessible /
elderly mirrors of the whole site, paths that repeat themselves
(``/a/b/a/b/a/b``, relative-link loops), absurdly long URLs. :class:`TrapGuard` bounds
what cannot be refused by its look alone: calendars and date archives generate a new,
valid-looking address for every day, so each *pattern* of such addresses (digits
collapsed, query values dropped) gets a small number of fetches per crawl; and
:class:`PagerGuard` stops an endless ``?page=N`` pagination (every page answering with the
same items) once a few consecutive pages of it brought no link not seen before.
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import parse_qsl, urlsplit

MAX_URL_LENGTH = 600
_SEARCH_PATH = re.compile(
    r"(^|/)(search|so|query|fulltext|jsearch|solr|es|s)(/|\.(jsp|php|aspx?|do|html?)$|$)"
    r"|search\w*\.(jsp|php|aspx?|do|html?)$",
    re.I,
)
_SEARCH_PARAMS = frozenset(
    {"q", "wd", "kw", "keyword", "keywords", "searchword", "searchkey", "query", "sword", "qt"}
)
_PRINT_PATH = re.compile(
    r"(^|/)(print|share|printpage)(/|$)|[_./-](print|printpage|share)\.(s?html?|jsp|php|aspx?)$",
    re.I,
)
_PRINT_TEXT = re.compile(
    r"^\s*[【\[]?\s*(打印|打印本页|打印此页|分享|分享到|收藏|关闭|关闭窗口)\s*[】\]]?\s*$"
)
# Whole-site mirrors of the same content: the traditional-script, accessible and elderly
# versions most portals link from every page (often on their own host).
_MIRROR_TEXT = re.compile(
    r"^\s*(繁體|繁体|繁體版|繁体版|正體|English|ENGLISH|EN|无障碍|無障礙|无障碍浏览|长者模式|长者版|关怀版|适老版|适老化)\s*$"
)
_MIRROR_URL = re.compile(r"(^|\.|/)(big5|fanti|wza|wzaweb|ft)(\.|/)", re.I)
_DATE_VALUE = re.compile(
    r"^(19|20)\d{2}[-/.](0?[1-9]|1[0-2])([-/.](0?[1-9]|[12]\d|3[01]))?$"
    r"|^(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])?$"
)
_DATE_KEYS = frozenset(
    {"date", "day", "month", "year", "ym", "ymd", "riqi", "rq", "time", "cal", "calendar"}
)
# Calendar pages by name, and date archives: a date right after an archive-ish segment.
_DATE_PATH = re.compile(
    r"(^|/)(calendar|rili|riqi)(/|$|\.|_)"
    r"|(^|/)(archives?|archiver|date|day|month)/(19|20)\d{2}([-/_]?\d{1,2}){0,2}(/|$|\.)",
    re.I,
)
_DATE_ONLY_DIR = re.compile(r"^/((19|20)\d{2}[-/]?(\d{1,2})?([-/]?\d{1,2})?/?)+$")


def trap_reason(url: str, link_text: str = "") -> str | None:
    """Why a link must not be fetched at all, or None."""
    if len(url) > MAX_URL_LENGTH:
        return "url_too_long"
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    counts = Counter(segments)
    if segments and counts.most_common(1)[0][1] >= 3:
        return "repeating_path"
    if _SEARCH_PATH.search(parts.path):
        return "search"
    if any(k.lower() in _SEARCH_PARAMS for k, _ in parse_qsl(parts.query, keep_blank_values=True)):
        return "search"
    if _PRINT_PATH.search(parts.path) or (link_text and _PRINT_TEXT.match(link_text)):
        return "print_or_share"
    if (link_text and _MIRROR_TEXT.match(link_text)) or _MIRROR_URL.search(
        parts.netloc.lower() + parts.path
    ):
        return "mirror"
    return None


def is_date_like(url: str) -> bool:
    """A calendar or date-archive address (not a dated *report* URL such as TRS's
    ``/202401/t20240105_1.html`` or Hanweb's ``/art/2024/1/5/art_1_2.html``)."""
    parts = urlsplit(url)
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        key = key.lower()
        if key in _DATE_KEYS:
            return True
        # A date-shaped value, unless the key names an identifier (id=202401 is a page).
        if not key.endswith("id") and _DATE_VALUE.match(value.strip()):
            return True
    return bool(_DATE_PATH.search(parts.path) or _DATE_ONLY_DIR.match(parts.path))


def pattern(url: str) -> str:
    """The shape of an address: host, path with digit runs collapsed, sorted query keys."""
    parts = urlsplit(url)
    keys = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return f"{parts.netloc}{re.sub(r'[0-9]+', '0', parts.path)}?{'&'.join(keys)}"


class TrapGuard:
    """Allows at most ``max_per_pattern`` date-like addresses of each pattern per crawl."""

    def __init__(self, max_per_pattern: int) -> None:
        self.max_per_pattern = max_per_pattern
        self.counts: Counter[str] = Counter()

    def check(self, url: str, link_text: str = "") -> str | None:
        """None if the link may be fetched (and count it), else the reason it may not."""
        reason = trap_reason(url, link_text)
        if reason:
            return reason
        if is_date_like(url):
            key = pattern(url)
            if self.counts[key] >= self.max_per_pattern:
                return "date_pattern_exhausted"
            self.counts[key] += 1
        return None


class PagerGuard:
    """Bounds pagination that yields nothing new.

    A list whose pager never ends (``?page=N`` answered for every N with the same items)
    spent 233 of a 300-page budget. The pages of one list (the page a pager was first
    found on, and every page reached from it by pager links) are counted as they arrive:
    once ``max_empty`` pages of it in a row brought no link (pager links aside) not seen
    on an earlier page, its pager links are not followed any more; a page that brings
    something new starts the count again. ``max_empty`` 0 switches the guard off.
    """

    def __init__(self, max_empty: int) -> None:
        self.max_empty = max_empty
        self.linked: set[str] = set()
        self.empty: Counter[str] = Counter()  # list → its pages in a row with nothing new

    def exhausted(self, listing: str, links: list[str]) -> bool:
        """Record a page of ``listing`` and its links (canonical, pagers left out); is
        the list's pager to be given up?"""
        new = not self.linked.issuperset(links)
        self.linked.update(links)
        self.empty[listing] = 0 if new else self.empty[listing] + 1
        return self.max_empty > 0 and self.empty[listing] >= self.max_empty
