"""The cleaning gold set: seed reports wrapped in realistic page templates, with known truth.

Built deterministically from ``tests/fixtures/seeds`` (no randomness that is not seeded by
the page's name), so the quality gate (``tests/test_goldset.py``) and the benchmark
(``benchmarks/clean.py``) score the very same pages.

Ground truth, decided once here:

* The report text is the seed's body, one paragraph per line, without its title line (the
  title is metadata: templates put it in ``<h1>``, ``<td class="bt">`` or inside the
  content box, and it is stored as the version's title, not as text).
* 001: the title spans the first two seed lines; the body starts at 区政务公开办. Its
  statistics table (附件3) is part of the report; one template renders it as a real
  ``<table>`` (rows of cells), the others cell per line as the seed has it.
* 003: the published (traditional) text *without* converter pinyin (`鎮(zhèn)` → `鎮`) and
  without the "發布時間 … 來源" dateline (page metadata, not report text).
* 004: a content-farm copy. Its first line (a monthly sales summary) is pasted junk and its
  last two lines are the farm's 版权声明 / 本文地址 footer; everything in between is what the
  farm published as the report (fragments of several reports, a work plan and the 2008
  Regulation's text) and is kept: we cannot prove any of it is not the report, and losing a
  real sentence costs more than keeping a doubtful one.

Each page also lists the boilerplate markers its template injected and the unrelated
paragraphs it pasted in (from ``fixtures/gold/unrelated.toml``; held-back genres marked).
"""

from __future__ import annotations

import difflib
import html
import random
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = FIXTURES / "seeds"
UNRELATED = FIXTURES / "gold" / "unrelated.toml"

# Independent of pipelines.normalize on purpose: any lower-case Latin run in parentheses.
_GOLD_PINYIN = re.compile(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)")
_CJK = re.compile(r"[\u3400-\u9fff]")


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


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _table_001(raw: str) -> tuple[list[list[str]], str, str]:
    """The 统计表 of seed 001 as rows of three cells; and the seed lines it starts/ends at."""
    start = raw.index("\t统计指标")
    end = raw.index("填报单位（盖章）")
    cells: list[str] = []
    for line in raw[start:end].splitlines():
        if line.startswith("\t"):
            cells.append(line.strip())
        elif line.strip():
            cells[-1] = (cells[-1] + " " + line.strip()).strip()
    rows = [cells[i : i + 3] for i in range(0, len(cells), 3)]
    return rows, "统计指标", "填报单位（盖章）："


def load_seeds() -> dict[str, Seed]:
    out: dict[str, Seed] = {}
    for path in sorted(SEEDS.glob("*.txt")):
        key, raw = path.name[:3], path.read_text(encoding="utf-8")
        lines = _lines(raw)
        if key == "001":
            body = lines[2:]
            seed = Seed(key, lines[0] + lines[1], body, list(body))
            rows, first, after = _table_001(raw)
            a, b = body.index(first), body.index(after)
            seed.table, seed.table_span = rows, (a, b)
        elif key == "003":
            body = lines[2:]
            seed = Seed(
                key,
                _GOLD_PINYIN.sub("", lines[0]),
                body,
                [_GOLD_PINYIN.sub("", line) for line in body],
                dateline=lines[1],
            )
        elif key == "004":
            seed = Seed(key, "八桥镇政府信息公开工作年度报告", lines, lines[1:-2], junk=[lines[0]])
            seed.junk += lines[-2:]
        else:
            seed = Seed(key, lines[0], lines[1:], lines[1:])
        out[key] = seed
    return out


def unrelated() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    data = tomllib.loads(UNRELATED.read_text(encoding="utf-8"))
    return data["tuned"], data["heldout"]


# --- page chrome ------------------------------------------------------------------------

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


def _inject(
    rng: random.Random, lines: list[str], seed: Seed, how_many: int, pool: list[tuple[str, bool]]
) -> tuple[list[str], list[str], list[str]]:
    """Paste ``how_many`` unrelated paragraphs: one first (as farms do), the rest between prose."""
    if not how_many:
        return lines, [], []
    out = list(lines)
    picks = rng.sample(pool, how_many)
    span = seed.table_span or (len(out), len(out))
    prose = [
        i
        for i in range(1, len(out))
        if not (span[0] <= i <= span[1]) and len(out[i - 1]) > 30 and len(out[i]) > 30
    ]
    positions = [0] + sorted(rng.sample(prose, how_many - 1), reverse=True)
    for (text, _held), pos in zip(picks, positions[::-1], strict=True):
        out.insert(pos, text)
    return out, [t for t, _ in picks], [t for t, held in picks if held]


def build(traditional_variants: bool = True) -> list[GoldPage]:
    """Every seed in every template, traditional copies of two seeds, a 2021-format report."""
    seeds = load_seeds()
    tuned, heldout = unrelated()
    pool = [(t, False) for ts in tuned.values() for t in ts] + [
        (t, True) for ts in heldout.values() for t in ts
    ]
    pages: list[GoldPage] = []
    variants: list[tuple[str, str, Seed]] = [(k, "hans", s) for k, s in seeds.items()]
    if traditional_variants:
        import opencc

        s2t = opencc.OpenCC("s2t")
        for key in ("000", "002"):
            s = seeds[key]
            variants.append(
                (
                    key,
                    "hant",
                    Seed(
                        key,
                        s2t.convert(s.title),
                        [s2t.convert(x) for x in s.published_lines],
                        [s2t.convert(x) for x in s.truth],
                    ),
                )
            )
    for key, script, seed in variants:
        if seed.key == "003":
            script = "hant"
        for tname, (builder, encoding, header, n_junk) in TEMPLATES.items():
            if script == "hant" and seed.key != "003" and tname not in ("hanweb", "farm", "legacy"):
                continue
            name = f"{key}-{script}-{tname}"
            rng = random.Random(name)
            lines = list(seed.published_lines)
            if seed.dateline and tname in ("farm", "generic"):
                lines.insert(0, seed.dateline)
            lines, injected, held = _inject(rng, lines, seed, n_junk, pool)
            markup, markers = builder(seed, lines, seed.title, f"{int(key) + 1000:04d}")
            markers = [*markers, *COMMON_MARKERS] if tname != "farm" else markers
            pages.append(
                GoldPage(
                    name=name,
                    template=tname,
                    seed=key,
                    body=markup.encode(encoding),
                    content_type="text/html" + (f"; charset={header}" if header else ""),
                    charset=header,
                    url=f"http://www.example.gov.cn/zwgk/ndbg/{name}.html",
                    title=seed.title,
                    truth=list(seed.truth),
                    injected=injected + seed.junk,
                    heldout=held,
                    markers=markers,
                    script=script,
                )
            )
    return pages + new_format_pages()


# --- scoring ----------------------------------------------------------------------------

_SCORE_DROP = re.compile(r"[\W_]+")


def score_form(text: str) -> str:
    """What scoring compares: simplified script, NFKC, letters/digits/CJK only."""
    from pipelines.normalize import normal_form

    return _SCORE_DROP.sub("", normal_form(text))


def _units(text: str) -> list[str]:
    return [u for u in (score_form(line) for line in text.splitlines()) if u]


def char_f1(predicted: str, truth: str) -> tuple[float, float, float]:
    """Character-level precision, recall, F1 over the longest common subsequence.

    Lines are aligned first (fast on 70 KB reports), then the characters of unaligned
    stretches are aligned with difflib, so a half-kept paragraph scores half.
    """
    p_units, t_units = _units(predicted), _units(truth)
    p_len, t_len = sum(map(len, p_units)), sum(map(len, t_units))
    if not p_len or not t_len:
        return 0.0, 0.0, 0.0
    matched = 0
    sm = difflib.SequenceMatcher(None, p_units, t_units, autojunk=False)
    for op, a0, a1, b0, b1 in sm.get_opcodes():
        if op == "equal":
            matched += sum(len(u) for u in p_units[a0:a1])
        elif op == "replace":
            a, b = "".join(p_units[a0:a1]), "".join(t_units[b0:b1])
            inner = difflib.SequenceMatcher(None, a, b, autojunk=False)
            matched += sum(block.size for block in inner.get_matching_blocks())
    precision, recall = matched / p_len, matched / t_len
    f1 = 2 * precision * recall / (precision + recall) if matched else 0.0
    return precision, recall, f1


@dataclass
class PageScore:
    name: str
    f1: float
    lost: list[str]  # true paragraphs missing from the output
    junk_left: list[str]  # injected paragraphs still in the output
    markers_left: list[str]  # boilerplate markers still in the output


def score_page(page: GoldPage, text: str) -> PageScore:
    out = score_form(text)
    truth_text = "\n".join(page.truth)
    truth_form = score_form(truth_text)
    _, _, f1 = char_f1(text, truth_text)
    lost = [t for t in page.truth if score_form(t) not in out]
    junk_left = [j for j in page.injected if score_form(j) and score_form(j) in out]
    markers_left = [
        m
        for m in page.markers
        if text.count(m) > truth_text.count(m)
        or (score_form(m) and out.count(score_form(m)) > truth_form.count(score_form(m)))
    ]
    return PageScore(page.name, f1, lost, junk_left, markers_left)


def cjk_len(text: str) -> int:
    return len(_CJK.findall(text))


# --- a new-format (2021) report with the statistics tables ----------------------------------

NEW_FORMAT = FIXTURES / "gold" / "new_format.toml"
_T3_ROWS = [
    "一、本年新收政府信息公开申请数量",
    "二、上年结转政府信息公开申请数量",
    "三、本年度办理结果",
    "（一）予以公开",
    "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
    "（三）不予公开",
    "1.属于国家秘密",
    "2.其他法律行政法规禁止公开",
    "3.危及“三安全一稳定”",
    "4.保护第三方合法权益",
    "5.属于三类内部事务信息",
    "6.属于四类过程性信息",
    "7.属于行政执法案卷",
    "8.属于行政查询事项",
    "（四）无法提供",
    "1.本机关不掌握相关政府信息",
    "2.没有现成信息需要另行制作",
    "3.补正后申请内容仍不明确",
    "（五）不予处理",
    "1.信访举报投诉类申请",
    "2.重复申请",
    "3.要求提供公开出版物",
    "4.无正当理由大量反复申请",
    "5.要求行政机关确认或重新出具已获取信息",
    "（六）其他处理",
    "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "3.其他",
    "（七）总计",
    "四、结转下年度继续办理",
]
_T3_VALUES = {
    "一、本年新收政府信息公开申请数量": [2, 1, 0, 0, 0, 0, 3],
    "（一）予以公开": [2, 0, 0, 0, 0, 0, 2],
    "（四）无法提供": [0, 1, 0, 0, 0, 0, 1],
    "1.本机关不掌握相关政府信息": [0, 1, 0, 0, 0, 0, 1],
    "（七）总计": [2, 1, 0, 0, 0, 0, 3],
}


def _row(cells: list[str], attrs: dict[int, str] | None = None) -> tuple[str, str]:
    """(html row, truth line) — the truth is the cells joined as the cleaner joins them."""
    attrs = attrs or {}
    tds = "".join(f"<td{attrs.get(i, '')}>{html.escape(c)}</td>" for i, c in enumerate(cells))
    return f"<tr>{tds}</tr>", " | ".join(cells)


def new_format_report() -> tuple[str, list[str], list[tuple[str, str]]]:
    """(title, truth lines, [(html fragment, kind)]) of the 2021-format report."""
    data = tomllib.loads(NEW_FORMAT.read_text(encoding="utf-8"))
    parts: list[tuple[str, str]] = []
    truth: list[str] = []

    def para(text: str) -> None:
        parts.append((f"<p>{html.escape(text)}</p>", "p"))
        truth.append(text)

    def table(rows: list[tuple[str, str]]) -> None:
        parts.append(("<table border='1'>" + "".join(h for h, _ in rows) + "</table>", "t"))
        truth.extend(t for _, t in rows)

    for text in data["before"]:
        para(text)
    t2 = [
        ("第二十条第（一）项", []),
        ("信息内容", ["本年制发件数", "本年废止件数", "现行有效件数"]),
        ("规章", ["0", "0", "0"]),
        ("行政规范性文件", ["1", "0", "3"]),
        ("第二十条第（五）项", []),
        ("信息内容", ["本年处理决定数量"]),
        ("行政许可", ["27"]),
        ("第二十条第（六）项", []),
        ("信息内容", ["本年处理决定数量"]),
        ("行政处罚", ["4"]),
        ("行政强制", ["0"]),
        ("第二十条第（八）项", []),
        ("信息内容", ["本年收费金额（单位：万元）"]),
        ("行政事业性收费", ["0"]),
    ]
    table([_row([a, *b], {0: " colspan='4'"} if not b else None) for a, b in t2])
    para(data["mid3"])
    header = [
        _row(
            ["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "申请人情况"],
            {0: " rowspan='3' colspan='3'", 1: " colspan='7'"},
        ),
        _row(
            ["自然人", "法人或其他组织", "总计"],
            {0: " rowspan='2'", 1: " colspan='5'", 2: " rowspan='2'"},
        ),
        _row(["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"]),
    ]
    body = [
        _row([label, *(str(v) for v in _T3_VALUES.get(label, [0] * 7))])
        if label != "三、本年度办理结果"
        else _row([label])
        for label in _T3_ROWS
    ]
    table(header + body)
    para(data["mid4"])
    t4 = [
        _row(["行政复议", "行政诉讼"], {0: " colspan='5'", 1: " colspan='10'"}),
        _row(
            [
                "结果维持",
                "结果纠正",
                "其他结果",
                "尚未审结",
                "总计",
                "未经复议直接起诉",
                "复议后起诉",
            ],
            {i: " rowspan='2'" for i in range(5)} | {5: " colspan='5'", 6: " colspan='5'"},
        ),
        _row(["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"] * 2),
        _row(["0"] * 15),
    ]
    table(t4)
    for text in data["after"]:
        para(text)
    return data["title"], truth, parts


def new_format_pages() -> list[GoldPage]:
    """The 2021-format report in the TRS and farm templates (tables inline, as portals do)."""
    title, truth, parts = new_format_report()
    _, heldout = unrelated()
    pages = []
    for tname in ("trs", "farm", "legacy"):
        builder, encoding, header, _ = TEMPLATES[tname]
        html_parts = [h for h, _ in parts]
        rng = random.Random(f"new-{tname}")
        picks = rng.sample([t for ts in heldout.values() for t in ts], 2)
        injected: list[str] = []
        if tname != "trs":  # one at the top, one between two prose paragraphs
            html_parts.insert(0, f"<p>{picks[0]}</p>")
            html_parts.insert(4, f"<p>{picks[1]}</p>")
            injected = picks
        seed = Seed("new", title, [], truth, html="\n".join(html_parts))
        markup, markers = builder(seed, [], title, "2021")
        pages.append(
            GoldPage(
                name=f"new-hans-{tname}",
                template=tname,
                seed="new",
                body=markup.encode(encoding),
                content_type="text/html" + (f"; charset={header}" if header else ""),
                charset=header,
                url=f"http://www.example.gov.cn/zwgk/ndbg/new-{tname}.html",
                title=title,
                truth=truth,
                injected=injected,
                heldout=list(injected),
                markers=[*markers, *COMMON_MARKERS] if tname != "farm" else markers,
            )
        )
    return pages
