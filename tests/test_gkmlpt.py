"""Guangdong gkmlpt columns: ``…/gkmlpt/index#<id>`` links become list-API requests, and
the JSON answers become articles to follow and further API pages.

What is real here, and what is not:

- The column → API mapping is a real pair used by a public crawler of 阳江市住房和城乡建设局:
  ``http://www.yangjiang.gov.cn/yjzjj/gkmlpt/index#721`` is read through
  ``http://www.yangjiang.gov.cn/yjzjj/gkmlpt/api/all/721?page=1&sid=662021`` (and
  ``http://www.shanwei.gov.cn/swsfgj/gkmlpt/index#475`` and
  ``https://www.zhaoqing.gov.cn/zqtjj/gkmlpt/index#4468`` are real 汕尾 and 肇庆 column
  addresses), as found in the public code index (file ids 60768274975, 20591443785 and
  55150302923; the tools used here could not resolve their repositories or commits).
- No saved API *answer* was found in the public code index (searched for its keys:
  ``"articles"``, ``post_url``, ``classify_main_name``, ``display_publish_time``). The JSON
  below has the fields the public clients read (``articles[].url`` / ``post_url``,
  ``title``, ``total``) with article URLs of the real ``…/gkmlpt/content/<a>/<b>/post_<id>.html``
  form; it is NOT a recorded exchange, and the adapter only relies on those fields.
"""

from __future__ import annotations

import csv
import json
from urllib.parse import parse_qsl, urlsplit

from nianbao.crawler import cms
from nianbao.crawler.cms.gkmlpt import ApiPage, answer, columns
from nianbao.demo.portalgen import Report, trs_page
from nianbao.demo.server import Page, Portal
from tests.conftest import cli, cli_json, crawl
from tests.portals import html_page, link_list, report_lines, title_of

YANGJIANG = "http://www.yangjiang.gov.cn/yjzjj/"


def api_answer(articles: list[tuple[str, str]], total: int) -> str:
    return json.dumps(
        {
            "classify": {"id": 721, "name": "年度报告"},
            "articles": [
                {"id": 963149 + i, "title": t, "url": u, "publisher": "阳江市住房和城乡建设局"}
                for i, (u, t) in enumerate(articles)
            ],
            "total": total,
        },
        ensure_ascii=False,
    )


def test_a_column_link_becomes_its_list_api_request() -> None:
    page = (
        '<a href="http://www.yangjiang.gov.cn/yjzjj/gkmlpt/index#721">工程造价信息</a>'
        "<script>var config = {SID: '662021'};</script>"
    )
    (first,) = columns(page, YANGJIANG)
    assert first.url == "http://www.yangjiang.gov.cn/yjzjj/gkmlpt/api/all/721?page=1&sid=662021"
    # Relative links, no site id on the page, the same column twice: one request.
    page = '<a href="/swsfgj/gkmlpt/index#475">通知公告</a><a href="/swsfgj/gkmlpt/index#475">x</a>'
    (first,) = columns(page, "http://www.shanwei.gov.cn/swdpb/")
    assert first.url == "http://www.shanwei.gov.cn/swsfgj/gkmlpt/api/all/475?page=1"
    assert columns('<a href="/gkmlpt/content/0/963/post_963149.html">x</a>', YANGJIANG) == []
    # The column the page's own address names (a real 肇庆 column, as a browser shows it).
    (first,) = columns(
        "<div id='app'></div>", "https://www.zhaoqing.gov.cn/zqtjj/gkmlpt/index#4468"
    )
    assert first.url == "https://www.zhaoqing.gov.cn/zqtjj/gkmlpt/api/all/4468?page=1"


def test_answers_give_articles_then_the_next_page_until_total() -> None:
    api = "http://www.yangjiang.gov.cn/yjzjj/gkmlpt/api/all/721"
    first = ApiPage(api, 1, "662021")
    arts = [
        (f"http://www.yangjiang.gov.cn/yjzjj/gkmlpt/content/0/963/post_96314{i}.html", f"t{i}")
        for i in range(2)
    ]
    items, following = answer(api_answer(arts, 3), first)
    assert items == arts
    assert following is not None and following.url == f"{api}?page=2&sid=662021"
    last, done = answer(api_answer(arts[:1], 3), following)
    assert last == arts[:1] and done is None
    # Not the API's JSON, or not JSON: nothing, and no next page.
    assert answer("<html>404</html>", first) == ([], None)
    assert answer('{"articles": [], "total": 9}', first) == ([], None)


def test_the_gkmlpt_adapter_hands_articles_as_items() -> None:
    adapter = cms.adapter("gkmlpt")
    assert adapter is not None
    (api,) = adapter.next_lists('<a href="/yjzjj/gkmlpt/index#721">年报</a>', YANGJIANG, None)
    assert not api.item and isinstance(api.state, ApiPage)
    arts = [("/yjzjj/gkmlpt/content/0/963/post_963149.html", "2023年度报告")]
    out = list(adapter.next_lists(api_answer(arts, 1), api.url, api.state))
    assert [(p.url, p.item, p.text) for p in out] == [
        (
            "http://www.yangjiang.gov.cn/yjzjj/gkmlpt/content/0/963/post_963149.html",
            True,
            "2023年度报告",
        )
    ]


def gkmlpt_portal(seeds) -> tuple[Portal, set[tuple[str, int]]]:
    """A Guangdong site: the home page links the report column ``/gkmlpt/index#5``; the
    column page is an empty app shell; five reports are listed only by the JSON API, two
    per page."""
    organ = "阳江市"
    portal = Portal()
    portal.set("/robots.txt", Page(b"User-agent: *\nDisallow:\n", "text/plain"))
    home = link_list([("/gkmlpt/index#5", "政府信息公开年度报告")])
    portal.set("/", Page(html_page(f"{organ}人民政府", home + "<script>SID: '662021'</script>")))
    shell = "<div id='app'></div><script>window.GKMLPT = {SID: '662021'};</script>"
    portal.set("/gkmlpt/index", Page(html_page("政府信息公开", shell)))
    units = ["市教育局", "市民政局", "市财政局", "市卫健委", "市交通局"]
    expected: set[tuple[str, int]] = set()
    articles: list[tuple[str, str]] = []
    for i, unit in enumerate(units):
        year = 2019 + i
        path = f"/gkmlpt/content/0/{963 + i}/post_{963149 + i}.html"
        report = Report(
            f"50{i:02d}", title_of(unit, year), report_lines(seeds, i), f"{year + 1}-01-20"
        )
        portal.set(path, Page(trs_page(report, organ)))
        articles.append((f"http://{{host}}{path}" if i % 2 else path, report.title))
        expected.add((unit, year))
    hosts: list[str] = []

    def api(path: str) -> Page | None:
        query = dict(parse_qsl(urlsplit(path).query))
        if not urlsplit(path).path.endswith("/5") or query.get("sid") != "662021":
            return None
        n = int(query.get("page", "1"))
        chunk = [(u.replace("{host}", hosts[0]), t) for u, t in articles[2 * (n - 1) : 2 * n]]
        body = api_answer(chunk, len(articles)).encode()
        # Page 2 labelled text/html, as some portals serve JSON: read all the same.
        return Page(body, "text/html;charset=UTF-8" if n == 2 else "application/json;charset=UTF-8")

    portal.route("/gkmlpt/api/all/", api)
    portal.hosts = hosts  # type: ignore[attr-defined]
    return portal, expected


def test_reports_listed_only_by_the_gkmlpt_api_are_archived(db_url, seeds, serve) -> None:
    portal, expected = gkmlpt_portal(seeds)
    server = serve(portal)
    portal.hosts.append(urlsplit(server.url("/")).netloc)  # type: ignore[attr-defined]
    out = crawl(db_url, server.url("/")).stdout
    assert " 0 errors" in out, out  # the JSON answers are read, not choked on
    found = {(r["organ"], r["year"]) for r in cli_json(db_url, "reports")}
    assert found == expected
    calls = [p for p, status, _ in portal.log if p.startswith("/gkmlpt/api/")]
    assert calls == [f"/gkmlpt/api/all/5?page={n}&sid=662021" for n in (1, 2, 3)]
    # The JSON answers are kept as listings, never taken for report pages.
    assert not [r for r in cli_json(db_url, "reports") if "/gkmlpt/api/" in r["url"]]


def test_the_site_id_survives_canonicalisation_only_on_the_gkmlpt_api() -> None:
    from nianbao.crawler.urls import canonical

    api = "http://www.yangjiang.gov.cn/yjzjj/gkmlpt/api/all/721?page=1&sid=662021"
    assert canonical(api) == api
    assert canonical("http://x.gov.cn/list.jsp?page=1&sid=abc") == "http://x.gov.cn/list.jsp?page=1"


def test_a_recrawl_walks_the_api_through_its_304s(db_url, seeds, serve, tmp_path) -> None:
    """Night two: the API pages answer 304; their stored copies still lead on."""
    portal, expected = gkmlpt_portal(seeds)
    server = serve(portal)
    portal.hosts.append(urlsplit(server.url("/")).netloc)  # type: ignore[attr-defined]
    crawl(db_url, server.url("/"))
    portal.clear_log()
    out = crawl(db_url, server.url("/")).stdout
    assert " 0 errors" in out and "0 new versions" in out, out
    # Home, the column shell and the three API pages: each a 304 capture of its own.
    assert "5 other pages unchanged" in out, out
    api = [(p, status) for p, status, _ in portal.log if p.startswith("/gkmlpt/api/")]
    assert api == [(f"/gkmlpt/api/all/5?page={n}&sid=662021", 304) for n in (1, 2, 3)]
    posts = {p for p, status, _ in portal.log if "/gkmlpt/content/" in p and status == 304}
    assert len(posts) == len(expected)
    # Each API page's 304 is archived as the evidence that it was seen again, unchanged.
    cli(db_url, "export", "csv", str(tmp_path / "csv"))
    with open(tmp_path / "csv" / "captures.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    api_304 = [r for r in rows if "/gkmlpt/api/" in r["url"] and r["status"] == "304"]
    assert len(api_304) == 3, api_304


def test_a_crawl_started_at_a_gkmlpt_column_reads_that_column(db_url, seeds, serve) -> None:
    """``--url …/gkmlpt/index#5``, the address a browser shows for the column: the
    fragment never reaches the server, but it names the column to ask the API for."""
    portal, expected = gkmlpt_portal(seeds)
    portal.set("/", Page(html_page("阳江市人民政府", "<p>首页</p>")))  # no column link anywhere
    server = serve(portal)
    portal.hosts.append(urlsplit(server.url("/")).netloc)  # type: ignore[attr-defined]
    out = crawl(db_url, server.url("/gkmlpt/index#5")).stdout
    assert " 0 errors" in out, out
    assert {(r["organ"], r["year"]) for r in cli_json(db_url, "reports")} == expected
    calls = [p for p, _, _ in portal.log if p.startswith("/gkmlpt/api/")]
    assert calls == [f"/gkmlpt/api/all/5?page={n}&sid=662021" for n in (1, 2, 3)]
