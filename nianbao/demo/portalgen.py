"""Build realistic local portals out of report texts: for the demo, the tests and benchmarks.

A county portal in the shape DOMAIN.md describes: a home page with navigation, a
政务公开 column, a 年度报告 list paginated TRS-style (``index.html``, ``index_1.html``),
report pages in two CMS templates and two encodings, a report published as a DOCX
attachment behind a "详见附件" landing page, and look-alike pages that are not reports
(a notice about the annual report, the 政府工作报告, the disclosure guide).
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from pathlib import Path

from nianbao.demo.server import Page, Portal

CHROME_TOP = """<div class="top"><a href="/">无障碍</a> | <a href="/">长者模式</a> | <a href="/">繁體</a></div>
<div class="nav"><a href="/">首页</a> <a href="/zwgk/index.html">政务公开</a>
<a href="/xwzx/index.html">新闻中心</a> <a href="/hdjl/index.html">互动交流</a></div>"""
FOOTER = """<div class="footer"><p>主办单位：{organ}人民政府办公室 承办单位：{organ}大数据中心</p>
<p>版权所有：{organ}人民政府 黑ICP备05001234号-1 黑公网安备23012402000123号</p>
<p>网站标识码：2301240001 联系电话：0451-57112345</p>
<p>建议使用1920*1080分辨率，IE10以上浏览器</p></div>"""


@dataclass
class Report:
    """One report to publish: its title, body lines and where/how it appears."""

    slug: str
    title: str
    lines: list[str]
    published: str  # YYYY-MM-DD
    template: str = "trs"  # "trs" (UTF-8) or "hanweb" (GB2312 declared, GBK bytes)
    attachment: bool = False  # publish the text as a DOCX behind a landing page


def split_seed(text: str) -> tuple[str, list[str]]:
    """A seed file's title (its first line) and its body lines."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0], lines[1:]


def _paragraphs(lines: list[str]) -> str:
    return "\n".join(f"<p>{html.escape(line)}</p>" for line in lines)


def trs_page(report: Report, organ: str) -> bytes:
    meta = f"""<table class="xxgk_table"><tr><td>索引号：</td><td>11230124MB1{report.slug[-4:]}/2024-00{report.slug[-2:]}</td>
<td>发布机构：</td><td>{organ}人民政府</td></tr><tr><td>生成日期：</td><td>{report.published}</td>
<td>主题分类：</td><td>政务公开</td></tr></table>"""
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="SiteName" content="{organ}人民政府"><meta name="ArticleTitle" content="{html.escape(report.title)}">
<meta name="PubDate" content="{report.published} 09:30"><meta name="ContentSource" content="{organ}人民政府">
<title>{html.escape(report.title)}_{organ}人民政府</title></head><body>{CHROME_TOP}
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/index.html">政务公开</a> &gt; 年度报告</div>
{meta}<h1>{html.escape(report.title)}</h1>
<div class="info">发布时间：{report.published} 来源：{organ}人民政府 浏览次数：1234</div>
<div class="TRS_Editor">{_paragraphs(report.lines)}</div>
<div class="tools">【字体：大 中 小】 【打印本页】 【关闭窗口】</div>
<div class="share">分享到：微信 微博 QQ空间</div>
<div class="related"><p>相关文章</p><ul><li><a href="/xwzx/1.html">我县召开政务公开工作推进会</a></li></ul></div>
{FOOTER.format(organ=organ)}</body></html>"""
    return page.encode("utf-8")


def hanweb_page(report: Report, organ: str) -> bytes:
    page = f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>{html.escape(report.title)}</title></head><body>{CHROME_TOP}
<table width="100%"><tr><td class="bt">{html.escape(report.title)}</td></tr>
<tr><td>发布日期：{report.published} 信息来源：{organ}政府办 【字体：<a>大</a> <a>中</a> <a>小</a>】</td></tr>
<tr><td><div id="zoom">{_paragraphs(report.lines)}</div></td></tr>
<tr><td><a href="javascript:window.print()">打印本页</a> <a href="javascript:window.close()">关闭窗口</a></td></tr></table>
<p>上一篇：<a href="/xwzx/2.html">关于开展春季植树活动的通知</a></p>
{FOOTER.format(organ=organ)}</body></html>"""
    return page.encode("gb18030")


def docx_bytes(title: str, lines: list[str]) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading(title, level=1)
    for line in lines:
        document.add_paragraph(line)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def landing_page(report: Report, organ: str, attachment_url: str) -> bytes:
    page = f"""<html><head><meta charset="utf-8"><title>{html.escape(report.title)}</title></head>
<body>{CHROME_TOP}<h1>{html.escape(report.title)}</h1><div class="info">发布时间：{report.published}</div>
<div class="TRS_Editor"><p>{html.escape(report.title)}详见附件。</p>
<p>附件：<a href="{attachment_url}">{html.escape(report.title)}.docx</a></p></div>
{FOOTER.format(organ=organ)}</body></html>"""
    return page.encode("utf-8")


def simple_page(title: str, paragraphs: list[str], organ: str) -> bytes:
    page = f"""<html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head><body>{CHROME_TOP}
<h1>{html.escape(title)}</h1><div class="TRS_Editor">{_paragraphs(paragraphs)}</div>
{FOOTER.format(organ=organ)}</body></html>"""
    return page.encode("utf-8")


def list_page(title: str, links: list[tuple[str, str]], organ: str, next_url: str | None) -> bytes:
    items = "\n".join(
        f'<li><a href="{u}">{html.escape(t)}</a><span>2024-01-20</span></li>' for u, t in links
    )
    more = f'<a href="{next_url}">下一页</a>' if next_url else ""
    page = f"""<html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head><body>{CHROME_TOP}
<div class="crumb">当前位置：首页 &gt; 政务公开 &gt; {html.escape(title)}</div><ul class="list">{items}</ul>
<div class="page">{more}</div>{FOOTER.format(organ=organ)}</body></html>"""
    return page.encode("utf-8")


NEGATIVES = [
    (
        "tzgg/t20190110_5001.html",
        "关于做好2018年政府信息公开工作年度报告编制发布工作的通知",
        [
            "各乡镇人民政府，县政府各部门：",
            "根据《中华人民共和国政府信息公开条例》规定，现就做好2018年政府信息公开工作年度报告编制和发布工作通知如下。",
            "一、各单位应于2019年1月31日前在政府网站公布本单位年度报告，内容包括主动公开政府信息情况、依申请公开情况、行政复议和行政诉讼情况。",
            "二、请各单位高度重视，按时报送。",
            "县政务公开办",
            "2019年1月10日",
        ],
    ),
    (
        "gzbg/t20240120_5002.html",
        "2024年县政府工作报告",
        [
            "各位代表：现在，我代表县人民政府，向大会报告政府工作，请予审议，并请县政协各位委员提出意见。",
            "一、2023年工作回顾。过去一年，全县地区生产总值增长5.2%，一般公共预算收入完成8.1亿元。",
            "二、2024年工作安排。坚持稳中求进工作总基调，深化政务公开，推进依法行政。",
        ],
    ),
    (
        "zn/t20200301_5003.html",
        "县人民政府政府信息公开指南",
        [
            "为了更好地提供政府信息公开服务，根据《中华人民共和国政府信息公开条例》，编制本指南。",
            "一、主动公开。公开的范围、方式和时限。",
            "二、依申请公开。申请人可以通过信函、网上申请等方式提出申请。",
            "三、监督和救济。申请人认为行政机关侵犯其合法权益的，可以依法申请行政复议或者提起行政诉讼。",
        ],
    ),
]


def county_portal(reports: list[Report], organ: str, per_page: int = 2) -> Portal:
    """A portal publishing ``reports`` in its 年度报告 column, with look-alike negatives."""
    portal = Portal()
    portal.set("/robots.txt", Page(b"User-agent: *\nDisallow: /admin/\n", "text/plain"))
    portal.set(
        "/", Page(simple_page(f"{organ}人民政府", [f"欢迎访问{organ}人民政府门户网站。"], organ))
    )
    portal.set(
        "/zwgk/index.html",
        Page(
            list_page(
                "政务公开",
                [
                    ("/zwgk/ndbg/index.html", "政府信息公开年度报告"),
                    ("/zwgk/zn/index.html", "政府信息公开指南"),
                    ("/zwgk/tzgg/index.html", "通知公告"),
                    ("/zwgk/gzbg/index.html", "政府工作报告"),
                ],
                organ,
                None,
            )
        ),
    )
    links: list[tuple[str, str]] = []
    for r in reports:
        path = f"/zwgk/ndbg/{r.published[:4]}{r.published[5:7]}/t{r.published.replace('-', '')}_{r.slug}.html"
        links.append((path, r.title))
        if r.attachment:
            att = path.replace(".html", ".docx")
            portal.set(path, Page(landing_page(r, organ, att)))
            portal.set(
                att,
                Page(
                    docx_bytes(r.title, r.lines),
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                ),
            )
        elif r.template == "hanweb":
            portal.set(path, Page(hanweb_page(r, organ), "text/html"))
        else:
            portal.set(path, Page(trs_page(r, organ)))
    pages = [links[i : i + per_page] for i in range(0, len(links), per_page)] or [[]]
    for i, chunk in enumerate(pages):
        name = "index.html" if i == 0 else f"index_{i}.html"
        nxt = f"index_{i + 1}.html" if i + 1 < len(pages) else None
        portal.set(f"/zwgk/ndbg/{name}", Page(list_page("政府信息公开年度报告", chunk, organ, nxt)))
    for rel, title, paras in NEGATIVES:
        column = rel.split("/")[0]
        portal.set(f"/zwgk/{rel}", Page(simple_page(title, paras, organ)))
        portal.set(
            f"/zwgk/{column}/index.html",
            Page(list_page(title, [(f"/zwgk/{rel}", title)], organ, None)),
        )
    return portal


def seed_reports(seeds_dir: Path) -> dict[str, tuple[str, list[str]]]:
    """Seed files by their number ("000" …) as (title, lines)."""
    out = {}
    for path in sorted(seeds_dir.glob("*.txt")):
        out[path.name[:3]] = split_seed(path.read_text(encoding="utf-8"))
    return out
