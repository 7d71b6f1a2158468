"""TRS ``createPageHTML`` pagers: list pages only a script names, on real pages and in a crawl.

Recorded real pages:

- ``tests/fixtures/real/pages/shanxi_news_2019.html``: a shanxi.gov.cn TRS article, saved
  by GeneralNewsExtractor/GeneralNewsExtractor at ``tests/shanxi/1.html``, commit
  3d5a67c65f4d6c8e13c3047754a4c18fc0b0754a (see tests/fixtures/real/manifest.toml). It
  carries TRS's pager function *and* a one-page call, ``createPageHTML(1,0,"t20190918_693227",
  "shtml")``: nothing to add.
- :data:`ZHANGSHU`: the pager of a www.zhangshu.gov.cn (樟树市) TRS WCM column page, from a
  saved copy of that page embedded in a public Python script (public code index, file id
  39464842799; the tools used here could not resolve that file's repository, path or
  commit, so this excerpt's provenance is incomplete). The ``<td>``, the function's first
  lines, the one ``document.write`` line kept of its body, its last line and the call
  ``createPageHTML(21, 0, "index", "html")`` are verbatim; the rest of the function's body
  (the 首页/上一页/下一页/尾页 branches) is cut. The page's links are
  ``./201709/t20170925_395981.html`` style; 21 pages.
"""

from __future__ import annotations

from pathlib import Path

from nianbao.crawler import cms
from nianbao.crawler.cms.trs import pages
from nianbao.demo.portalgen import Report, trs_page
from nianbao.demo.server import Page, Portal
from tests.conftest import cli_json, crawl
from tests.portals import html_page, link_list, report_lines, title_of

SHANXI = Path(__file__).parent / "fixtures" / "real" / "pages" / "shanxi_news_2019.html"
SHANXI_URL = "http://www.shanxi.gov.cn/yw/sxyw/201909/t20190918_693227.shtml"

ZHANGSHU_URL = "http://www.zhangshu.gov.cn/zwgk/zhxx/index.html"  # the column (assumed path)
ZHANGSHU = """<td width="100%" height="25" align="center" style="font-size:12px"><script language="javascript">
<!--
function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt)
{
//tita 翻页函数
document.write("<option value=\\""+_sPageName+"_" + i + "."+_sPageExt+"\\">第"+(i+1)+"页</option>");
} //WCM置标
-->
</script>
<script>createPageHTML(21, 0, "index", "html");</script></td>"""


def test_a_real_trs_column_pager_names_all_its_pages() -> None:
    found = pages(ZHANGSHU, ZHANGSHU_URL)
    assert len(found) == 20
    assert found[0] == "http://www.zhangshu.gov.cn/zwgk/zhxx/index_1.html"
    assert found[-1] == "http://www.zhangshu.gov.cn/zwgk/zhxx/index_20.html"


def test_a_real_one_page_article_pager_adds_nothing() -> None:
    text = SHANXI.read_text(encoding="utf-8")
    assert 'createPageHTML(1,0,"t20190918_693227","shtml")' in text  # the recorded call
    assert pages(text, SHANXI_URL) == []
    assert pages("<script>function createPageHTML(a, b, c, d) {}</script>", SHANXI_URL) == []


def test_the_trs_adapter_names_the_pages_once() -> None:
    adapter = cms.adapter("trs")
    assert adapter is not None
    found = list(adapter.next_lists(ZHANGSHU, ZHANGSHU_URL, None))
    assert [p.url for p in found] == pages(ZHANGSHU, ZHANGSHU_URL)
    assert not any(p.item or p.formdata for p in found)
    # Asked again about a page it named (its state): its siblings are queued already.
    assert list(adapter.next_lists(ZHANGSHU, found[3].url, found[3].state)) == []


def trs_column_portal(seeds) -> tuple[Portal, set[tuple[str, int]]]:
    """A TRS column of three pages, two reports each; only page 1 is linked, and its
    pager exists only as a ``createPageHTML`` call."""
    organ = "樟树市"
    portal = Portal()
    portal.set("/robots.txt", Page(b"User-agent: *\nDisallow:\n", "text/plain"))
    portal.set(
        "/",
        Page(html_page(f"{organ}人民政府", link_list([("/zwgk/ndbg/", "政府信息公开年度报告")]))),
    )
    units = ["市教育局", "市民政局", "市财政局", "市卫健委", "市交通局", "市水利局"]
    expected: set[tuple[str, int]] = set()
    for n in range(3):
        items = []
        for i, unit in enumerate(units[2 * n : 2 * n + 2], 2 * n):
            year = 2018 + i
            path = f"/zwgk/ndbg/{year + 1}01/t{year + 1}0120_{1000 + i}.html"
            report = Report(
                f"40{i:02d}", title_of(unit, year), report_lines(seeds, i), f"{year + 1}-01-20"
            )
            portal.set(path, Page(trs_page(report, organ)))
            items.append((f"./{year + 1}01/t{year + 1}0120_{1000 + i}.html", report.title))
            expected.add((unit, year))
        pager = f'<script>createPageHTML(3, {n}, "index", "html");</script>'
        body = f"<ul>{link_list(items)}</ul>{pager}"
        page = Page(html_page("政府信息公开年度报告", body))
        portal.set("/zwgk/ndbg/" if n == 0 else f"/zwgk/ndbg/index_{n}.html", page)
    return portal, expected


def test_reports_behind_a_scripted_trs_pager_are_archived(db_url, seeds, serve) -> None:
    portal, expected = trs_column_portal(seeds)
    server = serve(portal)
    out = crawl(db_url, server.url("/")).stdout
    assert " 0 errors" in out, out
    found = {(r["organ"], r["year"]) for r in cli_json(db_url, "reports")}
    assert found == expected
    fetched = [p for p, status, _ in portal.log if status == 200]
    assert "/zwgk/ndbg/index_1.html" in fetched and "/zwgk/ndbg/index_2.html" in fetched
    assert "/zwgk/ndbg/index_3.html" not in [p for p, _, _ in portal.log]
