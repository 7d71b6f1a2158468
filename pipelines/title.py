"""The title: every decision about a document's title, in one place.

A report reaches us under three titles that need not agree: the page's own (the
ArticleTitle meta, a heading, the <title>), the heading the document itself prints at its
top (often over two or three lines, worded a little differently: 年度 for 年, without the
organ's 管委会), and, for an attachment, the title of the page that links it. This module
decides

* what a title says it is (``title_verdict``: the genre is its head noun, or it is about
  the genre, or another genre, or a content farm's copy);
* the page's title (``find_title``) and, for a file, its heading (``heading_title``);
* which blocks at the top are the title printed again (``repeat_blocks``), so the same
  document gives the same text in any template;
* which title recognition judges (``to_judge``), the title a report is filed under
  (``report_title``) and the one its organ and year are read from (``fields_title``).

Pure text: the boilerplate, extract and recognize stages call it; it calls none of them.
"""

from __future__ import annotations

import re

from lxml import etree

from nianbao.pipelines import chrome, htmltree, metadata
from nianbao.pipelines.content import cjk_count, contains_any
from nianbao.pipelines.document import Document
from nianbao.pipelines.htmltree import Element
from nianbao.pipelines.normalize import normal_form, strip_pinyin

# The genre as a noun phrase, on normal_form text (simplified, NFKC, no whitespace).
GENRE = re.compile(
    r"(?:信息|政务|政府)公开(?:工作)?(?:(?:19|20)\d{2}年度?)?(?:年度)?(?:工作)?(?:年度报告|年报|报告)"
)
# Disclosure regimes that are not the government's (企业环境信息公开年报, 校务公开 …).
_OTHER_REGIME = re.compile(
    r"(环境|企业|校务|院务|党务|村务|厂务|财务|高校|学校|医院|公司)(?:信息)?$"
)
# What may follow the head noun: a bracketed year or edition note, punctuation, and in a
# file's own title ("Microsoft Word - …年度报告.doc") the file extension.
_TAIL_OK = re.compile(
    r"^(?:[(（\[【](?:(?:19|20)\d{2}年?度?|全文|正文|修订版|更正版|修订|摘要|文字版|pdf|PDF|附件)[)）\]】])*"
    r"[。.!！]*(?:\.(?:docx?|wps|pdf))?$"
)
# "报告_县人民政府", "报告 - 县政府网", "报告-县人民政府" (but not "2018-2019").
# Content farms sell copies as 范文/模板/大全 ("…年度报告范文（精选5篇）"): still the genre's text,
# so recognised, and flagged ``farm_copy`` for the auditor.
_FARM_TAIL = re.compile(
    r"^(?:范文|模板|模版|样本|样稿|大全|精选|汇编|合集|通用)+(?:[(（【\[][^)）】\]]{0,12}[)）】\]])*[。.!！]*$"
)
TITLE_SPLIT = re.compile(r"\s*(?:_|\||｜|——|--|(?<!\d)\s*[-—–]\s*|\s*[-—–]\s*(?!\d))\s*")
# Other genres a title can name; only consulted when the title does not end in the genre.
_LOOKALIKE = re.compile(
    r"通知|通报|公告|意见|方案|解读|图解|政府工作报告|法治政府|预算|决算|指南|目录|会议|"
    r"培训|推进会|座谈会|督查|考核|测评|评估|统计公报|报表|述职|审计报告|要点|办法|规定|制度|申请表"
)
_YEAR = re.compile(r"(?:19|20)\d{2}")
# Attachments that are a part of or a form for a report, not the report itself.
_PART = re.compile(r"统计表|附表|报表|申请表|登记表|解读|图解|说明")


def _nf(text: str) -> str:
    return "".join(text.split())


def prep(text: str) -> str:
    return normal_form(metadata.cn_digits(strip_pinyin(text)[0]))


def title_verdict(title: str | None) -> str:
    """``report`` (the genre is the head noun), ``copy`` (a content farm's 范文 of it),
    ``about`` (names it, is about it), ``other`` (another genre's title) or ``neutral``
    (says nothing, e.g. a site name)."""
    if not title:
        return "neutral"
    verdict = "neutral"
    for part in TITLE_SPLIT.split(title):
        t = prep(part)
        for m in GENRE.finditer(t):
            if _OTHER_REGIME.search(t[: m.start()]):
                continue
            if _TAIL_OK.match(t[m.end() :]):
                return "report"
            verdict = "copy" if _FARM_TAIL.match(t[m.end() :]) else "about"
        if verdict == "neutral" and _LOOKALIKE.search(t):
            verdict = "other"
    return verdict


def heading_candidates(blocks: list[str]) -> list[str]:
    """The first lines alone, then joined: PDF/DOCX titles are often broken over lines."""
    short: list[str] = []
    for block in blocks[:3]:
        if len(block) > 60:
            break
        short.append(block)
    joined = ["".join(short[: i + 1]) for i in range(1, len(short))]
    return short + joined


_HEADINGS = {"h1", "h2", "h3"}
_TITLE_CLASSES = frozenset({"bt", "title", "wz_title", "article-title", "tit"})
# Candidates in document order: headings, and elements whose class may name a title box
# (the exact class test is made on these).
_TITLE_CANDIDATES = etree.XPath(
    f".//*[self::h1 or self::h2 or self::h3 or {contains_any('class', _TITLE_CLASSES)}]"
)
_REPORT_WORD = re.compile(r"报告|報告|年报|年報")
_TITLE_SEP = re.compile(r"\s*[_|｜\-–—]\s*")


def find_title(soup: Element, meta_title: str | None) -> str | None:
    """The report's own title: ArticleTitle, else a heading the <title> starts with, else a
    heading naming a report (portals often title every page with the site name), else the
    longest part of <title>."""
    if meta_title:
        return meta_title.strip()
    page = htmltree.first(soup, "title")
    raw_title = htmltree.text(page).strip() if page is not None else ""
    page_title = _nf(raw_title)
    headings: list[Element] = []
    titled: list[Element] = []  # what a CSS select of .bt, .title, … finds
    for el in _TITLE_CANDIDATES(soup):
        if el.tag in _HEADINGS:
            headings.append(el)
        if not _TITLE_CLASSES.isdisjoint(htmltree.classes(el)):
            titled.append(el)
    candidates = headings + titled
    texts = [" ".join(htmltree.text(el, " ").split()) for el in candidates]
    prefixes = [t for t in texts if cjk_count(t) >= 4 and page_title.startswith(_nf(t))]
    reports = [t for t in texts if cjk_count(t) >= 6 and _REPORT_WORD.search(t) and len(t) < 80]
    ordered = [t for t in prefixes if t in reports] + reports + prefixes
    if ordered:
        return ordered[0]
    parts = [p for p in _TITLE_SEP.split(raw_title) if cjk_count(p)]
    return max(parts, key=cjk_count).strip() if parts else None


def repeat_blocks(doc: Document) -> set[int]:
    """Leading blocks that are the title (templates print it inside the box too).

    Every copy near the top goes, whole: a portal may print the title once as a heading
    and again inside the body, broken over two or three lines (平潭: "…地方税务局2013年" /
    "信息公开年度报告"); keeping either copy would give the same report a different text
    in another template. Only the first blocks are looked at: a metadata table or a
    dateline may come before the title.

    The page's title need not be known: the document's own heading (a run of short lines
    at the top that is a report's title, :func:`_own_title_runs`) is found whether the page
    has an ArticleTitle, an <h1>, a site name as its <title> or a partial heading, and
    every other copy of *that* heading goes too. When the page's title does not name the
    report (a site name) or is a piece of the heading, the heading becomes the title.
    """
    found = _repeats(doc.blocks, doc.title) if doc.title else set()
    runs = _own_title_runs(doc, found)
    if runs:
        heading = "".join(_nf(doc.blocks[i]) for i in runs[0])
        found |= {i for run in runs for i in run} | _repeats(doc.blocks, heading)
        page = _title_key(doc.title or "")
        if title_verdict(doc.title) != "report" or (
            page != _title_key(heading) and page in _title_key(heading)
        ):
            doc.title = heading
    return found


# A title printed in the body is broken over at most this many lines (organ, sub-organ,
# year and genre each on its own line in a narrow heading box).
_MAX_LINES = 4


def _repeats(blocks: list[str], title: str) -> set[int]:
    """Blocks among the first eight that print ``title``, alone or over 2–4 lines."""
    key = _title_key(title)
    found: set[int] = set()
    for start in range(min(8, len(blocks))):
        if start in found:
            continue
        joined = ""
        for end in range(start, min(start + _MAX_LINES, len(blocks))):
            joined += _title_key(blocks[end])
            if joined == key:
                found.update(range(start, end + 1))
                break
            if not key.startswith(joined):
                break
    return found


def _title_key(text: str) -> str:
    """A title as compared with its repeats: no spaces, 年度 read as 年 (平潭's page title says
    "2019年度…年度报告", the body "2019年…年度报告")."""
    return _nf(text).replace("年度", "年")


def _own_title_runs(doc: Document, found: set[int]) -> list[list[int]]:
    """The document's own title heading, however the page words its title (平潭: page
    "平潭综合实验区管委会2014年度…", body "平潭综合实验区 / 2014年度…"; or a site name).

    Only short Chinese lines before the first paragraph (≤ 4 lines of ≤ 40 characters, at
    most 80 together) that are a report's title (title_verdict); when the page's title is
    a report's title with a year, for the same year. A page titled as another genre (a
    notice that quotes a report's title first) keeps its lines. A run may take in lines
    already found as repeats (a partial page title is one line of the heading). Every
    such run is returned, first first: a one-line article title may stand above the body's
    own two-line heading.
    """
    verdict = title_verdict(doc.title)
    if verdict in ("about", "other", "copy"):
        return []
    years = set(_YEAR.findall(prep(doc.title or ""))) if verdict == "report" else set()
    runs: list[list[int]] = []
    for start in range(min(8, len(doc.blocks))):
        if runs and start <= runs[-1][-1]:
            continue
        if len(doc.blocks[start]) > 40:
            # A metadata row or dateline may stand above the heading; prose ends the search.
            if chrome.classify(doc.blocks[start], start) is None:
                break
            continue
        joined = ""
        for end in range(start, min(start + _MAX_LINES, len(doc.blocks))):
            piece = doc.blocks[end]
            # Every line of a title is Chinese words: a stray "Draft 2" before it is not,
            # nor a chrome line (相关链接：) that a template prints above the heading.
            if len(piece) > 40 or cjk_count(piece) < 2 or chrome.classify(piece, end) is not None:
                break
            joined += _nf(piece)
            if len(joined) > 80:
                break
            if title_verdict(joined) == "report" and (
                not years or set(_YEAR.findall(prep(joined))) == years
            ):
                run = list(range(start, end + 1))
                if not set(run) <= found:  # else the page title's own repeat: look on
                    runs.append(run)
                    # A second heading worded apart (a one-line article title over the
                    # body's two lines): the first heading's years decide.
                    years = years or set(_YEAR.findall(prep(joined)))
                break
    return runs


def heading_title(doc: Document) -> str | None:
    """An attachment's own heading, when its first lines are a report title.

    A PDF/DOC/DOCX has no ``<title>``: its heading is the first line (or two, broken by
    the layout). Taking it as the title lets the title rule remove it, as it is removed
    from HTML pages, so the same report hashes the same as a page and as a file.
    """
    for size in (1, 2, 3):  # the shortest run of lines that is a title, nearest the top
        for start in range(min(3, len(doc.blocks) - size + 1)):
            joined = "".join(b.strip() for b in doc.blocks[start : start + size])
            if len(joined) <= 80 and title_verdict(joined) == "report":
                return joined
    return None


def landing_title(doc: Document) -> str | None:
    """The linking page's title, unless the link names a part of the report.

    "附件2：统计表" on a report's landing page is not the report: the landing title must
    not name it (two files filed as one report would churn versions).
    """
    landing = doc.metadata.get("landing_title")
    link = doc.metadata.get("landing_link_text")
    if landing and link and (title_verdict(link) in ("about", "other") or _PART.search(link)):
        return None
    return landing


def to_judge(doc: Document, landing: str | None) -> str:
    """The title recognition judges: the first of meta, page and landing title that is a
    report's, else a farm copy's, else the first there is."""
    titles = [doc.metadata.get("title"), doc.title, landing]
    verdicts = [title_verdict(t) for t in titles]
    title = next((t for t, v in zip(titles, verdicts, strict=True) if v == "report"), None)
    title = title or next((t for t, v in zip(titles, verdicts, strict=True) if v == "copy"), None)
    return title or next((t for t in titles if t), "")


def report_title(chosen: str) -> str:
    """The title a report is filed under: "报告_县人民政府" (a page <title>) keeps only the
    part that names the genre; pinyin glosses and a file extension go."""
    parts = [p for p in TITLE_SPLIT.split(chosen) if title_verdict(p) in ("report", "copy")]
    chosen = parts[0] if parts else chosen
    return re.sub(r"\.(?:docx?|wps|pdf)$", "", strip_pinyin(chosen)[0].strip(), flags=re.I)


def fields_title(doc: Document) -> str | None:
    """The title a report's organ and year are read from: the filed title, else the page's
    meta title, else the landing page's."""
    return doc.title or doc.metadata.get("title") or doc.metadata.get("landing_title")
