"""Is this page an annual report on government information disclosure?

A report's title has the genre as its *head noun*: it ends in 政府信息公开工作年度报告,
政务公开工作年度报告, 信息公开年报 … (any script, with or without 年度, a year in brackets
allowed after it). Look-alikes either name the genre and then say what they are about it
(关于做好…年度报告编制发布工作的**通知**, …年度报告**解读**, …年度报告编制**培训会**), or name
another genre (政府工作报告, 法治政府建设年度报告, 预算, 指南, 目录). Checking the head noun
instead of listing look-alike titles is what lets the rule generalise to notices and news
it has never seen.

The body must agree: a report carries the statutory sections (条例 art. 32 / art. 50:
主动公开政府信息情况, 依申请公开 / 收到和处理申请, 行政复议、行政诉讼, 存在的主要问题及改进,
其他需要报告的事项; the 2019/2021 tables' row labels) and speaks of itself (本年度报告,
统计期限 自…1月1日至…12月31日). A list page of reports names the genre in every line but
has no sections; a "详见附件" landing page has no body at all: neither is the report.

The scores are additive and printed into ``metadata["recognition"]`` so that every verdict
can be explained; the floors in ``tests/fixtures/recognition/floors.json`` keep them honest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from nianbao.pipelines import metadata
from nianbao.pipelines.document import Document
from nianbao.pipelines.normalize import normal_form
from nianbao.pipelines.title import (
    GENRE,
    heading_candidates,
    landing_title,
    prep,
    report_title,
    title_verdict,
    to_judge,
)

_ENUM = re.compile(
    r"^(?:[(（]?[一二三四五六七八九十]{1,3}[)）、.．]|\d{1,2}[、.．)）]|第[一二三四五六七八九十]部分)"
)
# The statutory sections, each a group of ways portals word it.
SECTION_GROUPS: dict[str, re.Pattern[str]] = {
    "overview": re.compile(r"总体情况|概述|基本情况"),
    "proactive": re.compile(r"主动公开政府信息|主动公开情况|主动公开信息情况"),
    "on_request": re.compile(r"依申请公开|收到和处理政府信息公开申请|政府信息公开申请"),
    "review": re.compile(
        r"(?:信息公开|公开申请|公开工作).{0,8}(?:行政复议|复议)|(?:行政复议|复议)[、和及与,，]{0,2}(?:行政诉讼|诉讼)"
    ),
    "problems": re.compile(r"存在的(?:主要)?问题|主要问题(?:及|和)改进|改进(?:措施|情况)"),
    "other": re.compile(r"其他需要报告的事项"),
    "fees": re.compile(r"收费(?:及|和)减免"),
    "tables": re.compile(
        r"本年新收政府信息公开申请数量|上年结转政府信息公开申请数量|结转下年度继续办理|"
        r"第二十条第[(（][一五六八][)）]项|本年度办理结果"
    ),
}
_SELF_REF = re.compile(
    r"本年度报告|本报告|(?:信息公开|政务公开)(?:工作)?年度报告(?:由|是|中|所列|包括)|"
    r"统计(?:期限|时限|时间|期间)|自(?:19|20)\d{2}年1月1日(?:起)?至(?:19|20)\d{2}年12月31日"
)
_OTHER_GENRE_BODY = re.compile(
    r"特此通知|通知如下|请各(?:乡镇|街道|部门|单位|县)|各位代表|本指南|编制本指南|"
    r"会议(?:强调|指出|要求)|记者|本公司|董事会|股东"
)
# The regulation's subject is 政府信息: a school's or a company's 信息公开 is another regime.
_DISCLOSURE = re.compile(r"政府信息|政务公开|政务信息")
_TRAILING_DATE = re.compile(
    r"[\s\[(（]*(?:19|20)\d{2}[-/.年]\d{1,2}(?:[-/.月]\d{1,2}日?)?[\])）]*\s*$"
)
THRESHOLD = 3.0
_SCORED_CHARS = 30000  # of the clean text; a report's sections come well before this


@dataclass
class Recognition:
    is_report: bool
    score: float
    reasons: list[str] = field(default_factory=list)
    title: str | None = None  # the title that named the genre, if one did


# Lines are judged again and again: a county's look-alike reports, a template's headings.
_prep = lru_cache(maxsize=16384)(prep)


@lru_cache(maxsize=16384)
def _names_report(line: str) -> bool:
    """Is ``line`` a report's title (a list page's line, its date cut off)?"""
    return title_verdict(_TRAILING_DATE.sub("", line)) == "report"


def _section_evidence(blocks: list[str], body: str) -> tuple[float, list[str]]:
    # One search of the headings joined, not one per heading: no group's pattern matches
    # a line break, and a heading in normal form has none.
    headings = "\n".join(_prep(b) for b in blocks if len(b) <= 60 and _ENUM.match(b.strip()))
    score, found = 0.0, []
    for name, pattern in SECTION_GROUPS.items():
        if pattern.search(headings):
            score += 1.0
            found.append(f"{name}(heading)")
        elif pattern.search(body):
            score += 0.5
            found.append(name)
    return min(score, 5.0), found


def recognize(
    title: str | None,
    text: str,
    blocks: list[str] | None = None,
    spun: bool = False,
    norm_text: str | None = None,
) -> Recognition:
    """Score a page; ``title`` is its title, ``text``/``blocks`` its clean body.

    ``norm_text``, if given, is ``normal_form(text)`` (the fingerprint stage computed it),
    so a body within the scored length is not normalised a second time.
    """
    blocks = blocks if blocks is not None else [line for line in text.splitlines() if line.strip()]
    if norm_text is not None and len(text) <= _SCORED_CHARS:
        body = norm_text
    else:
        body = normal_form(text[:_SCORED_CHARS])
    if spun:  # 政府 → 当局 synonym spinning hides the section names
        body = body.replace("当局", "政府")
        blocks = [b.replace("当局", "政府") for b in blocks]
    reasons: list[str] = []
    score = 0.0
    named: str | None = None
    verdict = title_verdict(title)
    if verdict in ("report", "copy"):
        score += 2.0
        named = title
        reasons.append(
            "title: the genre is its head noun"
            if verdict == "report"
            else "title: a content farm's copy (范文) of the genre"
        )
    elif verdict in ("about", "other"):
        score -= 3.0
        reasons.append(f"title: {'about the report' if verdict == 'about' else 'another genre'}")
    if verdict == "neutral":  # a site name as <title>: the first lines may name the genre
        for cand in heading_candidates(blocks):
            if title_verdict(cand) == "report":
                score += 2.0
                named = cand
                reasons.append("heading: the genre is its head noun")
                break
    # A list of reports names the genre in many lines.
    naming = sum(1 for b in blocks[:200] if len(b) <= 80 and _names_report(b))
    if naming >= 3:
        score -= 3.0
        reasons.append(f"list: {naming} lines are report titles")
    sec, found = _section_evidence(blocks, body)
    if named is None and len(_DISCLOSURE.findall(body)) < 3:
        sec = min(sec, 1.0)  # a 行政复议 or 政务服务 report shares headings, not the subject
        found.append("(few mentions of 政府信息/政务公开: sections capped)")
    score += sec
    if found:
        reasons.append("sections: " + ",".join(found))
    if _SELF_REF.search(body):
        score += 1.0
        reasons.append("speaks of itself as the report")
    other = set(_OTHER_GENRE_BODY.findall(body))
    if other:
        score -= min(2.0, 1.0 * len(other))
        reasons.append("another genre's wording: " + ",".join(sorted(other)))
    if len(body) < 200:
        score -= 2.0
        reasons.append("body too short")
    return Recognition(score >= THRESHOLD, score, reasons, named)


HEAD_CHARS = 3000  # how much of a page's text the pre-filter reads


def looks_like_candidate(title: str | None, text: str) -> bool:
    """The spider's cheap pre-filter: worth running the full cleaning chain on?

    Generous on purpose (notices about the report pass too); :func:`run` decides. Reads
    only ``text[:HEAD_CHARS]``, and no text at all when the title decides.
    """
    return title_names_genre(title) or head_looks_like_candidate(text)


def title_names_genre(title: str | None) -> bool:
    """The first half of :func:`looks_like_candidate`: a report page's title names the
    genre. The spider asks it first, and reads the page's text only when it says no."""
    # On the reactor's core, for every page: the text is not normalised when the title
    # decides (OpenCC over 3,000 characters, ≈ 4 % of the crawl process on 30 portals ×
    # 40 reports, 2026-12-01).
    return bool(GENRE.search(prep(title or "")))


def head_looks_like_candidate(text: str) -> bool:
    """The second half of :func:`looks_like_candidate`: the genre named early in the
    text, or three of the standard sections within its first :data:`HEAD_CHARS`."""
    head = normal_form(text[:HEAD_CHARS])
    if GENRE.search(head[:400]):
        return True
    return sum(bool(p.search(head)) for p in SECTION_GROUPS.values()) >= 3


STAGE = "recognize"
_NO_TEXT = ("scanned_pdf", "pdf_unmapped_font", "unparsable", "unsupported_format")


def run(doc: Document) -> Document:
    """Record the verdict and the page's metadata on the document; the store acts on it."""
    doc = metadata.run(doc)
    landing = landing_title(doc)
    judged = to_judge(doc, landing)
    norm = doc.norm_text if doc.sha256 else None  # set by the fingerprint stage
    result = recognize(judged, doc.text, doc.blocks, spun="spun_text" in doc.flags, norm_text=norm)
    if (
        not result.is_report
        and doc.kind in ("pdf", "doc", "docx")
        and any(f in doc.flags for f in _NO_TEXT)
    ):
        # No text to judge (a scan, a file we cannot read): the landing page's title decides,
        # so the raw attachment is archived and flagged rather than dropped.
        if title_verdict(landing) == "report":
            result = Recognition(
                True, THRESHOLD, ["no text layer; landing page title names the genre"], landing
            )
    doc.metadata["recognition"] = f"{result.score:.1f}: " + "; ".join(result.reasons)
    if result.is_report:
        doc.flag("report")
        if title_verdict(result.title) == "copy":
            doc.flag("farm_copy")
        chosen = result.title or judged
        if chosen:
            doc.title = report_title(chosen)
    return doc
