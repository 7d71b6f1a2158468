"""Local portals that exercise discovery: several CMS styles, traps and politeness.

Each builder returns a :class:`LocalSite`: the in-memory :class:`~nianbao.demo.server.Portal`
plus what a correct crawl must find (the (organ, year) of every report) and what it must
never request. The report texts come from the seed reports, retitled per organ and year.

- :func:`hanweb_portal`: 大汉 Hanweb style. GBK pages declared gb2312 with no charset
  header, ``/col/colN/index.html`` columns whose first items sit in a ``<datastore>`` CDATA
  block and whose later items come only from ``dataproxy.jsp`` POSTs (jpage), ``/art/YYYY/M/D/art_<col>_<id>.html`` articles,
  a PDF report behind ``downfile.jsp?filename=….pdf``.
- :func:`paged_portal`: a PHP CMS with ``list.php?cat=nb&page=N`` lists and page-number
  links, UTF-8 pages with a BOM and no declared charset, a DOCX report, a budget column.
- :func:`sitemap_portal`: a single-page-app shell that links to nothing; its reports
  (Guangdong-style ``/content/post_N.html``) are listed only in ``/sitemap.xml``, a
  sitemap index pointing to a gzipped urlset.
- :func:`trap_portal`: TRS WCM style (``index_N.html``) with every trap of issue #4: a
  robots.txt ``Disallow`` over a report and a ``Sitemap:`` line, an endless calendar,
  session-id and print/share variants, a search form and search links, a redirect loop,
  a 50 MB page (with and without Content-Length), a binary served as text/html, a list
  page that first answers 429 with ``Retry-After``, and negatives in the report column.

A few pages of each answer slowly (``Page.delay``, 0.3–0.8 s, listed in
:attr:`LocalSite.slow`), as overloaded county servers do: a crawl must still archive
everything, without the suite waiting long.
"""

from __future__ import annotations

import gzip
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from nianbao.demo.portalgen import (
    CHROME_TOP,
    NEGATIVES,
    Report,
    docx_bytes,
    hanweb_page,
    trs_page,
)
from nianbao.demo.server import Page, Portal

Seeds = dict[str, tuple[str, list[str]]]

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass
class LocalSite:
    portal: Portal
    expected: set[tuple[str, int]]  # (organ, report year) of every report on it
    forbidden: set[str] = field(default_factory=set)  # paths a polite crawler never requests
    negatives: list[str] = field(default_factory=list)  # titles that must not be archived
    slow: set[str] = field(default_factory=set)  # paths served after a delay: still archived


def report_lines(seeds: Seeds, i: int) -> list[str]:
    """Body lines of a report: seed 000, 002 or 001 in turn (all real reports)."""
    key = ("000", "002", "001")[i % 3]
    lines = seeds[key][1]
    return lines[2:] if key == "001" else lines


def title_of(organ: str, year: int) -> str:
    return f"{organ}{year}年政府信息公开工作年度报告"


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose text layer is ``lines``.

    Hand-written rather than a PDF library: it uses the non-embedded CID font
    STSong-Light with the UniGB-UCS2-H encoding, which every PDF reader (pdfminer
    included) resolves with its bundled CMaps, so no font file or dependency is needed.
    """
    ops = ["BT", "/F1 11 Tf", "14 TL", "50 800 Td"]
    for line in lines:
        ops.append("<" + line.encode("utf-16-be").hex().upper() + "> Tj T*")
    ops.append("ET")
    content = "\n".join(ops).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
        b"/DescendantFonts [6 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo "
        b"<< /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> /FontDescriptor 7 0 R >>",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 "
        b"/FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 "
        b"/CapHeight 880 /StemV 93 >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def html_page(title: str, body: str, charset: str = "utf-8") -> bytes:
    """A portal page: the usual chrome, then ``body``; GB18030 bytes when declared gb2312."""
    markup = (
        f'<html><head><meta charset="{charset}"><title>{html.escape(title)}</title></head>'
        f"<body>{CHROME_TOP}{body}</body></html>"
    )
    return markup.encode("gb18030" if charset == "gb2312" else "utf-8")


def link_list(links: list[tuple[str, str]]) -> str:
    """``<li><a>`` items for (href, text) pairs."""
    return "".join(f'<li><a href="{u}">{html.escape(t)}</a></li>' for u, t in links)


# --- Hanweb -------------------------------------------------------------------------------


PROXY = "/module/web/jpage/dataproxy.jsp"
NEXTGROUP = (
    f"{PROXY}?page=1&amp;appid=1&amp;webid=12&amp;path=/&amp;columnid=105&amp;unitid=4521"
    "&amp;webname=%25E4%25BE%259D%25E5%2585%25B0&amp;permissiontype=0"
)


def _records(links: list[tuple[str, str]]) -> str:
    return "".join(
        f'<record><![CDATA[<li><a href="{u}" title="{html.escape(t)}" target="_blank">'
        f"{html.escape(t)}</a><span>2024-01-18</span></li>]]></record>"
        for u, t in links
    )


def _datastore(links: list[tuple[str, str]], total: int) -> str:
    """A Hanweb column's inline first group, and the jpage call that pages the rest."""
    return (
        f'<div id="4521"><script type="text/xml"><datastore>'
        f'<nextgroup><![CDATA[<a href="{NEXTGROUP}"></a>]]></nextgroup>'
        f"<recordset>{_records(links)}</recordset></datastore></script></div>"
        f"<script>$('#4521').jpage({{dataStore: dataStore, perPage: 1, totalRecord: {total},"
        f" proxyUrl: '{PROXY}'}});</script>"
    )


def _dataproxy(column: list[tuple[str, str]]) -> Callable[[str, dict[str, str]], Page | None]:
    """The POST endpoint: records startrecord..endrecord of the column, for its unitid."""

    def answer(path: str, form: dict[str, str]) -> Page | None:
        if form.get("columnid") != "105" or form.get("unitid") != "4521":
            return None
        query = dict(parse_qsl(urlsplit(path).query))
        start, end = int(query["startrecord"]), int(query["endrecord"])
        body = (
            f'<datastore><nextgroup><![CDATA[<a href="{NEXTGROUP}"></a>]]></nextgroup>'
            f"<recordset>{_records(column[start - 1 : end])}</recordset></datastore>"
        )
        return Page(body.encode("utf-8"), "text/xml; charset=utf-8")

    return answer


def hanweb_portal(seeds: Seeds, organ: str = "依兰县") -> LocalSite:
    portal = Portal()
    gbk = "text/html"  # no charset in the header: the page's gb2312 meta must be read
    portal.set("/robots.txt", Page(b"User-agent: *\nDisallow: /module/admin/\n", "text/plain"))
    home = '<a href="/col/col101/index.html">信息公开</a> <a href="/col/col200/index.html">新闻动态</a>'
    portal.set("/", Page(html_page(f"{organ}人民政府", home, "gb2312"), gbk))
    portal.set(
        "/col/col101/index.html",
        Page(
            html_page(
                "信息公开目录",
                link_list(
                    [
                        ("/col/col105/index.html", "政府信息公开年报"),
                        ("/col/col106/index.html", "政策文件"),
                        ("/col/col107/index.html", "政府信息公开指南"),
                    ]
                ),
                "gb2312",
            ),
            gbk,
        ),
    )
    news = [(f"/art/2024/3/{d}/art_200_{600 + d}.html", f"我县召开春耕生产会议{d}") for d in (1, 2)]
    portal.set(
        "/col/col200/index.html", Page(html_page("新闻动态", link_list(news), "gb2312"), gbk)
    )
    for path, title in news:
        portal.set(
            path, Page(html_page(title, f"<p>{title}。会议强调抓好春耕。</p>", "gb2312"), gbk)
        )
    portal.set("/col/col106/index.html", Page(html_page("政策文件", "<p>暂无</p>", "gb2312"), gbk))
    guide = NEGATIVES[2]
    portal.set(
        "/col/col107/index.html",
        Page(html_page(guide[1], "".join(f"<p>{p}</p>" for p in guide[2]), "gb2312"), gbk),
    )

    expected: set[tuple[str, int]] = set()
    column: list[tuple[str, str]] = []
    units = ["依兰镇", "达连河镇", "道台桥镇", "三道岗镇", "县教育局"]
    for i, unit in enumerate(units):
        year = 2019 + i
        title = title_of(unit, year)
        path = f"/art/{year + 1}/1/{10 + i}/art_105_{9001 + i}.html"
        column.append((path, title))
        expected.add((unit, year))
        report = Report(f"90{i:02d}", title, report_lines(seeds, i), f"{year + 1}-01-{10 + i}")
        if i == 4:  # a PDF behind a Hanweb download link
            pdf = f"/module/download/downfile.jsp?classid=0&filename={9001 + i}.pdf"
            landing = (
                f"<h1>{html.escape(title)}</h1><div id='zoom'><p>详见附件。</p>"
                f'<p><a href="{html.escape(pdf)}">{html.escape(title)}.pdf</a></p></div>'
            )
            portal.set(path, Page(html_page(title, landing, "gb2312"), gbk))
            portal.set(pdf, Page(minimal_pdf([title, *report.lines]), "application/pdf"))
        else:
            # One report answers slowly, as an overloaded county server does.
            portal.set(path, Page(hanweb_page(report, organ), gbk, delay=0.8 if i == 1 else 0))
    notice_path = "/art/2023/1/5/art_105_8999.html"
    notice = NEGATIVES[0]
    portal.set(
        notice_path,
        Page(html_page(notice[1], "".join(f"<p>{p}</p>" for p in notice[2]), "gb2312"), gbk),
    )
    column.insert(2, (notice_path, notice[1]))
    # A report listed as its PDF directly, under a download servlet's address.
    direct = "/module/download/downfile.jsp?classid=0&filename=9200.pdf"
    direct_title = title_of("县司法局", 2024)
    body = minimal_pdf([direct_title, *report_lines(seeds, 1)])
    portal.set(direct, Page(body, "application/octet-stream"))
    column.append((direct, direct_title))
    expected.add(("县司法局", 2024))
    # Two items inline; the rest only through dataproxy.jsp POSTs, two at a time.
    portal.set(
        "/col/col105/index.html",
        Page(html_page("政府信息公开年报", _datastore(column[:2], len(column)), "gb2312"), gbk),
    )
    portal.route_post(PROXY, _dataproxy(column))
    slow = {"/art/2021/1/11/art_105_9002.html"}
    return LocalSite(portal, expected, negatives=[notice[1], guide[1]], slow=slow)


# --- ?page=N CMS --------------------------------------------------------------------------


def paged_portal(seeds: Seeds, organ: str = "通河县") -> LocalSite:
    portal = Portal()
    bom = b"\xef\xbb\xbf"
    portal.set("/robots.txt", Page(b"User-agent: *\nAllow: /\n", "text/plain"))
    portal.set(
        "/", Page(html_page(organ, '<a href="/zwgk/">政务公开</a> <a href="/news/">新闻</a>'))
    )
    portal.set("/news/", Page(html_page("新闻", "<p>暂无新闻</p>")))
    portal.set(
        "/zwgk/",
        Page(
            html_page(
                "政务公开",
                link_list(
                    [
                        ("/list.php?cat=nb&page=1", "年度报告"),
                        ("/list.php?cat=czyjs&page=1", "财政预决算"),
                    ]
                ),
            )
        ),
    )
    budget_title = f"{organ}2023年部门预算公开"
    portal.set(
        "/show.php?id=500", Page(html_page(budget_title, "<p>2023年部门预算收入合计1.2亿元。</p>"))
    )
    portal.set(
        "/list.php?cat=czyjs&page=1",
        Page(html_page("财政预决算", link_list([("/show.php?id=500", budget_title)]))),
    )
    expected: set[tuple[str, int]] = set()
    items: list[tuple[str, str]] = []
    units = ["浓河镇", "清河镇", "祥顺镇", "凤山乡", "县财政局", "县卫健局", "富林镇"]
    for i, unit in enumerate(units):
        year = 2017 + i
        title = title_of(unit, year)
        path = f"/show.php?id={100 + i}"
        items.append((path, title))
        expected.add((unit, year))
        report = Report(f"10{i:02d}", title, report_lines(seeds, i), f"{year + 1}-01-20")
        if i == 3:  # a DOCX attachment behind a short landing page
            att = f"/uploads/{year + 1}/nb_{100 + i}.docx"
            landing = f"<h1>{html.escape(title)}</h1><p>详见附件：<a href='{att}'>{html.escape(title)}</a></p>"
            portal.set(path, Page(bom + html_page(title, landing), "text/html"))
            portal.set(att, Page(docx_bytes(title, report.lines), DOCX_TYPE))
        else:
            portal.set(path, Page(bom + trs_page(report, organ), "text/html"))
    fzzf = f"{organ}2023年法治政府建设年度报告"
    portal.set(
        "/show.php?id=200",
        Page(html_page(fzzf, "<p>一、主要举措。坚持依法行政，推进严格规范公正文明执法。</p>")),
    )
    items.insert(1, ("/show.php?id=200", fzzf))
    pages = [items[i : i + 3] for i in range(0, len(items), 3)]
    for n, chunk in enumerate(pages, 1):
        numbers = " ".join(
            f'<a href="/list.php?cat=nb&page={k}">{k}</a>' for k in range(1, len(pages) + 1)
        )
        tail = f'<a href="/list.php?cat=nb&page={len(pages)}">尾页</a>'
        portal.set(
            f"/list.php?cat=nb&page={n}",
            Page(
                html_page(
                    "年度报告", link_list(chunk) + f"<div class='pages'>{numbers} {tail}</div>"
                ),
                delay=0.5 if n == 2 else 0,  # a slow list page: its reports are still found
            ),
        )
    slow = {"/list.php?cat=nb&page=2"}
    return LocalSite(portal, expected, negatives=[fzzf, budget_title], slow=slow)


# --- sitemap only -------------------------------------------------------------------------


def sitemap_portal(seeds: Seeds, organ: str = "巴彦县") -> LocalSite:
    portal = Portal()
    portal.set("/robots.txt", Page(b"User-agent: *\nDisallow:\n", "text/plain"))
    shell = '<div id="app">加载中……</div><script src="/static/app.js"></script>'
    portal.set("/", Page(html_page(f"{organ}人民政府", shell)))
    urls: list[str] = []
    expected: set[tuple[str, int]] = set()
    for i, unit in enumerate(["兴隆镇", "西集镇", "县民政局"]):
        year = 2020 + i
        title = title_of(unit, year)
        path = f"/content/post_{3001 + i}.html"
        urls.append(path)
        expected.add((unit, year))
        report = Report(f"30{i:02d}", title, report_lines(seeds, i), f"{year + 1}-01-25")
        portal.set(path, Page(trs_page(report, organ), delay=0.3 if i == 2 else 0))
    for i in range(6):
        path = f"/content/post_{4001 + i}.html"
        urls.append(path)
        portal.set(path, Page(html_page(f"巴彦新闻{i}", f"<p>新闻内容{i}。</p>")))

    def urlset(paths: list[str]) -> bytes:
        body = "".join(f"<url><loc>{p}</loc><lastmod>2024-01-25</lastmod></url>" for p in paths)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</urlset>'
        ).encode()

    # Relative <loc>s: the servers' port is not known when the portal is built.
    portal.set(
        "/sitemap.xml",
        Page(
            b'<?xml version="1.0" encoding="UTF-8"?><sitemapindex '
            b'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap>'
            b"<loc>/sitemaps/content.xml.gz</loc></sitemap></sitemapindex>",
            "application/xml",
        ),
    )
    portal.set(
        "/sitemaps/content.xml.gz", Page(gzip.compress(urlset(urls), mtime=0), "application/x-gzip")
    )
    return LocalSite(portal, expected, slow={"/content/post_3003.html"})
