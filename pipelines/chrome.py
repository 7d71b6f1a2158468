"""Chrome lines: the page furniture a template prints as text, one rule per kind.

Breadcrumbs, font-size/print/close widgets, share bars, counters, related lists,
previous/next links, copyright, ICP and public-security registrations, 网站标识码, sponsor
lines, contact lines, browser advice, content-farm download/VIP/"本文地址" lines, the
info-disclosure metadata table and datelines. Each rule matches a *whole line* and is
written so a document's sentence cannot match it: rules that name a word a document might
use (版权, 点击数, 联系电话, 分享, 扫码) also demand the chrome's shape (a number after a
colon, nothing else on the line, a short line).

Two readers: :mod:`pipelines.boilerplate` removes the lines that survived container
selection, and :mod:`pipelines.content` counts them as evidence *against* a block when it
looks for the content box by text density (a site footer is dense text, but all chrome).
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from nianbao.pipelines.labels import label_regex

RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "breadcrumb",
        re.compile(r"^(当前位置|當前位置|您现在的位置|您的位置|所在位置|现在位置|首页\s*[>»>])"),
    ),
    (
        "font-widget",
        re.compile(r"[【\[]?\s*字[体号][：:]?\s*[【\[]?\s*大\s*[\]】]?\s*[【\[]?\s*中"),
    ),
    ("font-widget", re.compile(r"^[【\[]?\s*字[体号][：:]")),
    # "分享到：" and its icons; a sentence that starts 分享经验 is not a share bar.
    (
        "share",
        re.compile(
            r"^(分享到|分享至)[：:]?|^分享([：:]|$)|^(分享让更多人看到|分享给朋友|一键分享)$"
        ),
    ),
    (
        "counter",
        re.compile(
            r"(浏览次数|访问次数|阅读次数|点击数|瀏覽次數|阅读量|浏览量|访问量|热度|点击量)[：:]\s*\d"
        ),
    ),
    ("prev-next", re.compile(r"^(上一篇|下一篇|上一条|下一条|上一页|下一页)[：:]")),
    (
        "related",
        re.compile(
            r"^(相关文章|相关链接|相关新闻|热点新闻|热门文章|推荐阅读|延伸阅读|热点信息|相关信息|"
            r"相关范文推荐|相关范文|更多范文|推荐范文|相关推荐|猜你喜欢|热门推荐)[：:]?$"
        ),
    ),
    (
        "copyright",
        re.compile(
            r"(版权所有|版權所有|Copyright|©|版权声明|版權聲明|版权与免责声明|All Rights Reserved)",
            re.I,
        ),
    ),
    (
        "icp",
        re.compile(
            r"ICP\s*备?\s*\d|ICP证|[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]ICP备"
        ),
    ),
    ("police-record", re.compile(r"公网安备|公安备案|公網安備")),
    ("site-id", re.compile(r"网站标识码|網站標識碼")),
    (
        "sponsor",
        re.compile(r"^(主办单位|承办单位|主办|承办|技术支持|维护单位|主辦單位|承辦單位)[：:]"),
    ),
    # A contact line is chrome only inside a footer (see _FOOTER): a guide or a report
    # prints 邮政编码：350400 as its own content.
    (
        "contact",
        re.compile(
            r"^(联系电话|联系方式|联系地址|邮编|邮政编码|电子邮箱|传真|聯繫電話)[：:]\s*[\d(（+][\d\-－ ()（）]{5,}"
        ),
    ),
    (
        "contact-links",
        re.compile(
            r"^[|｜\s]*(联系我们|网站地图|关于我们|使用帮助|隐私声明|隐私保护|网站声明|免责声明|意见建议)"
            r"(\s*[|｜]?\s*(联系我们|网站地图|关于我们|使用帮助|隐私声明|隐私保护|网站声明|免责声明|意见建议))*"
            r"[|｜\s]*$"
        ),
    ),
    (
        "browser-advice",
        re.compile(
            r"(建议|推荐)您?(使用|采用).{0,20}(浏览器|分辨率)|分辨率.{0,10}\d{3,4}\s*[*×x]\s*\d{3,4}"
            r"|最佳浏览效果|最佳显示效果"
        ),
    ),
    (
        "accessibility",
        re.compile(
            r"^(无障碍|长者模式|繁體|简体|English|无障碍浏览)(\s*[|｜]?\s*(无障碍|长者模式|繁體|简体|English))*$"
        ),
    ),
    ("scan", re.compile(r"扫一扫|扫描二维码|手机扫码|在手机(上)?打开|微信扫")),
    # Side-panel and attachment-box headings left empty by a script-filled template
    # (pingtan.gov.cn: 附件下载 / 文字解读 / 图片解读 under every article).
    (
        "panel-heading",
        re.compile(r"^(附件下载|相关附件|文字解读|图片解读|视频解读|图解解读)[：:]?$"),
    ),
    (
        "source-dateline",
        re.compile(
            r"^(来源|來源|信息来源|文章来源)[：:]\s*\S{0,30}?\s*(发布时间|發布時間|时间|時間|日期)[：:]\s*"
            r"\d{4}[-./年]\d{1,2}[-./月]\d{1,2}日?(\s*\d{1,2}:\d{2}(:\d{2})?)?$"
        ),
    ),
    ("farm-address", re.compile(r"^(本文地址|原文地址|本文链接|原文链接)[：:]|^转载请注明")),
    (
        "farm-download",
        re.compile(
            r"(下载本文|全文下载|VIP|会员下载|立即下载|免费下载|文档下载|复制全文|下载文档|完整版Word)"
        ),
    ),
    (
        "farm-auto",
        re.compile(r"(自动收集于网络|若无意中侵犯|请联系我们删除|本站所有文章|仅供参考学习)"),
    ),
    (
        "editor",
        re.compile(
            r"^[【\[(（]?\s*((责任编辑|编辑|审核|校对|作者|撰稿|来源|记者|通讯员|摄影)\s*[：:]\s*"
            r"[^\s:：\]】]{0,14}\s*)+[\]】)）]?$"
        ),
    ),
    (
        "pagination",
        re.compile(r"^[|\s]*(<<|«|上一页|首页)?[\s\d]*\d[\s\d]*((>>|»|下一页|尾页)\s*)+[|\s]*$"),
    ),
]
# Widget strips: nothing but these words, brackets and separators (【我要纠错】【打印】【关闭】).
_WIDGET_WORDS = re.compile(
    r"我要纠错|纠错|发表评论|打印本稿|打印本页|打印此页|打印|关闭窗口|關閉窗口|关闭|返回顶部|返回|顶部|收藏本页|加入收藏|"
    r"收藏|保存本页|设为首页|字体|字号|默认|分享|推荐|大|中|小"
)
_WIDGET_REST = re.compile(r"[\s【】\[\]()（）|｜:：/、,，·•>»-]+")
# Labels in either script, with or without converter pinyin (pipelines.labels).
_META_LABELS = (
    "索引号 发布机构 生成日期 发文日期 主题分类 有效性 文号 发文字号 发文机关 成文日期 "
    "公开方式 公开范围 公开时限".split()
)


# The two patterns of all 13 labels are compiled at first use, not at import (17 ms each;
# see pipelines.metadata._field).
@cache
def _meta_block() -> re.Pattern[str]:
    """A block that starts with a disclosure label and its separator."""
    return re.compile("^(" + label_regex(_META_LABELS) + ")[:：|]")


@cache
def _any_meta() -> re.Pattern[str]:
    """Any disclosure label, anywhere."""
    return re.compile(label_regex(_META_LABELS))


# Labels a document's own text prints too (a 指南 says 公开方式：主动公开, a table row starts
# 文号 | …): such a line alone is metadata only beside other metadata (see ``weak_meta``).
_WEAK_META = re.compile(
    "^(" + label_regex("主题分类 有效性 文号 公开方式 公开范围 公开时限".split()) + ")[:：|]"
)
_DATELINE = re.compile(
    "^(" + label_regex(["发布时间", "发布日期", "时间", "日期"]) + r")[：:]\s*\d{4}"
)
# "2022.01.20 16:31 来源：河南日报" — a date with a clock time is a news dateline, never a
# report's own date (the signature date has no time).
_STAMP = re.compile(
    r"^\d{4}[-./年]\d{1,2}[-./月]\d{1,2}日?\s*(\d{1,2}[:：]\d{2}([:：]\d{2})?"
    r"(\s*(来源|來源|作者|编辑|浏览|点击)[：:]?.{0,30})?"
    # without a clock time, a date is a dateline only with its source or author after it
    r"|\s+(来源|來源|作者|编辑)[：:].{0,30})$"
)
_DATELINE_MORE = re.compile(r"(来源|來源|作者|浏览|点击|阅读|热度|字体|字号)")
_SPACE = re.compile(r"\s")
_SHORT_RULES = {"copyright", "icp", "counter", "police-record", "site-id", "browser-advice"}
# Words a document's own sentence may use (扫码, 免费下载, VIP): chrome only as a line of its
# own, the size of a caption under a QR code or a download button.
_LINE_RULES = {"farm-download", "scan"}
LINE_MAX = 24
# Rules that only a site footer matches: a contact line next to one of them is the footer's.
FOOTER = frozenset({"copyright", "icp", "police-record", "site-id", "sponsor", "contact-links"})


def _is_widget_strip(block: str) -> bool:
    if len(block) > 60 or not _WIDGET_WORDS.search(block):
        return False
    rest = _WIDGET_REST.sub("", _WIDGET_WORDS.sub("", block))
    words = _WIDGET_WORDS.findall(block)
    # "大 中 小" alone is a widget; a lone 大 or 中 in a heading is not.
    return not rest and (len(words) >= 2 or len(words[0]) >= 2)


def _any_rule() -> re.Pattern[str]:
    """One search for "does any of :data:`RULES` match": their alternation (each keeps its
    own flags), which matches exactly when one of them does. Most lines are content and
    match none, so the rules are tried one by one only for the few that do."""
    parts = []
    for _name, pattern in RULES:
        flags = "i" if pattern.flags & re.IGNORECASE else ""
        parts.append(f"(?{flags}:{pattern.pattern})" if flags else f"(?:{pattern.pattern})")
    return re.compile("|".join(parts))


_ANY_RULE = _any_rule()


def classify(block: str, index: int = 99) -> str | None:
    """The boilerplate rule a block matches, or None if it is content."""
    return _classify(block, index < 5)


@lru_cache(maxsize=16384)
def _classify(block: str, top: bool) -> str | None:
    """:func:`classify`, which depends on a block's index only through ``top`` (one of the
    first five). Cached: a portal's template prints the same chrome lines on every page,
    and look-alike reports repeat their paragraphs."""
    head = _SPACE.sub("", block[:16]) + block[16:]
    if _meta_block().match(head):
        return "disclosure-meta"
    if _DATELINE.match(head) and len(block) < 80 and (top or _DATELINE_MORE.search(block)):
        return "dateline"
    if _STAMP.match(block.strip()):
        return "dateline"
    if _is_widget_strip(block):
        return "widgets"
    if not _ANY_RULE.search(head):
        return None
    for name, pattern in RULES:
        if pattern.search(head):
            # Long prose that merely mentions a keyword is content (e.g. a report
            # discussing its website's ICP record); chrome lines are short.
            if name in _SHORT_RULES and len(block) > 120:
                continue
            if name in _LINE_RULES and len(block) > LINE_MAX:
                continue
            return name
    return None


def weak_meta(block: str) -> bool:
    """A metadata line that may be the document's own: one weak label and no other."""
    head = _SPACE.sub("", block[:16]) + block[16:]
    return bool(_WEAK_META.match(head)) and len(_any_meta().findall(block)) < 2
