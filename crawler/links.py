"""What a link is worth to a crawler looking for annual reports.

Spend the page budget where reports are likely: links whose text or address names the
report column (年度报告, 年报, ``ndbg``, ``gknb`` …) come first, then the disclosure
sections that hold it (政府信息公开, 政务公开, ``xxgk``, ``zwgk`` …), then the rest of the
site as a bounded fallback. Pagination links (下一页, page numbers, ``index_1.html``,
``?page=2``) inherit the priority of the list they page through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml import etree
from scrapy.selector import Selector
from w3lib.html import get_base_url

from nianbao.crawler.urls import canonical

HOT = 20
WARM = 5
COLD_PENALTY = -5

_HOT_TEXT = re.compile(r"(年度报告|年报|年度工作报告)")
_WARM_TEXT = re.compile(
    r"(政府信息公开|信息公开|政务公开|公开目录|信息公开目录|法定主动公开|主动公开|公开专栏)"
)
# Column slugs: ndbg 年度报告, gknb/xxgknb/zfxxgknb 公开年报, nb 年报 (as a whole segment).
_HOT_URL = re.compile(
    r"(ndbg|gknb|xxgknb|zfxxgknb|zwgknb|nianbao|annual|(^|[/_=-])nb([/_.=&-]|$))", re.I
)
_WARM_URL = re.compile(r"(xxgk|zwgk|gkml|zfxxgk|xxgkml|zfgk|govinfo|openness)", re.I)
_COLD_TEXT = re.compile(
    r"(新闻|要闻|动态|图片|视频|专题|English|登录|注册|留言|信箱|投诉|招聘|旅游|天气|无障碍|长者|繁體|简体)"
)
_PAGER_WORDS = re.compile(r"^\s*(下一页|下页|后页|上一页|上页|前页|尾页|末页)\s*$")
# Ambiguous on their own (首页 is also the home page): pagers only within the list's folder.
_PAGER_MARKS = re.compile(r"^\s*(首页|\d{1,4}|>|>>|»|›|<|<<|«|‹)\s*$")
_PAGER_URL = re.compile(
    r"(index_\d+\.s?html?$|[?&](page|pageno|pagenum|pageindex|p|pn|curpage|currentpage)=\d+|_\d+\.s?html?$)",
    re.I,
)
_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S | re.I)


def score(text: str, url: str) -> int:
    """Higher for links more likely to lead to a report."""
    path = urlsplit(url)
    where = path.path + ("?" + path.query if path.query else "")
    value = 0
    if _HOT_TEXT.search(text) or _HOT_URL.search(where):
        value += HOT
    if _WARM_TEXT.search(text) or _WARM_URL.search(where):
        value += WARM
    if not value and _COLD_TEXT.search(text):
        value = COLD_PENALTY
    return value


def is_pager(text: str, url: str, page_url: str) -> bool:
    """A link to another page of the same list."""
    here, there = urlsplit(page_url), urlsplit(url)
    if here.netloc != there.netloc:
        return False
    if _PAGER_WORDS.match(text):
        return True
    same_folder = here.path.rsplit("/", 1)[0] == there.path.rsplit("/", 1)[0]
    # index_2.html next to index.html, list.php?page=2 next to list.php?page=1
    return same_folder and bool(_PAGER_MARKS.match(text) or _PAGER_URL.search(url))


# The page's own lxml tree, asked directly: parsel wraps every node a query returns in a
# Selector (≈ 230 a page on a county portal: each anchor, each of its text nodes), which
# was a third of the spider's parse. Compiled once, returning plain strings; the same
# XPath parsel builds from the CSS it was given before ("a", "::text").
_ANCHORS = etree.XPath("descendant-or-self::a")
_TEXTS = etree.XPath("descendant-or-self::text()", smart_strings=False)
_OTHER_HREFS = etree.XPath("//*[not(self::a)]/@href", smart_strings=False)
_SCRIPTS = etree.XPath("//script/text()", smart_strings=False)


@dataclass
class Link:
    url: str
    text: str


def links(selector: Selector, page_url: str, html: str) -> list[Link]:
    """Every ``<a href>`` of a page, including the records Hanweb (大汉) column pages
    carry inside ``<script type="text/xml"><datastore>`` as CDATA, which HTML parsers
    do not see as links.

    Relative links resolve against the page's ``<base href>`` when it has one, as in a
    browser: the same join as Scrapy's ``response.urljoin`` (w3lib's ``get_base_url`` on
    the first 4 KB), which :mod:`crawler.linkwatch` uses, so both see the same targets.
    """
    from urllib.parse import urljoin

    if selector.type == "json":  # as parsel's css() said before: JSON has no anchors
        raise ValueError("a JSON body has no links")
    base_url = get_base_url(html[:4096], page_url)
    out: list[Link] = []
    anchors = _ANCHORS(selector.root)
    for cdata in _RECORD.findall(html):
        anchors.extend(_ANCHORS(Selector(text=cdata).root))
    for a in anchors:
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "mailto:", "tel:", "#", "data:")):
            continue
        try:
            url = urljoin(base_url, href)
        except ValueError:  # "http://[broken" and the like: not a link anyone follows
            continue
        if not url.startswith(("http://", "https://")):
            continue
        text = " ".join(t.strip() for t in _TEXTS(a) if t.strip())
        text = text or a.get("title", "")
        out.append(Link(url, text))
    return out


# Signal the spider sends once per page it parsed (status 200, downloaded or rebuilt from
# the page cache), with ``page`` (canonical URL) and ``targets`` (:func:`targets`): the
# one link extraction per page that crawler/linkwatch.py reuses.
page_links = object()

# Beyond <a href>: other elements' href (area, link) and absolute URLs in JSON list APIs.
# Seeing too many targets only ever withdraws less.
_JSON_URL = re.compile(r'"(https?:(?:\\?/){2}[^"\s]+)"')
_SCRIPT_HREF = re.compile(r"""href\s*=\s*["']?([^"'\s<>]+)""", re.I)
_SKIP = ("javascript:", "mailto:", "tel:", "#")


def targets(
    selector: Selector, page_url: str, html: str, found: list[Link] | None = None
) -> set[str]:
    """Canonical URLs a page points to, for judging whether a report is still linked:
    ``found`` (the page's :func:`links`, computed once by the spider) plus every other
    element's ``href`` and the absolute URLs in JSON."""
    from urllib.parse import urljoin

    if found is None:
        try:
            found = links(selector, page_url, html)
        except ValueError:  # a JSON body: parsel selects it with JMESPath, not CSS
            found = []
    out: set[str] = set()
    for link in found:
        try:
            out.add(canonical(link.url))
        except ValueError:
            continue
    base_url = get_base_url(html[:4096], page_url)
    if selector.type == "json":  # parsel selects JSON with JMESPath, not XPath
        hrefs, scripts = [], []
    else:
        hrefs, scripts = _OTHER_HREFS(selector.root), _SCRIPTS(selector.root)
    for href in hrefs:
        href = href.strip()
        if href and not href.startswith(_SKIP):
            try:
                out.add(canonical(urljoin(base_url, href)))
            except ValueError:
                continue
    for script in scripts:  # document.write('<a href=…')
        for href in _SCRIPT_HREF.findall(script):
            href = href.strip()
            if href and not href.startswith(_SKIP):
                try:
                    out.add(canonical(urljoin(base_url, href)))
                except ValueError:
                    continue
    if '"http' in html:
        for url in _JSON_URL.findall(html):
            try:
                out.add(canonical(url.replace("\\/", "/")))
            except ValueError:
                continue
    out.discard(canonical(page_url))
    return out
