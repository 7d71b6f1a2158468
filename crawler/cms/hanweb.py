"""Hanweb (大汉) column lists that page through ``dataproxy.jsp`` instead of HTML links.

A Hanweb column page carries its first group of items inline, as CDATA records in a
``<script type="text/xml"><datastore>`` block, and a ``<nextgroup>`` link whose query holds
the column's identity (``webid``, ``columnid``, ``unitid`` …). The browser fetches later
groups by POSTing those fields to ``/module/web/jpage/dataproxy.jsp?startrecord=&endrecord=
&perpage=``; the answer is another ``<datastore>``. Without this, a crawler sees only the
newest items of such a column, and annual reports are usually the oldest.

Newer JCMS templates (Jiangsu and Zhejiang provincial sites among them) carry no inline
group: the column page holds an empty ``<div id="<unitid>">`` and the jpage call, whose
``ajaxParam: {col:1, appid:1, webid:…, columnid:…, unitid:…, …}`` is the form and whose
``proxyUrl`` is the endpoint. The first POST then asks for the records from 1.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import SplitResult, parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from nianbao.crawler.cms.base import ListPage

_NEXTGROUP = re.compile(
    r"<nextgroup>\s*<!\[CDATA\[\s*<a[^>]*?href\s*=\s*[\"']([^\"']*dataproxy[^\"']*)[\"']",
    re.I | re.S,
)
_RECORD = re.compile(r"<record>\s*<!\[CDATA\[", re.I)
_TOTAL = re.compile(r"(?:totalRecord\s*[:=]\s*['\"]?|<totalrecord>\s*)(\d+)", re.I)
_PERPAGE = re.compile(r"perPage\s*[:=]\s*['\"]?(\d+)", re.I)
_FORM_DEFAULTS = {
    "col": "1",
    "appid": "1",
    "path": "/",
    "sourceContentType": "1",
    "permissiontype": "0",
}
_AJAX_PARAM = re.compile(r"ajaxParam\s*:\s*\{([^{}]*)\}", re.I)
_PROXY_URL = re.compile(r"""proxyUrl\s*:\s*["']([^"']*dataproxy[^"']*)["']""", re.I)
_GROUP_SIZE = re.compile(r"groupSize\s*[:=]\s*['\"]?(\d+)", re.I)
_PAIR = re.compile(r"""["']?(\w+)["']?\s*:\s*(?:"([^"]*)"|'([^']*)'|([^,\s}]+))""")
PROXY = "/module/web/jpage/dataproxy.jsp"
# Records asked for per POST when the page carries none inline.
GROUP = 45


@dataclass
class Group:
    """One dataproxy POST: where, with which form, and which records it asks for."""

    url: str
    formdata: dict[str, str]
    start: int  # first record asked for (1-based)
    end: int
    total: int | None = None  # records in the column, when the page says


def records(text: str) -> int:
    return len(_RECORD.findall(text))


def first_group(text: str, page_url: str) -> Group | None:
    """The POST for the records after those a column page carries inline, if it pages so."""
    match = _NEXTGROUP.search(text)
    if not match:
        return script_group(text, page_url)
    proxy = urlsplit(urljoin(page_url, html.unescape(match.group(1).strip())))
    form = _FORM_DEFAULTS | {
        k: v for k, v in parse_qsl(proxy.query, keep_blank_values=True) if k != "page"
    }
    have = records(text)
    per = _PERPAGE.search(text)
    perpage = int(per.group(1)) if per else 15
    size = have or GROUP  # the browser asks for groups the size of the inline one
    total = _total(text)
    if total is not None and have >= total:
        return None
    return _group(proxy._replace(query="", fragment=""), form, have + 1, size, perpage, total)


def script_group(text: str, page_url: str) -> Group | None:
    """The first POST of a column whose jpage call carries the form (``ajaxParam``) and no
    inline records: records 1 to one group's worth (``perPage`` × ``groupSize``)."""
    match = _AJAX_PARAM.search(text)
    if not match:
        return None
    pairs = {k: a or b or c for k, a, b, c in _PAIR.findall(match.group(1))}
    if not pairs.get("columnid") or not pairs.get("unitid"):
        return None
    proxy = _PROXY_URL.search(text)
    endpoint = urlsplit(urljoin(page_url, html.unescape(proxy.group(1)) if proxy else PROXY))
    per = _PERPAGE.search(text)
    perpage = int(per.group(1)) if per else 15
    groups = _GROUP_SIZE.search(text)
    size = perpage * int(groups.group(1)) if groups and int(groups.group(1)) > 0 else GROUP
    have = records(text)
    total = _total(text)
    if total is not None and have >= total:
        return None
    form = _FORM_DEFAULTS | pairs
    return _group(endpoint._replace(query="", fragment=""), form, have + 1, size, perpage, total)


def next_group(previous: Group, text: str) -> Group | None:
    """The POST after ``previous``, judged by its answer ``text``; None when exhausted."""
    got = records(text)
    asked = previous.end - previous.start + 1
    total = _total(text) or previous.total
    if got == 0 or got < asked or (total is not None and previous.end >= total):
        return None
    base = urlsplit(previous.url)._replace(query="")
    perpage = int(dict(parse_qsl(urlsplit(previous.url).query)).get("perpage", 15))
    return _group(base, previous.formdata, previous.end + 1, asked, perpage, total)


def _total(text: str) -> int | None:
    match = _TOTAL.search(text)
    return int(match.group(1)) if match else None


def _group(
    base: SplitResult, form: dict[str, str], start: int, size: int, perpage: int, total: int | None
) -> Group:
    end = start + size - 1 if total is None else min(start + size - 1, total)
    query = urlencode({"startrecord": start, "endrecord": end, "perpage": perpage})
    return Group(urlunsplit(base._replace(query=query)), dict(form), start, end, total)


class Hanweb:
    """The Hanweb adapter (see :mod:`nianbao.crawler.cms`): the next dataproxy POST."""

    name = "hanweb"

    def next_lists(self, text: str, url: str, state: Group | None) -> Iterator[ListPage]:
        group = next_group(state, text) if state is not None else first_group(text, url)
        if group is not None:
            yield ListPage(group.url, group.formdata, group)
