"""Page templates for the cleaning gold set (see :mod:`tests.goldset`).

Each builder wraps a report body in one portal's chrome and returns the page and the
boilerplate markers it injected. Chrome follows DOMAIN.md: TRS, Hanweb, a 信息公开目录
platform, a 范文 content farm, a page with no known container, an old table layout.
"""

from __future__ import annotations

import html
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# The gold set lives with the tests' fixtures (the suite gates on it; benchmarks time it).
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
UNRELATED = FIXTURES / "gold" / "unrelated.toml"


@dataclass
class Seed:
    key: str
    title: str
    published_lines: list[str]  # body as published (may carry garbage)
    truth: list[str]  # the true report paragraphs
    junk: list[str] = field(default_factory=list)  # lines of the seed that are not report
    table: list[list[str]] | None = None  # 001's statistics table as rows of cells
    table_span: tuple[int, int] | None = None  # published_lines[a:b] are the table's cells
    dateline: str | None = None
    html: str | None = None  # prepared report HTML (tables with rowspan …), if not lines


@dataclass
class GoldPage:
    name: str
    template: str
    seed: str
    body: bytes
    content_type: str
    charset: str | None  # what the HTTP header says, if anything
    url: str
    title: str
    truth: list[str]
    injected: list[str]  # unrelated paragraphs pasted in (must be removed)
    heldout: list[str]  # the subset of ``injected`` from held-back genres
    markers: list[str]  # boilerplate strings the template added (must be removed)
    script: str = "hans"


def unrelated() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The unrelated paragraphs: ([tuned] genres, [heldout] genres)."""
    data = tomllib.loads(UNRELATED.read_text(encoding="utf-8"))
    return data["tuned"], data["heldout"]


ORGAN = "示范县"
TOP = (
    '<div class="top"><a href="/">无障碍</a> | <a href="/">长者模式</a> | <a href="/">繁體</a></div>'
    '<div class="nav"><ul><li><a href="/">首页</a></li><li><a href="/zwgk/">政务公开</a></li>'
    '<li><a href="/xwzx/">新闻中心</a></li><li><a href="/hdjl/">互动交流</a></li></ul></div>'
)
FOOTER = (
    '<div class="footer"><p>主办单位：示范县人民政府办公室　承办单位：示范县大数据中心</p>'
    "<p>版权所有：示范县人民政府　黑ICP备05001234号-1　黑公网安备23012402000123号</p>"
    "<p>网站标识码：2301240001　联系电话：0451-57112345</p>"
    "<p>建议使用1920*1080分辨率，IE10以上浏览器</p></div>"
)
COMMON_MARKERS = [
    "无障碍",
    "长者模式",
    "新闻中心",
    "互动交流",
    "主办单位",
    "承办单位",
    "版权所有",
    "ICP备",
    "公网安备",
    "网站标识码",
    "0451-57112345",
    "分辨率",
]


def _p(lines: list[str], indent: str = "") -> str:
    return "\n".join(f"<p>{indent}{html.escape(line)}</p>" for line in lines)


def _table_html(rows: list[list[str]]) -> str:
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f'<table border="1" class="MsoNormalTable">{body}</table>'


def _content(seed: Seed, lines: list[str], as_table: bool, indent: str = "") -> str:
    if seed.html is not None:
        return seed.html
    if as_table and seed.table and seed.table_span:
        a, b = lines.index("统计指标"), lines.index("填报单位（盖章）：")
        return _p(lines[:a], indent) + _table_html(seed.table) + _p(lines[b:], indent)
    return _p(lines, indent)


def _meta_table(slug: str, published: str) -> str:
    return (
        '<table class="xxgk_table"><tr><td>索引号：</td>'
        f"<td>11230124MB1{slug}/2024-00{slug[-2:]}</td><td>发布机构：</td><td>{ORGAN}人民政府</td>"
        f"</tr><tr><td>生成日期：</td><td>{published}</td><td>主题分类：</td><td>政务公开</td></tr>"
        "<tr><td>文　　号：</td><td></td><td>有效性：</td><td>有效</td></tr></table>"
    )


def trs(seed: Seed, lines: list[str], title: str, slug: str) -> tuple[str, list[str]]:
    """TRS WCM: metadata table above, TRS_Editor box, tools and related list below."""
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="SiteName" content="{ORGAN}人民政府"><meta name="ArticleTitle" content="{html.escape(title)}">
<meta name="PubDate" content="2019-01-15 09:30"><meta name="ContentSource" content="{ORGAN}人民政府">
<title>{html.escape(title)}_{ORGAN}人民政府</title></head><body>{TOP}
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; 年度报告</div>
{_meta_table(slug, "2019-01-15")}<h1>{html.escape(title)}</h1>
<div class="info">发布时间：2019-01-15 来源：{ORGAN}人民政府 浏览次数：1234</div>
<div class="TRS_Editor">{_content(seed, lines, False)}</div>
<div class="tools">【字体：大 中 小】 【打印本页】 【关闭窗口】</div>
<div class="share">分享到：微信 微博 QQ空间</div>
<div class="related"><p>相关文章</p><ul><li><a href="/xwzx/1.html">我县召开政务公开工作推进会</a></li>
<li><a href="/xwzx/2.html">县政府召开常务会议研究部署春耕生产</a></li></ul></div>
{FOOTER}</body></html>"""
    markers = ["当前位置", "浏览次数", "字体", "打印本页", "关闭窗口", "分享到", "相关文章"]
    return page, markers + ["召开常务会议", "11230124MB1"]


def hanweb(seed: Seed, lines: list[str], title: str, slug: str) -> tuple[str, list[str]]:
    """Hanweb/大汉: layout tables, #zoom box, 字体 widget in the dateline, prev/next links."""
    page = f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>{html.escape(title)}</title></head><body>{TOP}
<table width="100%"><tr><td class="bt">{html.escape(title)}</td></tr>
<tr><td>发布日期：2019-01-15 信息来源：{ORGAN}政府办 【字体：<a>大</a> <a>中</a> <a>小</a>】</td></tr>
<tr><td><div id="zoom">{_content(seed, lines, False, "&nbsp;&nbsp;&nbsp;&nbsp;")}</div></td></tr>
<tr><td><a href="javascript:window.print()">打印本页</a> <a href="javascript:window.close()">关闭窗口</a></td></tr></table>
<p>上一篇：<a href="/xwzx/2.html">关于开展春季植树活动的通知</a></p>
<p>下一篇：<a href="/xwzx/3.html">县领导调研春耕备耕工作</a></p>
{FOOTER}</body></html>"""
    markers = ["字体", "打印本页", "关闭窗口", "上一篇", "下一篇", "植树活动", "春耕备耕"]
    return page, markers


def xxgk(seed: Seed, lines: list[str], title: str, slug: str) -> tuple[str, list[str]]:
    """A 信息公开目录 platform: the metadata table and widgets inside the content box."""
    page = f"""<html><head><title>{html.escape(title)}-{ORGAN}政府信息公开平台</title></head><body>
{TOP}<div class="location">您现在的位置：首页 &gt; 信息公开目录 &gt; 年度报告</div>
<div class="xxgk_content">{_meta_table(slug, "2019-01-20")}
<h2 class="title">{html.escape(title)}</h2>
<p class="date">发布时间：2019-01-20　　来源：{ORGAN}人民政府办公室</p>
{_content(seed, lines, True)}
<p>扫一扫在手机打开当前页</p><p>【我要纠错】 【打印】 【关闭】</p>
<p>阅读次数：867</p></div>
<div class="hot"><h3>热点信息</h3><ul><li><a href="/a">县委常委会召开专题会议</a></li>
<li><a href="/b">我县举行重点项目集中开工仪式</a></li><li><a href="/c">关于2019年春节放假安排的通知</a></li></ul></div>
{FOOTER}</body></html>"""
    markers = [
        "您现在的位置",
        "扫一扫",
        "我要纠错",
        "阅读次数",
        "热点信息",
        "集中开工",
        "11230124MB1",
    ]
    return page, markers


def farm(seed: Seed, lines: list[str], title: str, slug: str) -> tuple[str, list[str]]:
    """A 范文 content farm: the title inside the article box, download/VIP prompts, a disclaimer."""
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}_范文大全_工作总结</title>
</head><body><div class="header"><a href="/">范文大全</a> <a href="/gzzj/">工作总结</a> <a href="/xdth/">心得体会</a></div>
<div class="breadcrumb">首页 &gt; 范文大全 &gt; 工作总结</div>
<div class="article-content"><h1>{html.escape(title)}</h1>
<p>时间：2024-03-02 作者：admin 热度：2891</p>
{_content(seed, lines, False)}
<p>点击下载本文完整版Word文档</p><p>开通VIP会员，免费下载全站文档</p>
<p>版权声明：此文自动收集于网络，若有来源错误或者侵犯您的合法权益，您可通过邮箱与我们取得联系，我们将及时进行处理。</p>
<p>本文地址：https://www.fanwen.example.com/gzzj/{slug}.html</p></div>
<div class="side"><h3>相关范文推荐</h3><ul><li><a href="/1.html">2023年个人工作总结范文</a></li>
<li><a href="/2.html">教师年度考核个人总结</a></li><li><a href="/3.html">销售工作计划书模板</a></li></ul></div>
<div class="foot">Copyright © 2024 范文大全 All Rights Reserved 京ICP备12345678号</div></body></html>"""
    markers = [
        "范文大全",
        "热度",
        "下载本文",
        "VIP",
        "自动收集于网络",
        "本文地址",
        "相关范文",
        "Copyright",
        "京ICP备",
    ]
    return page, markers


def generic(seed: Seed, lines: list[str], title: str, slug: str) -> tuple[str, list[str]]:
    """No known CMS container: nested layout divs, a sidebar of links; density must find it."""
    page = f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk">
<title>{html.escape(title)}</title></head><body>{TOP}
<div class="wrap"><div class="left"><div class="box"><h3>政务服务</h3><ul>
<li><a href="/1">个人办事</a></li><li><a href="/2">法人办事</a></li><li><a href="/3">部门服务</a></li>
<li><a href="/4">县长信箱</a></li><li><a href="/5">民意征集</a></li></ul></div></div>
<div class="right"><div class="wz_title">{html.escape(title)}</div>
<div class="wz_info">时间：2019-01-18　来源：本站　【<a>大</a> <a>中</a> <a>小</a>】</div>
<div class="wz_main">
{_content(seed, lines, False, "　　")}
</div><div class="wz_bottom">【<a>收藏本页</a>】【<a>打印本页</a>】【<a>关闭窗口</a>】【<a>返回顶部</a>】</div></div></div>
{FOOTER}</body></html>"""
    markers = ["个人办事", "县长信箱", "民意征集", "收藏本页", "打印本页", "返回顶部"]
    return page, markers


def legacy(seed: Seed, lines: list[str], title: str, slug: str) -> tuple[str, list[str]]:
    """An old hand-made site: declares gb2312 but sends UTF-8, layout tables, lines split by
    <br> inside <font> in an unknown cell class, the date block right-aligned."""
    body = seed.html or "<br>\n".join(
        f"&nbsp;&nbsp;&nbsp;&nbsp;<font face='仿宋_GB2312' size='3'>{html.escape(x)}</font>"
        for x in lines
    )
    page = f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>{html.escape(title)}</title></head><body><form name="form1" method="post" action="">
<table width="980" align="center"><tr><td><img src="/images/banner.jpg"></td></tr>
<tr><td class="dh"><a href="/">网站首页</a> | <a href="/zwgk/">政务公开</a> | <a href="/bsfw/">办事服务</a> | <a href="/hdjl/">互动交流</a></td></tr></table>
<table width="980" align="center"><tr><td width="220" valign="top" class="zuo">
<table><tr><td><a href="/l1">领导之窗</a></td></tr><tr><td><a href="/l2">机构职能</a></td></tr>
<tr><td><a href="/l3">规划计划</a></td></tr><tr><td><a href="/l4">财政资金</a></td></tr></table></td>
<td valign="top" class="you"><table width="100%"><tr><td align="center" class="biaoti"><b>{html.escape(title)}</b></td></tr>
<tr><td align="center">作者：县政府办　　点击数：<span id="hits">356</span>　　更新时间：2019-1-18</td></tr>
<tr><td class="wenzi">{body}</td></tr>
<tr><td align="right">【<a href="javascript:window.print()">打印</a>】【<a href="javascript:window.close()">关闭</a>】</td></tr>
</table></td></tr></table>
<table width="980" align="center"><tr><td align="center">{FOOTER}</td></tr></table></form></body></html>"""
    markers = ["网站首页", "办事服务", "领导之窗", "机构职能", "点击数", "更新时间"]
    return page, markers


# name → (builder, encoding of the bytes, HTTP charset header, injects unrelated prose?)
TEMPLATES: dict[str, tuple[Callable[..., tuple[str, list[str]]], str, str | None, int]] = {
    "trs": (trs, "utf-8", "utf-8", 0),
    "hanweb": (hanweb, "gb18030", None, 1),
    "xxgk": (xxgk, "utf-8", None, 1),
    "farm": (farm, "utf-8", None, 3),
    "generic": (generic, "gb18030", "gbk", 2),
    "legacy": (legacy, "utf-8", None, 1),
}
