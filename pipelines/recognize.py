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

from nianbao.pipelines import metadata
from nianbao.pipelines.document import Document
from nianbao.pipelines.normalize import normal_form, strip_pinyin
from nianbao.pipelines.stage import StagePipeline

# The genre as a noun phrase, on normal_form text (simplified, NFKC, no whitespace).
_GENRE = re.compile(
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
_TITLE_SPLIT = re.compile(r"\s*(?:_|\||｜|——|--|(?<!\d)\s*[-—–]\s*|\s*[-—–]\s*(?!\d))\s*")
# Other genres a title can name; only consulted when the title does not end in the genre.
_LOOKALIKE = re.compile(
    r"通知|通报|公告|意见|方案|解读|图解|政府工作报告|法治政府|预算|决算|指南|目录|会议|"
    r"培训|推进会|座谈会|督查|考核|测评|评估|统计公报|报表|述职|审计报告|要点|办法|规定|制度|申请表"
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
# Attachments that are a part of or a form for a report, not the report itself.
_PART = re.compile(r"统计表|附表|报表|申请表|登记表|解读|图解|说明")
THRESHOLD = 3.0
_SCORED_CHARS = 30000  # of the clean text; a report's sections come well before this


@dataclass
class Recognition:
    is_report: bool
    score: float
    reasons: list[str] = field(default_factory=list)
    title: str | None = None  # the title that named the genre, if one did


def _prep(text: str) -> str:
    return normal_form(metadata.cn_digits(strip_pinyin(text)[0]))


def title_verdict(title: str | None) -> str:
    """``report`` (the genre is the head noun), ``copy`` (a content farm's 范文 of it),
    ``about`` (names it, is about it), ``other`` (another genre's title) or ``neutral``
    (says nothing, e.g. a site name)."""
    if not title:
        return "neutral"
    verdict = "neutral"
    for part in _TITLE_SPLIT.split(title):
        t = _prep(part)
        for m in _GENRE.finditer(t):
            if _OTHER_REGIME.search(t[: m.start()]):
                continue
            if _TAIL_OK.match(t[m.end() :]):
                return "report"
            verdict = "copy" if _FARM_TAIL.match(t[m.end() :]) else "about"
        if verdict == "neutral" and _LOOKALIKE.search(t):
            verdict = "other"
    return verdict


def _heading_candidates(blocks: list[str]) -> list[str]:
    """The first lines alone, then joined: PDF/DOCX titles are often broken over lines."""
    short: list[str] = []
    for block in blocks[:3]:
        if len(block) > 60:
            break
        short.append(block)
    joined = ["".join(short[: i + 1]) for i in range(1, len(short))]
    return short + joined


def _section_evidence(blocks: list[str], body: str) -> tuple[float, list[str]]:
    headings = [_prep(b) for b in blocks if len(b) <= 60 and _ENUM.match(b.strip())]
    score, found = 0.0, []
    for name, pattern in SECTION_GROUPS.items():
        if any(pattern.search(h) for h in headings):
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
        for cand in _heading_candidates(blocks):
            if title_verdict(cand) == "report":
                score += 2.0
                named = cand
                reasons.append("heading: the genre is its head noun")
                break
    # A list of reports names the genre in many lines.
    naming = sum(
        1
        for b in blocks[:200]
        if len(b) <= 80 and title_verdict(_TRAILING_DATE.sub("", b)) == "report"
    )
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


def looks_like_candidate(title: str | None, text: str) -> bool:
    """The spider's cheap pre-filter: worth running the full cleaning chain on?

    Generous on purpose (notices about the report pass too); :func:`run` decides.
    """
    t = _prep(title or "")
    head = normal_form(text[:3000])
    if _GENRE.search(t) or _GENRE.search(head[:400]):
        return True
    return sum(bool(p.search(head)) for p in SECTION_GROUPS.values()) >= 3


STAGE = "recognize"
_NO_TEXT = ("scanned_pdf", "pdf_unmapped_font", "unparsable", "unsupported_format")


def run(doc: Document) -> Document:
    """Record the verdict and the page's metadata on the document; the store acts on it."""
    doc = metadata.run(doc)
    landing = doc.metadata.get("landing_title")
    link = doc.metadata.get("landing_link_text")
    if landing and link and (title_verdict(link) in ("about", "other") or _PART.search(link)):
        # "附件2：统计表" on a report's landing page is not the report: the landing title
        # must not name it (two files filed as one report would churn versions).
        landing = None
    titles = [doc.metadata.get("title"), doc.title, landing]
    verdicts = [title_verdict(t) for t in titles]
    title = next((t for t, v in zip(titles, verdicts, strict=True) if v == "report"), None)
    title = title or next((t for t, v in zip(titles, verdicts, strict=True) if v == "copy"), None)
    title = title or next((t for t in titles if t), "")
    norm = doc.norm_text if doc.sha256 else None  # set by the fingerprint stage
    result = recognize(title, doc.text, doc.blocks, spun="spun_text" in doc.flags, norm_text=norm)
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
        chosen = result.title or title
        if chosen:
            # "报告_县人民政府" (a page <title>) keeps only the part that names the genre.
            parts = [
                p for p in _TITLE_SPLIT.split(chosen) if title_verdict(p) in ("report", "copy")
            ]
            chosen = parts[0] if parts else chosen
            doc.title = re.sub(
                r"\.(?:docx?|wps|pdf)$", "", strip_pinyin(chosen)[0].strip(), flags=re.I
            )
    return doc


class RecognizePipeline(StagePipeline):
    stage = staticmethod(run)
