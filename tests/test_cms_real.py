"""CMS list adapters replaying recorded real exchanges (tests/fixtures/cms/manifest.toml).

What each crawl replays, and what is made here:

- JCMS (大汉) inline group: the column page carries a real 定西市 ``<datastore>`` block
  verbatim (45 real records and the real ``<nextgroup>`` link); the page frame around it
  and the ``dataproxy.jsp`` answer for the records after it are made here (no recorded
  answer body was found), in the shape public crawlers record.
- JCMS ``ajaxParam`` pages (no inline group): made here in the shape a public survey of
  jshrss.jiangsu.gov.cn describes; no such page source was found.
- Epoint: the first column's API answer is a real recorded answer of
  tendering.sinosteel.com, served byte for byte; the column page and the second column's
  answers are made here.

Every crawl runs the real spider against a local HTTP/1.1 portal that gzips its text.
"""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import select

from nianbao.crawler import cms
from nianbao.crawler.cms.epoint import ApiPage, answer, columns
from nianbao.crawler.cms.hanweb import first_group, next_group, script_group
from nianbao.demo.portalgen import Report, simple_page, trs_page
from nianbao.demo.server import Page, Portal
from nianbao.models.db import open_reader, sessionmaker_for
from nianbao.models.tables import Capture
from tests.conftest import cli, cli_json, crawl
from tests.portals import html_page, link_list, report_lines, title_of

FIXTURES = Path(__file__).parent / "fixtures" / "cms"
DINGXI = (FIXTURES / "dingxi_col12377_datastore.xml").read_text(encoding="utf-8")
SINOSTEEL = (FIXTURES / "sinosteel_getPageInfoListNew.json").read_bytes()
NMGXUANYU = (FIXTURES / "nmgxuanyu_getPageInfoListNew_excerpt.json").read_text(encoding="utf-8")
PROXY = "/module/web/jpage/dataproxy.jsp"
EPOINT_API = "/EpointWebBuilder/rest/frontAppCustomAction/getPageInfoListNew"
SITE_GUID = "7eb5f7f1-9041-43ad-8e13-8fcb82ea831a"  # the GUID all three recorded spiders send


def page_forms(db_url: str, path: str) -> list[tuple[str, str]]:
    """(query, form sent) of every page capture at ``path``: the form is kept with the
    answer, since the exchange's recorded head does not hold a POST's body."""
    engine = open_reader(db_url)
    with sessionmaker_for(engine)() as session:
        rows = session.execute(
            select(Capture.url, Capture.context).where(Capture.kind == "page").order_by(Capture.id)
        ).all()
    engine.dispose()
    return [
        (urlsplit(url).query, (context or {}).get("form", ""))
        for url, context in rows
        if urlsplit(url).path == path
    ]


def captures(db_url: str, tmp_path: Path) -> list[dict[str, str]]:
    cli(db_url, "export", "csv", str(tmp_path / "csv"))
    with open(tmp_path / "csv" / "captures.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# --- the recorded material, read by the adapters ---------------------------------------------


def test_the_recorded_jcms_group_leads_to_its_dataproxy_post() -> None:
    group = first_group(DINGXI, "http://www.dingxi.gov.cn/col/col12377/index.html")
    assert group is not None
    parts = urlsplit(group.url)
    assert (parts.netloc, parts.path) == ("www.dingxi.gov.cn", PROXY)
    # The browser asks for the records after the 45 it was given, in groups of 45.
    assert dict(parse_qsl(parts.query)) == {"startrecord": "46", "endrecord": "90", "perpage": "15"}
    form = group.formdata
    assert (form["webid"], form["columnid"], form["unitid"]) == ("110", "12377", "38486")
    assert form["appid"] == "1" and form["permissiontype"] == "0" and "page" not in form
    # A group of 45 answered with fewer records is the column's last.
    assert next_group(group, "<datastore><recordset></recordset></datastore>") is None


def test_a_jcms_page_whose_jpage_call_carries_the_form() -> None:
    page = jcms_ajax_page("77278", "303271", per_page=15, groups=3, total=1928)
    group = script_group(page, "https://jshrss.jiangsu.gov.cn/col/col77278/index.html")
    assert group is not None and (group.start, group.end, group.total) == (1, 45, 1928)
    assert group.url.startswith(f"https://jshrss.jiangsu.gov.cn{PROXY}?startrecord=1&")
    assert group.formdata["columnid"] == "77278" and group.formdata["unitid"] == "303271"
    assert group.formdata["webname"] == "江苏省人力资源和社会保障厅"
    assert first_group(page, "https://jshrss.jiangsu.gov.cn/col/col77278/index.html") == group
    # No form in the call, or no unit: not a jpage column.
    assert script_group("<script>$('#1').jpage({perPage: 15})</script>", "http://x.cn/") is None
    assert script_group("<script>x({ajaxParam: {columnid: 5}})</script>", "http://x.cn/") is None


def test_the_recorded_epoint_answers() -> None:
    api = "https://tendering.sinosteel.com" + EPOINT_API
    items, following = answer(SINOSTEEL.decode("utf-8"), ApiPage(api, SITE_GUID, "005001", 0))
    assert items == [
        (
            "https://tendering.sinosteel.com/zgzb/zbzq/005001/20211018/"
            "e27bace0-7ef3-41cb-989e-e35d645fdae5.html",
            "中国农业发展银行总行数据中心租赁项目 单一来源采前公示",
        )
    ]
    assert following is None  # count 1: one page
    # count 139 at 8 a page (that spider's pageSize): page 1 (0-based) follows.
    api = "http://www.nmgxuanyu.com" + EPOINT_API
    items, following = answer(NMGXUANYU, ApiPage(api, SITE_GUID, "001001001", 0, 8))
    assert items[0][0].startswith("http://www.nmgxuanyu.com/xmxx/001001/001001001/20210917/")
    assert following is not None and following.index == 1
    assert json.loads(following.form()["params"])["pageIndex"] == 1
    last, done = answer(NMGXUANYU, ApiPage(api, SITE_GUID, "001001001", 17, 8))
    assert len(last) == 1 and done is None  # 18 pages of 8 cover 139
    assert answer("<html>404</html>", following) == ([], None)


def test_an_epoint_page_names_its_columns_for_the_api() -> None:
    (first, second) = columns(epoint_page(["003001", "005001"]), "http://x.gov.cn/xxgk/")
    assert first.api == "http://x.gov.cn" + EPOINT_API and first.size == 2
    assert json.loads(first.form()["params"]) == {
        "siteGuid": SITE_GUID,
        "categoryNum": "003001",
        "kw": "",
        "startDate": "",
        "endDate": "",
        "pageIndex": 0,
        "pageSize": 2,
    }
    assert second.category == "005001"
    assert columns("<p>siteGuid: '" + SITE_GUID + "'</p>", "http://x.gov.cn/") == []
    adapter = cms.adapter("epoint")
    assert adapter is not None and adapter in cms.ADAPTERS


# --- crawls ----------------------------------------------------------------------------------


def jcms_ajax_page(column: str, unit: str, *, per_page: int, groups: int, total: int) -> str:
    """A JCMS column page with no inline group: the jpage call carries the form (made here,
    in the shape described for jshrss.jiangsu.gov.cn)."""
    return (
        f'<div id="{unit}"></div><script type="text/javascript">'
        f"$('#{unit}').jpage({{proxyUrl:'{PROXY}', perPage:{per_page}, groupSize:{groups},"
        f" totalRecord:{total}, barPosition:'bottom', ajaxParam:{{col:1, appid:1, webid:67,"
        f" path:'/', columnid:{column}, sourceContentType:1, unitid:{unit},"
        f" webname:'江苏省人力资源和社会保障厅', permissiontype:0}}}});</script>"
    )


def records(links: list[tuple[str, str]]) -> str:
    return "".join(
        f'<record><![CDATA[\n<li class="clearfix"><a target="_blank" href="{u}" '
        f'title="{html.escape(t)}">{html.escape(t)}</a><b>2024-01-18</b></li>]]></record>'
        for u, t in links
    )


def reports_in(portal: Portal, seeds, organ: str, units: list[str], prefix: str, first: int):
    """Report pages for ``units`` (made here), their (path, title) and (unit, year)."""
    links: list[tuple[str, str]] = []
    expected: set[tuple[str, int]] = set()
    for i, unit in enumerate(units):
        year = first + i
        title = title_of(unit, year)
        path = f"{prefix}{9001 + i}.html"
        report = Report(f"7{i:03d}", title, report_lines(seeds, i), f"{year + 1}-01-15")
        portal.set(path, Page(trs_page(report, organ)))
        links.append((path, title))
        expected.add((unit, year))
    return links, expected


def test_a_jcms_column_is_read_past_its_recorded_inline_group(
    db_url, seeds, serve, tmp_path
) -> None:
    """The column page carries the real 定西 block (45 notices, none a report); the reports
    are in the records after it, reached only by the dataproxy POST its nextgroup names."""
    portal = Portal()
    portal.set("/robots.txt", Page(b"User-agent: *\nDisallow:\n", "text/plain"))
    column = "/col/col12377/index.html"
    home = link_list([(column, "政府信息公开年度报告")])
    portal.set("/", Page(html_page("定西市人民政府", home)))
    later, expected = reports_in(
        portal, seeds, "定西市", ["安定区", "通渭县", "陇西县"], "/art/2024/1/18/art_12377_", 2021
    )
    total = 45 + len(later)
    block = f'<div id="38486"><script type="text/xml">{DINGXI}</script></div>'
    call = f"<script>$('#38486').jpage({{perPage: 15, totalRecord: {total}}});</script>"
    portal.set(column, Page(html_page("通知公告", block + call)))
    posts: list[dict[str, str]] = []

    def dataproxy(path: str, form: dict[str, str]) -> Page | None:
        posts.append(dict(parse_qsl(urlsplit(path).query)) | form)
        if (form.get("webid"), form.get("columnid"), form.get("unitid")) != (
            "110",
            "12377",
            "38486",
        ):
            return None
        query = dict(parse_qsl(urlsplit(path).query))
        start, end = int(query["startrecord"]), int(query["endrecord"])
        chunk = later[start - 46 : end - 45]
        body = f"<datastore><totalrecord>{total}</totalrecord><recordset>{records(chunk)}</recordset></datastore>"
        return Page(body.encode("utf-8"), "text/xml;charset=UTF-8")

    portal.route_post(PROXY, dataproxy)
    server = serve(portal)
    crawl(db_url, server.url("/"))
    found = {(r["organ"], r["year"]) for r in cli_json(db_url, "reports")}
    assert found == expected
    assert [(p["startrecord"], p["endrecord"]) for p in posts] == [("46", "48")]
    # The real records were followed as items of the column (the portal has none of them).
    asked = {p for p, _, _ in portal.log}
    assert "/art/2022/1/20/art_12377_1486865.html" in asked
    # Both list pages are evidence: the column page and the POST's XML answer.
    rows = captures(db_url, tmp_path)
    pages = {urlsplit(r["url"]).path for r in rows if r["kind"] == "page"}
    assert {column, PROXY} <= pages, pages


def test_jcms_columns_paged_by_their_jpage_form_share_one_proxy_address(
    db_url, seeds, serve, tmp_path
) -> None:
    """Two columns whose pages carry only the jpage call: each is walked group by group
    with its own form, although both POST to the same address with the same ranges."""
    portal = Portal()
    portal.set("/robots.txt", Page(b"User-agent: *\nDisallow:\n", "text/plain"))
    columns_ = {
        "77278": (
            "303271",
            ["省人社厅", "南京市人社局", "无锡市人社局", "徐州市人社局", "常州市人社局"],
        ),
        "57143": ("303280", ["苏州市人社局", "南通市人社局"]),
    }
    home = link_list([(f"/col/col{c}/index.html", "政府信息公开年报") for c in columns_])
    portal.set("/", Page(html_page("江苏省人力资源和社会保障厅", home)))
    lists: dict[tuple[str, str], list[tuple[str, str]]] = {}
    expected: set[tuple[str, int]] = set()
    for column, (unit, units) in columns_.items():
        links, found = reports_in(
            portal, seeds, "江苏省", units, f"/art/2024/1/9/art_{column}_", 2019
        )
        if column == "57143":  # a last group that names no report: kept as evidence all the same
            notice = ("/art/2024/1/9/art_57143_8001.html", "关于开展人社政策宣传月活动的通知")
            portal.set(notice[0], Page(simple_page(notice[1], ["宣传月活动安排如下。"], "江苏省")))
            links.append(notice)
        lists[(column, unit)] = links
        expected |= found
        page = jcms_ajax_page(column, unit, per_page=2, groups=1, total=len(links))
        portal.set(f"/col/col{column}/index.html", Page(html_page("政府信息公开年报", page)))
    posts: list[tuple[str, str, str]] = []

    def dataproxy(path: str, form: dict[str, str]) -> Page | None:
        links = lists.get((form.get("columnid", ""), form.get("unitid", "")))
        if links is None or form.get("webid") != "67":
            return None
        query = dict(parse_qsl(urlsplit(path).query))
        start, end = int(query["startrecord"]), int(query["endrecord"])
        posts.append((form["columnid"], query["startrecord"], query["endrecord"]))
        body = (
            f"<datastore><totalrecord>{len(links)}</totalrecord>"
            f"<recordset>{records(links[start - 1 : end])}</recordset></datastore>"
        )
        return Page(body.encode("utf-8"), "text/xml;charset=UTF-8")

    portal.route_post(PROXY, dataproxy)
    server = serve(portal)
    crawl(db_url, server.url("/"))
    assert {(r["organ"], r["year"]) for r in cli_json(db_url, "reports")} == expected
    assert sorted(posts) == sorted(
        [("77278", "1", "2"), ("77278", "3", "4"), ("77278", "5", "5"), ("57143", "1", "2")]
        + [("57143", "3", "3")]
    )
    # Every answer is kept, though five of them share one address (pairs share its query
    # too), each with the form it answered.
    rows = [r for r in captures(db_url, tmp_path) if urlsplit(r["url"]).path == PROXY]
    assert len(rows) == 5 and all(r["kind"] == "page" for r in rows), rows
    kept = page_forms(db_url, PROXY)
    assert sorted((q, dict(parse_qsl(f))["columnid"]) for q, f in kept) == sorted(
        [("endrecord=2&perpage=2&startrecord=1", c) for c in ("77278", "57143")]
        + [("endrecord=4&perpage=2&startrecord=3", "77278")]
        + [("endrecord=5&perpage=2&startrecord=5", "77278")]
        + [("endrecord=3&perpage=2&startrecord=3", "57143")]
    )
    # Night two, nothing changed: each answer matches the last answer to its own form.
    out = crawl(db_url, server.url("/")).stdout
    assert "0 new versions" in out, out
    assert len(page_forms(db_url, PROXY)) == 5


def epoint_page(categories: list[str]) -> str:
    """An Epoint WebBuilder column page (made here): its script names the API, the site and
    the columns, as the portals' list scripts do."""
    cats = "".join(f'<div class="ewb-list" data-categoryNum="{c}"></div>' for c in categories)
    calls = "".join(f"loadList({{categoryNum: '{c}'}});" for c in categories)
    return (
        f"{cats}<script>var siteGuid = '{SITE_GUID}';"
        f"function loadList(o) {{ $.ajax({{url: '{EPOINT_API}', type: 'post',"
        " data: {params: JSON.stringify({siteGuid: siteGuid, categoryNum: o.categoryNum,"
        f" pageIndex: 0, pageSize: 2}})}}}}); }} {calls}</script>"
    )


def test_an_epoint_column_is_read_through_its_json_api(db_url, seeds, serve, tmp_path) -> None:
    """Column 005001 answers with the recorded sinosteel answer (one notice, not a report);
    column 003001 lists five reports, two per API page."""
    portal = Portal()
    portal.set("/robots.txt", Page(b"User-agent: *\nDisallow:\n", "text/plain"))
    portal.set(
        "/",
        Page(html_page("某县人民政府", link_list([("/xxgk/moreinfo.html", "政府信息公开年报")]))),
    )
    portal.set(
        "/xxgk/moreinfo.html",
        Page(html_page("政府信息公开年报", epoint_page(["003001", "005001"]))),
    )
    notice = "/zgzb/zbzq/005001/20211018/e27bace0-7ef3-41cb-989e-e35d645fdae5.html"
    notice_title = "中国农业发展银行总行数据中心租赁项目 单一来源采前公示"
    portal.set(
        notice,
        Page(
            simple_page(
                notice_title, ["现对总行数据中心租赁项目进行单一来源采前公示。"], "中钢招标"
            )
        ),
    )
    links, expected = reports_in(
        portal,
        seeds,
        "某县",
        ["县教育局", "县民政局", "县财政局", "县卫健委", "县交通局"],
        "/xxgk/003001/2024/",
        2019,
    )
    asked: list[tuple[str, int]] = []

    def api(path: str, form: dict[str, str]) -> Page | None:
        params = json.loads(form["params"])
        if params["siteGuid"] != SITE_GUID:
            return None
        asked.append((params["categoryNum"], params["pageIndex"]))
        if params["categoryNum"] == "005001" and params["pageIndex"] == 0:
            return Page(SINOSTEEL, "application/json;charset=UTF-8")  # recorded, verbatim
        if params["categoryNum"] != "003001":
            return None
        n, size = params["pageIndex"], params["pageSize"]
        rows = [
            {"infourl": u, "title": t, "infodate": "2024-01-15", "categorynum": "003001"}
            for u, t in links[n * size : (n + 1) * size]
        ]
        body = {
            "controls": [],
            "custom": {"count": len(links), "infodata": rows},
            "status": {"code": 1},
        }
        return Page(json.dumps(body, ensure_ascii=False).encode(), "application/json;charset=UTF-8")

    portal.route_post(EPOINT_API, api)
    server = serve(portal)
    crawl(db_url, server.url("/"))
    reports = cli_json(db_url, "reports")
    assert {(r["organ"], r["year"]) for r in reports} == expected
    assert notice_title not in {r["title"] for r in reports}
    assert sorted(asked) == [("003001", 0), ("003001", 1), ("003001", 2), ("005001", 0)]
    assert notice in {p for p, _, _ in portal.log}  # the recorded answer's item, followed
    rows = [r for r in captures(db_url, tmp_path) if urlsplit(r["url"]).path == EPOINT_API]
    assert len(rows) == 4 and all(r["kind"] == "page" for r in rows), rows
