"""A generated county portal of a few thousand pages for the crawl benchmarks.

Shaped like the real thing where it costs a crawler time: a news section of many columns,
each paginated TRS-style with every page number linked, ~3 KB article pages with the full
site chrome, and a 年度报告 column of a few hundred reports (built from the seed reports,
one per organ and year, in both CMS templates and encodings). Most pages are not reports,
as on a real portal, so the crawl spends its time the way a real one does.
"""

from __future__ import annotations

import html

from nianbao.demo.portalgen import CHROME_TOP, FOOTER, Report, hanweb_page, simple_page, trs_page
from nianbao.demo.server import Page, Portal

ORGAN = "方正县"
TOWNS = ["方正镇", "会发镇", "大罗密镇", "天门乡", "松南乡", "德善乡", "宝兴乡", "伊汉通乡"]
BUREAUS = ["发展和改革局", "教育局", "公安局", "民政局", "司法局", "财政局", "人力资源和社会保障局"]
BUREAUS += ["自然资源局", "生态环境局", "住房和城乡建设局", "交通运输局", "水务局", "农业农村局"]
BUREAUS += ["商务局", "文化广电和旅游局", "卫生健康局", "应急管理局", "审计局", "市场监督管理局"]
NEWS = [
    "县委常委会召开会议传达学习上级会议精神，研究部署下一阶段重点工作。",
    "会议强调，要坚持以人民为中心的发展思想，扎实推进各项民生实事落地见效。",
    "全县各乡镇、各部门主要负责同志参加会议，会上还通报了近期安全生产形势。",
    "据悉，该项目总投资约1.2亿元，建成后将有效改善周边群众出行条件。",
    "下一步，我县将持续优化营商环境，推动经济社会高质量发展。",
]


def _index(title: str, links: list[tuple[str, str]], pages: list[str]) -> bytes:
    items = "\n".join(
        f'<li><a href="{u}">{html.escape(t)}</a><span>2024-01-20</span></li>' for u, t in links
    )
    nav = " ".join(f'<a href="{p}">{i + 1}</a>' for i, p in enumerate(pages))
    return f"""<html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head><body>{CHROME_TOP}
<div class="crumb">当前位置：首页 &gt; {html.escape(title)}</div><ul class="list">{items}</ul>
<div class="page">{nav}</div>{FOOTER.format(organ=ORGAN)}</body></html>""".encode()


def _paginated(
    portal: Portal, base: str, title: str, links: list[tuple[str, str]], per: int
) -> None:
    chunks = [links[i : i + per] for i in range(0, len(links), per)] or [[]]
    names = [f"{base}index.html"] + [f"{base}index_{i}.html" for i in range(1, len(chunks))]
    for name, chunk in zip(names, chunks, strict=True):
        portal.set(name, Page(_index(title, chunk, names)))


def bench_portal(
    seeds: dict[str, tuple[str, list[str]]], articles: int = 3000, columns: int = 20
) -> tuple[Portal, int]:
    """The portal and how many distinct reports it publishes."""
    portal = Portal()
    portal.set("/robots.txt", Page(b"User-agent: *\nDisallow: /admin/\n", "text/plain"))
    portal.set("/", Page(simple_page(f"{ORGAN}人民政府", ["欢迎访问门户网站。"], ORGAN)))
    portal.set("/hdjl/index.html", Page(simple_page("互动交流", ["县长信箱"], ORGAN)))
    cols = [(f"/xwzx/c{k}/index.html", f"新闻栏目{k}") for k in range(columns)]
    portal.set("/xwzx/index.html", Page(_index("新闻中心", cols, [])))
    per_col = articles // columns
    for k in range(columns):
        links = []
        for j in range(per_col):
            path = f"/xwzx/c{k}/t2024{k:02d}{j:04d}.html"
            title = f"我县召开第{j + 1}次工作推进会（栏目{k}）"
            paras = [NEWS[(j + i) % len(NEWS)] for i in range(6)]
            portal.set(path, Page(simple_page(title, paras, ORGAN)))
            links.append((path, title))
        _paginated(portal, f"/xwzx/c{k}/", f"新闻栏目{k}", links, 20)

    reports: list[tuple[str, str]] = []
    organs = [f"{ORGAN}{t}" for t in TOWNS] + [f"{ORGAN}{b}" for b in BUREAUS]
    seed_list = [seeds[k] for k in sorted(seeds)]
    for i, organ in enumerate(organs):
        for year in range(2014, 2024):
            _title, lines = seed_list[(i + year) % len(seed_list)]
            title = f"{organ}{year}年政府信息公开工作年度报告"
            body = [f"本报告由{organ}编制。", *(ln.replace("2014", str(year)) for ln in lines)]
            slug = f"{i:02d}{year}"
            report = Report(slug, title, body, f"{year + 1}-01-15", "hanweb" if i % 3 else "trs")
            path = f"/zwgk/ndbg/{year + 1}01/t{year + 1}0115_{slug}.html"
            page = (
                trs_page(report, organ) if report.template == "trs" else hanweb_page(report, organ)
            )
            ctype = "text/html; charset=utf-8" if report.template == "trs" else "text/html"
            portal.set(path, Page(page, ctype))
            reports.append((path, title))
    portal.set(
        "/zwgk/index.html",
        Page(_index("政务公开", [("/zwgk/ndbg/index.html", "政府信息公开年度报告")], [])),
    )
    _paginated(portal, "/zwgk/ndbg/", "政府信息公开年度报告", reports, 20)
    return portal, len(reports)
