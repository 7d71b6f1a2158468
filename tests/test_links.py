"""Link priorities, pagination and the Hanweb datastore."""

from __future__ import annotations

from scrapy.selector import Selector

from nianbao.crawler.links import is_pager, links, score


def test_report_column_outranks_disclosure_section_outranks_rest() -> None:
    column = score("政府信息公开年报", "http://x.cn/col/col105/index.html")
    slug = score("更多", "http://x.cn/zwgk/zfxxgknb/index.html")
    section = score("政务公开", "http://x.cn/zwgk/index.html")
    plain = score("机构设置", "http://x.cn/jgsz/index.html")
    news = score("新闻中心", "http://x.cn/xwzx/index.html")
    assert column > section > plain > news
    assert slug > section
    # "nb" counts only as a whole path segment, not inside another word.
    assert score("", "http://x.cn/xxgk/nb/index.html") > score("", "http://x.cn/xxgk/snbx/a.html")


def test_pagination_links() -> None:
    here = "http://x.cn/zwgk/ndbg/index.html"
    assert is_pager("下一页", "http://x.cn/zwgk/ndbg/index_1.html", here)
    assert is_pager("3", "http://x.cn/list.php?cat=nb&page=3", "http://x.cn/list.php?cat=nb")
    assert is_pager("", "http://x.cn/zwgk/ndbg/index_2.html", here)
    assert not is_pager("", "http://x.cn/other/index_2.html", here)
    assert not is_pager("2023年政府信息公开工作年度报告", "http://x.cn/zwgk/ndbg/t1.html", here)
    # 首页 is the home page unless it points into the list's own folder.
    assert not is_pager("首页", "http://x.cn/index.html", here)
    assert is_pager(
        "首页", "http://x.cn/zwgk/ndbg/index.html", "http://x.cn/zwgk/ndbg/index_3.html"
    )


def test_links_include_hanweb_datastore_records() -> None:
    html = """<html><body><a href="/col/col101/index.html">信息公开</a>
    <a href="javascript:void(0)">x</a><a href="mailto:a@b.cn">mail</a>
    <div id="4521"><script type="text/xml"><datastore><recordset>
    <record><![CDATA[<li><a href="/art/2024/1/18/art_105_9001.html" title="依兰镇2023年年报">依兰镇2023年年报</a></li>]]></record>
    <record><![CDATA[<li><a href="/art/2024/1/19/art_105_9002.html">达连河镇2023年年报</a></li>]]></record>
    </recordset></datastore></script></div></body></html>"""
    found = links(Selector(text=html), "http://x.cn/col/col105/index.html", html)
    assert [(link.url, link.text) for link in found] == [
        ("http://x.cn/col/col101/index.html", "信息公开"),
        ("http://x.cn/art/2024/1/18/art_105_9001.html", "依兰镇2023年年报"),
        ("http://x.cn/art/2024/1/19/art_105_9002.html", "达连河镇2023年年报"),
    ]


def test_column_slugs_in_query_strings() -> None:
    assert score("", "http://x.cn/list.php?cat=nb&page=1") > score(
        "", "http://x.cn/list.php?cat=xw"
    )
    assert score("", "http://x.cn/col/zfxxgknb/index.html") >= 20


def test_links_resolve_against_base_href_like_linkwatch() -> None:
    """A ``<base href>`` moves relative links; links.py ignored it, linkwatch did not."""
    from scrapy.http import HtmlResponse

    from nianbao.crawler import linkwatch

    html = """<html><head><base href="http://host/xxgk/"></head><body>
    <a href="ndbg/index.html">年度报告</a><a href="../zwgk/t1.html">政务公开</a>
    <a href="/abs.html">首页</a></body></html>"""
    page_url = "http://host/a/b/page.html"
    found = [link.url for link in links(Selector(text=html), page_url, html)]
    assert found == [
        "http://host/xxgk/ndbg/index.html",
        "http://host/zwgk/t1.html",
        "http://host/abs.html",
    ]
    response = HtmlResponse(page_url, body=html.encode(), encoding="utf-8")
    assert set(found) <= linkwatch.links(response)


def _through_parsel(selector: Selector, page_url: str, html: str) -> list[tuple[str, str]]:
    """What :func:`links` found when it asked parsel (``css("a")``, ``css("::text")``) before
    it asked lxml directly: the reference the direct queries must equal."""
    from urllib.parse import urljoin

    from w3lib.html import get_base_url

    from nianbao.crawler.links import _RECORD

    base_url = get_base_url(html[:4096], page_url)
    anchors = list(selector.css("a"))
    for cdata in _RECORD.findall(html):
        anchors.extend(Selector(text=cdata).css("a"))
    out = []
    for a in anchors:
        href = (a.attrib.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "mailto:", "tel:", "#", "data:")):
            continue
        try:
            url = urljoin(base_url, href)
        except ValueError:
            continue
        if url.startswith(("http://", "https://")):
            text = " ".join(t.strip() for t in a.css("::text").getall() if t.strip())
            out.append((url, text or a.attrib.get("title", "")))
    return out


def test_links_on_real_pages_equal_what_parsel_found() -> None:
    """The spider's link extraction asks the page's lxml tree directly (a third of a page's
    parse was parsel wrapping nodes); on saved real government pages, and on a Hanweb
    datastore, it finds exactly what parsel's queries found: same links, order and text."""
    from pathlib import Path

    from scrapy.http import HtmlResponse

    pages = sorted((Path(__file__).parent / "fixtures" / "real" / "pages").glob("*.html"))
    assert len(pages) >= 30
    hanweb = (
        '<html><body><a href="/a.html"> 一 <b>二</b></a><a title="t" href="b.html"></a>'
        '<script type="text/xml"><datastore><recordset><record><![CDATA[<li><a href="/c/'
        'd.html" title="年报">2023年报</a></li>]]></record></recordset></datastore></script>'
    )
    compared = 0
    for page in [*(p.read_bytes() for p in pages), hanweb.encode()]:
        response = HtmlResponse(url="http://www.x.gov.cn/col/col1/index.html", body=page)
        found = [
            (link.url, link.text) for link in links(response.selector, response.url, response.text)
        ]
        assert found == _through_parsel(response.selector, response.url, response.text)
        compared += len(found)
    assert compared > 1000  # real navigation, not a handful of anchors
