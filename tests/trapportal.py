"""A local portal with every crawler trap of issue #4, TRS WCM style (``index_N.html``).

A robots.txt ``Disallow`` over a report and a ``Sitemap:`` line listing a report linked
from nowhere, an endless calendar, session-id and print/share variants of pages, a search
form and search links, a redirect loop, a 50 MB page (with and without Content-Length),
a binary served as text/html, a PDF report served as text/html, a list page that first answers 429 with ``Retry-After``,
an endless chain of unpromising pages, and negatives in the report column. Every body is
generated on demand: the 50 MB pages are never held in memory.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import date, timedelta

from nianbao.demo.portalgen import NEGATIVES, Report, list_page, simple_page, trs_page
from nianbao.demo.server import Page, Portal
from tests.portals import (
    LocalSite,
    Seeds,
    html_page,
    link_list,
    minimal_pdf,
    report_lines,
    title_of,
)

HUGE_BYTES = 50 * 1024 * 1024


def _calendar(path: str) -> Page:
    """An endless calendar: every day links to the previous and next day and month."""
    value = path.split("date=", 1)[-1][:10]
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = date(2024, 1, 15)
    links = [
        (f"/zwgk/rili/index.jsp?date={d.isoformat()}", label)
        for d, label in (
            (day - timedelta(days=1), "前一天"),
            (day + timedelta(days=1), "后一天"),
            (day - timedelta(days=30), "上个月"),
            (day + timedelta(days=30), "下个月"),
        )
    ]
    return Page(html_page(f"政务公开活动日历 {day}", f"<p>{day} 无活动</p>" + link_list(links)))


def _huge(length: bool) -> Page:
    """A 50 MB HTML page, generated chunk by chunk (announced by Content-Length or not)."""
    head = "<html><head><meta charset='utf-8'><title>2023年度报告汇编</title></head><body>"
    head_bytes = head.encode("utf-8")
    chunk = ("<p>" + "政府信息公开工作年度报告汇编。" * 4000 + "</p>\n").encode("utf-8")
    count = -(-HUGE_BYTES // len(chunk))

    def stream() -> Iterator[bytes]:
        yield head_bytes
        for _ in range(count):
            yield chunk

    return Page(b"", stream=stream, length=len(head_bytes) + len(chunk) * count if length else None)


def _binary() -> Page:
    # An executable-looking body announced as HTML; 4 MB, streamed.
    block = b"MZ\x90\x00" + bytes(range(256)) * 256

    def stream() -> Iterator[bytes]:
        for _ in range(64):
            yield block

    return Page(b"", "text/html; charset=utf-8", stream=stream, length=len(block) * 64)


def _first_429(page: Page, retry_after: str) -> Callable[[str], Page]:
    """A route answering 429 with ``Retry-After`` once, then ``page``."""
    counter = itertools.count()

    def handler(path: str) -> Page:
        if next(counter) == 0:
            return Page(
                b"<html><body>Too Many Requests</body></html>",
                status=429,
                headers={"Retry-After": retry_after},
            )
        return page

    return handler


def _endless_chain(path: str) -> Page:
    """Pages with nothing promising, each linking to the next: the fallback crawl's limit."""
    n = int("".join(ch for ch in path if ch.isdigit()) or 1)
    return Page(
        html_page(f"关于我们 {n}", link_list([(f"/about/{n + 1}.html", f"第{n + 1}页介绍")]))
    )


def trap_portal(seeds: Seeds, organ: str = "桦南县") -> LocalSite:
    portal = Portal()
    robots = (
        b"User-agent: *\nDisallow: /zwgk/ndbg/neibu/\nDisallow: /admin/\nSitemap: /sitemap.xml\n"
    )
    portal.set("/robots.txt", Page(robots, "text/plain"))
    home_links = [
        ("/zwgk/index.html", "政务公开"),
        ("/zwgk/index.html;jsessionid=A1B2C3D4", "政务公开"),
        ("/zwgk/index.html?sid=42", "政府信息公开"),
        ("/search/search.jsp?searchword=年度报告", "搜索年度报告"),
        ("/about/1.html", "关于我们"),
    ]
    search_form = (
        '<form action="/search/search.jsp" method="get"><input name="searchword">'
        '<input type="submit" value="搜索"></form>'
    )
    portal.set("/", Page(html_page(f"{organ}人民政府", link_list(home_links) + search_form)))
    portal.set(
        "/zwgk/index.html",
        Page(
            html_page(
                "政务公开",
                link_list(
                    [
                        ("/zwgk/ndbg/index.html", "政府信息公开年度报告"),
                        ("/zwgk/rili/index.jsp?date=2024-01-15", "政务公开活动日历"),
                        ("/zwgk/jgzn/index.html", "机构职能"),
                    ]
                ),
            )
        ),
    )
    portal.set(
        "/zwgk/jgzn/index.html", Page(b"", status=302, headers={"Location": "/zwgk/jgzn/list.html"})
    )
    portal.set(
        "/zwgk/jgzn/list.html", Page(b"", status=302, headers={"Location": "/zwgk/jgzn/index.html"})
    )
    portal.route("/zwgk/rili/", _calendar)
    portal.route("/about/", _endless_chain)

    expected: set[tuple[str, int]] = set()
    items: list[tuple[str, str]] = []
    units = ["悦来镇", "孟家岗镇", "闫家镇", "金沙乡", "县发改局", "土龙山镇"]
    for i, unit in enumerate(units):
        year = 2018 + i
        title = title_of(unit, year)
        stamp = f"{year + 1}01{10 + i}"
        path = f"/zwgk/ndbg/{stamp[:6]}/t{stamp}_{7001 + i}.html"
        items.append((path, title))
        expected.add((unit, year))
        report = Report(f"70{i:02d}", title, report_lines(seeds, i), f"{year + 1}-01-{10 + i}")
        variants = (
            f'<a href="{path}?print=1">打印本页</a> <a href="/zwgk/print/t{stamp}_{7001 + i}.html">'
            f'打印</a> <a href="/share.jsp?url={path}">分享</a>'
        )
        body = trs_page(report, organ).decode("utf-8").replace("【打印本页】", variants)
        portal.set(path, Page(body.encode("utf-8")))
    # A report behind robots.txt Disallow, linked from the column: never to be requested.
    hidden = "/zwgk/ndbg/neibu/t20240101_7100.html"
    hidden_report = Report("7100", title_of("太平镇", 2023), report_lines(seeds, 1), "2024-01-01")
    portal.set(hidden, Page(trs_page(hidden_report, organ)))
    items.insert(2, (hidden, hidden_report.title))
    # Listed only in the sitemap.
    only_sitemap = "/zwgk/ndbg/202402/t20240201_7200.html"
    sm_report = Report("7200", title_of("驼腰子镇", 2023), report_lines(seeds, 2), "2024-02-01")
    portal.set(only_sitemap, Page(trs_page(sm_report, organ)))
    expected.add(("驼腰子镇", 2023))
    portal.set(
        "/sitemap.xml",
        Page(
            b'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + f"<url><loc>{only_sitemap}</loc></url><url><loc>{items[0][0]}</loc></url>".encode()
            + b"</urlset>",
            "application/xml",
        ),
    )
    # Traps and oversized answers inside the report column, with report-like link texts.
    negatives = [NEGATIVES[0][1], f"{organ}2023年法治政府建设年度报告"]
    portal.set(
        "/zwgk/ndbg/202401/t20240105_7300.html",
        Page(simple_page(NEGATIVES[0][1], NEGATIVES[0][2], organ)),
    )
    portal.set(
        "/zwgk/ndbg/202401/t20240106_7301.html",
        Page(
            simple_page(
                negatives[1], ["一、主要举措。坚持依法行政，推进严格规范公正文明执法。"], organ
            )
        ),
    )
    items[3:3] = [
        ("/zwgk/ndbg/202401/t20240105_7300.html", negatives[0]),
        ("/zwgk/ndbg/202401/t20240106_7301.html", negatives[1]),
        ("/zwgk/ndbg/202401/t20240120_7400.html", "全县2023年政府信息公开工作年度报告汇编"),
        ("/zwgk/ndbg/huibian.html", "历年政府信息公开工作年度报告汇编"),
        ("/zwgk/ndbg/download.jsp?id=7500", "2023年政府信息公开工作年度报告（下载）"),
        ("/zwgk/ndbg/getfile.jsp?id=7600", title_of("石头河子镇", 2023)),
    ]
    # A PDF report served as text/html under an address without an extension.
    mislabelled = minimal_pdf([title_of("石头河子镇", 2023), *report_lines(seeds, 0)])
    portal.set("/zwgk/ndbg/getfile.jsp?id=7600", Page(mislabelled, "text/html; charset=utf-8"))
    expected.add(("石头河子镇", 2023))
    portal.set("/zwgk/ndbg/202401/t20240120_7400.html", _huge(length=True))
    portal.set("/zwgk/ndbg/huibian.html", _huge(length=False))
    portal.set("/zwgk/ndbg/download.jsp?id=7500", _binary())
    pages = [items[i : i + 4] for i in range(0, len(items), 4)]
    for n, chunk in enumerate(pages):
        name = "index.html" if n == 0 else f"index_{n}.html"
        nxt = f"index_{n + 1}.html" if n + 1 < len(pages) else None
        page = Page(list_page("政府信息公开年度报告", chunk, organ, nxt))
        if n == 1:  # the second list page first answers 429 Retry-After: 1
            portal.route(f"/zwgk/ndbg/{name}", _first_429(page, "1"))
        else:
            portal.set(f"/zwgk/ndbg/{name}", page)
    return LocalSite(
        portal,
        expected,
        forbidden={hidden, "/search/search.jsp"},
        negatives=negatives,
    )
