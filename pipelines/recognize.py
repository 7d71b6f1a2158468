"""Is this page an annual report on government information disclosure? And whose, for when?

Recognition reads the title, the first heading and the body. A report title names the
genre (政府信息公开工作年度报告, 政务公开工作年度报告, 信息公开年报 …, in either script); a
report body carries the standard section vocabulary. Look-alikes are rejected by their
own markers: notices *about* the report (关于做好…的通知), 政府工作报告, 法治政府建设年度报告,
budget disclosures, the disclosure guide (指南) and catalogue (目录).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipelines.document import Document
from pipelines.normalize import normal_form, strip_pinyin
from pipelines.stage import StagePipeline

_TITLE_GENRE = re.compile(
    r"(政府信息公开|政务公开|信息公开|政府信息公开工作|政务信息公开|政府政务信息公开)[^，。]{0,8}"
    r"(年度报告|年报|工作报告|年度工作报告)"
)
_TITLE_SHORT = re.compile(r"(信息公开年报|公开年报|公开年度报告)")
_NEGATIVE_TITLE = re.compile(
    r"(关于(做好|印发|开展|报送|编制|转发).{0,30}(通知|意见|方案)|政府工作报告|法治政府建设|预算|决算|"
    r"指南|目录|会议|培训|督查|考核|评估|测评|专题|解读|述职|审计|统计公报|国民经济)"
)
SECTION_TERMS = [
    "主动公开政府信息",
    "依申请公开",
    "行政复议",
    "行政诉讼",
    "存在的主要问题",
    "改进措施",
    "改进情况",
    "收费及减免",
    "其他需要报告的事项",
    "收到和处理政府信息公开申请",
    "总体情况",
    "政府信息公开条例",
    "不予公开",
    "年度报告",
]
_YEAR_IN_TITLE = re.compile(r"((?:19|20)\d{2})\s*年?度?")
_CN_DIGITS = {
    "〇": "0",
    "零": "0",
    "一": "1",
    "二": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
    "○": "0",
    "Ｏ": "0",
    "О": "0",
}
_ORGAN = re.compile(r"^(.{2,40}?)(?:关于)?(?:(?:19|20)\d{2}\s*年?度?)")


@dataclass
class Recognition:
    is_report: bool
    score: float
    reasons: list[str] = field(default_factory=list)


def _cn_year(text: str) -> str:
    """二〇一八年 → 2018年, so Chinese-numeral years parse too."""
    return re.sub(
        r"[二][〇○零ＯО一二三四五六七八九]{3}",
        lambda m: "".join(_CN_DIGITS[c] for c in m.group(0)),
        text,
    )


def recognize(title: str | None, text: str) -> Recognition:
    """Score a page; ``title`` is the page/heading title, ``text`` its clean body."""
    t = normal_form(_cn_year(title or ""))
    body = normal_form(text[:20000])
    reasons: list[str] = []
    score = 0.0
    if _TITLE_GENRE.search(t) or _TITLE_SHORT.search(t):
        score += 2.0
        reasons.append("title names the genre")
    elif _TITLE_GENRE.search(body[:200]):
        score += 1.5
        reasons.append("heading names the genre")
    if _NEGATIVE_TITLE.search(t):
        score -= 3.0
        reasons.append("title is a look-alike genre")
    hits = [term for term in SECTION_TERMS if term in body]
    score += min(len(hits), 6) * 0.5
    if hits:
        reasons.append("sections: " + ",".join(hits[:6]))
    if len(body) < 150:
        score -= 1.0
        reasons.append("body too short")
    return Recognition(score >= 3.0, score, reasons)


def report_year(title: str | None, text: str = "", published: str | None = None) -> int | None:
    """The year reported on: from the title, else the body's first year, else published-1."""
    for source in (title or "", text[:300]):
        m = _YEAR_IN_TITLE.search(_cn_year(normal_form(source)))
        if m:
            return int(m.group(1))
    if published and re.match(r"\d{4}", published):
        return int(published[:4]) - 1
    return None


def report_organ(title: str | None, metadata: dict[str, str] | None = None) -> str | None:
    """The organ the report is by: the title's prefix before the year, else 发布机构."""
    if title:
        m = _ORGAN.match(_cn_year(title.strip()))
        if m:
            organ = m.group(1).strip(' 《“"')
            if organ:
                return organ
    metadata = metadata or {}
    return metadata.get("publisher") or metadata.get("source")


def looks_like_candidate(title: str | None, text: str) -> bool:
    """The spider's cheap pre-filter: worth running the full cleaning chain on?

    Generous on purpose; :class:`RecognizePipeline` makes the decision on clean text.
    """
    t = normal_form(_cn_year(title or ""))
    head = normal_form(text[:3000])
    if _TITLE_GENRE.search(t) or _TITLE_SHORT.search(t) or _TITLE_GENRE.search(head[:300]):
        return True
    return sum(term in head for term in SECTION_TERMS) >= 3


STAGE = "recognize"


def run(doc: Document) -> Document:
    """Record the verdict on the document; the store decides what to do with it."""
    heading = doc.blocks[0] if doc.blocks else ""
    title = doc.metadata.get("title") or doc.title or doc.metadata.get("landing_title") or ""
    # The page <title> often carries the site name; the first heading is the report's own.
    if _TITLE_GENRE.search(normal_form(heading)) and len(heading) < 80:
        title = heading
    title, _ = strip_pinyin(title)
    result = recognize(title, doc.text)
    doc.metadata["recognition"] = f"{result.score:.1f}: " + "; ".join(result.reasons)
    if result.is_report:
        doc.flag("report")
        doc.title = title.strip() or doc.title
    return doc


class RecognizePipeline(StagePipeline):
    stage = staticmethod(run)
