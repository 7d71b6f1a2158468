"""Paragraph-level removal of page chrome that survived container selection.

Rules match whole blocks (or a widget-only block) that are navigation, breadcrumbs, the
info-disclosure metadata table (its fields are kept as metadata), font-size/print/close
widgets, share bars, counters, related lists, previous/next links, copyright, ICP and
public-security registrations, 网站标识码, sponsor lines, contact lines, browser advice,
and content-farm download/VIP/"本文地址" lines. Each removal names its rule.
"""

from __future__ import annotations

import re

from pipelines.document import Document
from pipelines.stage import StagePipeline

STAGE = "boilerplate"

RULES: list[tuple[str, re.Pattern[str]]] = [
    ("breadcrumb", re.compile(r"^(当前位置|當前位置|您现在的位置|您的位置|所在位置|首页\s*[>»>])")),
    ("font-widget", re.compile(r"[【\[]?\s*字体[：:]?\s*[【\[]?\s*大\s*[\]】]?\s*[【\[]?\s*中")),
    ("font-widget", re.compile(r"^[【\[]?\s*字号[：:]")),
    (
        "print-close",
        re.compile(
            r"^[【\[]?\s*(打印本页|打印此页|打印|关闭窗口|關閉窗口|关闭|返回顶部|保存本页)\s*[\]】]?(\s*[【\[]?\s*(打印本页|打印|关闭窗口|关闭|返回顶部|收藏|纠错)\s*[\]】]?)*$"
        ),
    ),
    ("share", re.compile(r"^(分享到|分享至|分享)[：:]?")),
    ("counter", re.compile(r"(浏览次数|访问次数|阅读次数|点击数|瀏覽次數)[：:]?\s*\d*")),
    ("prev-next", re.compile(r"^(上一篇|下一篇|上一条|下一条)[：:]")),
    (
        "related",
        re.compile(r"^(相关文章|相关链接|相关新闻|热点新闻|热门文章|推荐阅读|延伸阅读)[：:]?$"),
    ),
    ("copyright", re.compile(r"(版权所有|版權所有|Copyright|©|版权声明|版權聲明)", re.I)),
    ("icp", re.compile(r"ICP\s*备?\s*\d|ICP证|京ICP|备案号")),
    ("police-record", re.compile(r"公网安备|公安备案")),
    ("site-id", re.compile(r"网站标识码|網站標識碼")),
    ("sponsor", re.compile(r"^(主办单位|承办单位|主办|承办|技术支持|维护单位|主辦單位)[：:]")),
    ("contact", re.compile(r"^(联系电话|联系我们|联系地址|邮编|电子邮箱|网站地图)[：:|]?")),
    (
        "browser-advice",
        re.compile(
            r"(建议使用|推荐使用).{0,20}(浏览器|分辨率)|分辨率.{0,10}\d{3,4}\s*[*×x]\s*\d{3,4}"
        ),
    ),
    (
        "accessibility",
        re.compile(
            r"^(无障碍|长者模式|繁體|简体|English|无障碍浏览)(\s*[|｜]?\s*(无障碍|长者模式|繁體|简体|English))*$"
        ),
    ),
    ("farm-address", re.compile(r"^本文地址[：:]|^原文地址[：:]|^转载请注明")),
    (
        "farm-download",
        re.compile(r"(下载本文|全文下载|VIP|会员下载|立即下载|免费下载|文档下载|复制全文)"),
    ),
    ("farm-auto", re.compile(r"(自动收集于网络|若无意中侵犯|请联系我们删除|本站所有文章)")),
    (
        "disclosure-meta",
        re.compile(
            r"^(索引号|發布機構|发布机构|生成日期|发文日期|主题分类|有效性|文号|发文机关|成文日期|公开方式|公开范围)\s*[:：|]"
        ),
    ),
]
# Metadata rows in the disclosure table: "索引号 | xxx | 发布机构 | yyy".
_META_PAIR = re.compile(
    r"(索引号|发布机构|生成日期|发文日期|成文日期|主题分类|文号|发文机关|有效性|发布日期|发布时间|来源)\s*[:：|]\s*([^|:：]+?)\s*(?=\||$|\s{2,}|\S+[:：])"
)
# "发布时间：2017-02-24 来源：城关镇" line under a title.
_DATELINE = re.compile(r"^(发布时间|發布時間|发布日期|時間|时间|日期)[：:]\s*\d{4}")
_META_KEYS = {
    "索引号": "index_no",
    "发布机构": "publisher",
    "生成日期": "generated",
    "发文日期": "issued",
    "成文日期": "written",
    "主题分类": "category",
    "文号": "doc_no",
    "发文机关": "publisher",
    "有效性": "validity",
    "发布日期": "published",
    "发布时间": "published",
    "来源": "source",
}


def _harvest_metadata(doc: Document, block: str) -> None:
    for key, value in _META_PAIR.findall(block):
        field = _META_KEYS.get(key)
        if field and value.strip() and field not in doc.metadata:
            doc.metadata[field] = value.strip()


def classify(block: str) -> str | None:
    """The boilerplate rule a block matches, or None if it is content."""
    if _DATELINE.match(block) and len(block) < 80:
        return "dateline"
    for name, pattern in RULES:
        if pattern.search(block):
            # Long prose that merely mentions a keyword is content (e.g. a report
            # discussing its website's ICP record); chrome lines are short.
            if name in {"copyright", "icp", "counter", "farm-download"} and len(block) > 120:
                continue
            return name
    return None


def run(doc: Document) -> Document:
    kept: list[str] = []
    for block in doc.blocks:
        rule = classify(block)
        if rule is None:
            kept.append(block)
            continue
        if rule in {"disclosure-meta", "dateline"}:
            _harvest_metadata(doc, block.replace("發布時間", "发布时间").replace("來源", "来源"))
        doc.remove(STAGE, rule, block)
    doc.blocks = kept
    return doc


class BoilerplatePipeline(StagePipeline):
    stage = staticmethod(run)
