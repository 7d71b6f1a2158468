"""Whose report, for which year, published when: the fields an auditor files a report under.

Portals print an info-disclosure table (索引号, 发布机构, 生成日期, 文号 …) and a byline
(发布时间：… 来源：…) around the article, and the 2017 website guideline adds ``<meta>`` tags
(ArticleTitle, PubDate, ContentSource). The cleaning stages keep only the article, so this
module reads the labelled fields from the whole decoded page (:attr:`Document.html`).

Three derived values go on the report and version (see :func:`report_fields`):

* **organ**: the title's prefix before the year (桦川县苏家店镇2013年…), else before the
  genre words, else 发布机构, 来源, the site name;
* **year**: the year *reported on*: the title's year (Arabic or 二〇一八), else the body's
  "现将2018年…报告如下" or statistics period, else the publication year minus one (a report
  published 2019-01-02 is the 2018 report);
* **published**: the date the page states: 发布时间/发布日期, else PubDate, else 生成日期/成文日期,
  else a date line closing an attachment.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from functools import cache

from nianbao.pipelines import htmltree, title
from nianbao.pipelines.document import Document
from nianbao.pipelines.labels import DATE_FIELDS, FIELDS, field_of, label_key, label_regex, labels
from nianbao.pipelines.normalize import strip_pinyin

# The labels and field names are the one vocabulary of pipelines.labels (FIELDS).
_LABEL_ALT = label_regex(labels())


# The two patterns with the label alternation (7,000 characters: every label in both scripts,
# with the converter's pinyin after each character) are compiled at first use, not at
# import: 45 ms each, paid by every crawl's start-up and every command, most of which never
# read a labelled line in that process (the crawl's cleaning workers compile them as they
# start: pipelines.derive.warm).
@cache
def _field() -> re.Pattern[str]:
    """A label at a line start or after a separator, then a colon, then its value."""
    return re.compile(rf"(?:^|(?<=[\s|｜【\[（(]))({_LABEL_ALT})\s*[:：]\s*")


@cache
def _cut() -> re.Pattern[str]:
    """Where a label's value ends."""
    return re.compile(
        rf"\s{{2,}}|\s*[|｜】【\]]|\s+(?:{_LABEL_ALT})\s*[:：]|\s+(?:浏览|阅读|点击|访问)"
    )


_DATE = re.compile(r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
_CN_NUM = dict(zip("〇○零ＯО一二三四五六七八九", "00000123456789", strict=True))
_CN_YEAR = re.compile(r"[二一][〇○零ＯО一二三四五六七八九]{3}(?=年)")
_CN_MD = re.compile(r"(?<=年)([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日")
_TITLE_YEAR = re.compile(r"((?:19|20)\d{2})\s*年?度?")
_GENRE = re.compile(
    r"(关于)?(政府|政务|行政)?(信息)?(公开|公開)(工作)?(年度|年)?(报告|報告|年报|年報)|政府信息|政务公开"
)
_BODY_YEAR = [
    re.compile(r"现将(?:我\w{1,3}|本\w{1,3})?((?:19|20)\d{2})\s*年度?"),
    re.compile(
        r"((?:19|20)\d{2})\s*年度?[^。\n]{0,20}(?:政府|政务)?信息公开(?:工作)?(?:年度)?(?:报告|年报)"
    ),
    re.compile(
        r"统计(?:期限|时限|时间|期间|区间)[^。\n]{0,10}?((?:19|20)\d{2})\s*年\s*1\s*月\s*1\s*日"
    ),
    re.compile(
        r"自\s*((?:19|20)\d{2})\s*年\s*1\s*月\s*1\s*日(?:起)?至\s*(?:19|20)\d{2}\s*年\s*12\s*月\s*31\s*日"
    ),
]
# Not an organ: a content farm's "乡镇政府信息公开…范文", a template's "xx镇".
_GENERIC_ORGANS = {
    "乡镇",
    "街道",
    "部门",
    "单位",
    "机关",
    "政府",
    "人民政府",
    "乡镇政府",
    "县政府",
    "区政府",
    "市政府",
    "镇政府",
    "乡政府",
    "县直部门",
    "市直部门",
    "我镇",
    "我县",
    "我局",
}
_PLACEHOLDER = re.compile(r"^[xX×＊*某]{1,3}|[xX×]{2}")
_ORGAN_JUNK = " 《》“”\"'：:，,（）()【】[]—-_|"


@dataclass
class ReportFields:
    """What the store files a report under."""

    organ: str | None
    year: int | None
    published: str | None  # ISO date


def cn_digits(text: str) -> str:
    """二〇一八年一月二日 → 2018年1月2日, so Chinese-numeral dates parse like Arabic ones."""
    text = _CN_YEAR.sub(lambda m: "".join(_CN_NUM[c] for c in m.group(0)), text)

    def small(s: str) -> str:
        if "十" not in s:
            return "".join(_CN_NUM[c] for c in s)
        tens, _, ones = s.partition("十")
        return str(
            int(_CN_NUM.get(tens, "1") if tens else 1) * 10 + int(_CN_NUM[ones] if ones else 0)
        )

    return _CN_MD.sub(lambda m: f"{small(m.group(1))}月{small(m.group(2))}日", text)


def parse_date(value: str | None) -> str | None:
    """The first plausible date in ``value`` as YYYY-MM-DD.

    A date that does not exist (2019-02-31, a template's typo) is skipped, not stored:
    the archive's dates are compared and sorted as real dates.
    """
    if not value:
        return None
    for m in _DATE.finditer(cn_digits(value)):
        y, mo, d = (int(g) for g in m.groups())
        if not 1990 <= y <= 2100:
            continue
        try:
            return datetime.date(y, mo, d).isoformat()
        except ValueError:
            continue
    return None


# What is not page text, for the labelled-field reader (extraction drops more, later).
NON_TEXT_TAGS = ["script", "style", "noscript", "template"]


def soup_lines(soup: htmltree.Element) -> list[str]:
    """The page's text lines, for a parsed page (:func:`htmltree.parse`) whose
    :data:`NON_TEXT_TAGS` are already removed.

    Extraction calls this on the tree it parsed anyway (``doc.page_lines``), so a report
    page is parsed once, not once more here.
    """
    text = htmltree.text(soup, "\n")
    lines = text.replace("\u3000", " ").replace("\xa0", " ").splitlines()
    return [stripped for line in lines if (stripped := line.strip())]


def _page_lines(html: str) -> list[str]:
    soup = htmltree.parse(html)
    for el in htmltree.tags(soup, NON_TEXT_TAGS):
        htmltree.drop(el)
    return soup_lines(soup)


def _valid(field: str, value: str) -> bool:
    if not value or value in {"无", "暂无", "-", "/"}:
        return False
    if field in DATE_FIELDS:
        return parse_date(value) is not None
    if field == "index_no":
        return bool(re.search(r"\d", value)) and len(value) <= 60
    if field == "doc_no":
        return bool(re.search(r"\d", value)) and len(value) <= 40
    if field in ("publisher", "source"):
        return 2 <= len(value) <= 40 and bool(re.search(r"[\u4e00-\u9fff]", value))
    return len(value) <= 40


def labelled_fields(lines: list[str]) -> dict[str, str]:
    """索引号/发布机构/生成日期/文号 … from page lines; a value may sit on the label's next line."""
    found: dict[str, str] = {}
    field_re, cut = _field(), _cut()
    for i, line in enumerate(lines):
        if ":" not in line and "：" not in line:
            continue  # no label without its colon: most lines, spared the label alternation
        for m in field_re.finditer(line):
            field = field_of(m.group(1))
            if field is None:
                continue
            if field in found:
                continue
            rest = line[m.end() :].strip()
            if not rest and i + 1 < len(lines) and not field_re.match(lines[i + 1]):
                rest = lines[i + 1]
            value = cut.split(rest, maxsplit=1)[0].strip(" ：:")
            # 城關鎮(zhèn): the converter that garbled the label garbles the value too.
            value = strip_pinyin(value, converter_seen=label_key(m.group(1)) != m.group(1))[0]
            if field in DATE_FIELDS:
                value = parse_date(value) or ""
            if _valid(field, value):
                found[field] = value
    return found


_META_TAG = re.compile(r"<meta\s[^>]*>", re.I)
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def meta_content(html: str, name: str) -> str | None:
    """The ``content`` of ``<meta name=…>``, whatever the attributes' order:
    ``<meta content="2020-01-05" name="PubDate">`` is as common as name-first."""
    for tag in _META_TAG.findall(html):
        attrs = {m[0].lower(): m[1] or m[2] or m[3] for m in _ATTR.findall(tag)}
        if attrs.get("name", "").lower() == name.lower() and "content" in attrs:
            return attrs["content"]
    return None


def page_fields(html: str) -> dict[str, str]:
    """A landing page's labelled fields (and PubDate), which the spider hands to the
    attachments it links: the report in the PDF has no 索引号 or 发布时间 of its own."""
    fields = labelled_fields(_page_lines(html))
    if published := parse_date(meta_content(html[:20000], "PubDate")):
        fields["published"] = published
    return fields


def run(doc: Document) -> Document:
    """Add the page's labelled fields to ``doc.metadata`` (never overwriting meta tags)."""
    lines = (doc.page_lines or _page_lines(doc.html)) if doc.html else []
    if not doc.html:
        # Attachments: the fields, if any, are in the first and last lines of the text.
        lines = doc.blocks[:15] + doc.blocks[-6:]
    for field, value in labelled_fields(lines).items():
        if field == "published":  # the page's own 发布时间 over a <meta name="PubDate">
            doc.metadata[field] = value
        else:
            doc.metadata.setdefault(field, value)
    # Extraction keeps labelled values as printed ("2018年12月29日"); dates are stored as ISO.
    for field in DATE_FIELDS:
        if (raw := doc.metadata.get(field)) and (date := parse_date(raw)):
            doc.metadata[field] = date
    # An attachment inherits what its landing page states (``landing_*``, set by the spider).
    for key in FIELDS:
        if f"landing_{key}" in doc.metadata:
            doc.metadata.setdefault(key, doc.metadata[f"landing_{key}"])
    if "published" not in doc.metadata and not doc.html:
        # A report's closing line is its date: "二〇一九年一月十五日".
        for block in reversed(doc.blocks[-4:]):
            if len(block) <= 20 and (date := parse_date(block)):
                doc.metadata["written"] = date
                break
    return doc


def published_date(meta: dict[str, str]) -> str | None:
    """The ISO date the page states: 发布时间 (else PubDate), 生成日期, 发文日期, 成文日期
    or a closing date line."""
    for key in ("published", "generated", "issued", "written"):
        date = parse_date(meta.get(key))
        if date:
            return date
    return None


def report_year(title: str | None, text: str = "", published: str | None = None) -> int | None:
    """The year reported on: the title's, else the body's report phrases, else published-1."""
    pub_year = int(published[:4]) if published and re.match(r"\d{4}", published) else None
    if title:
        years = [int(y) for y in _TITLE_YEAR.findall(cn_digits(title))]
        years = [y for y in years if 2000 <= y <= (pub_year or 2100)]
        if years:
            return years[0]
    head = cn_digits(text[:1500])
    for pattern in _BODY_YEAR:
        m = pattern.search(head)
        if m and 2000 <= int(m.group(1)) <= (pub_year or 2100):
            return int(m.group(1))
    return pub_year - 1 if pub_year else None


def report_organ(title: str | None, metadata: dict[str, str] | None = None) -> str | None:
    """The organ a report is by: the title's prefix before the year or genre words."""
    if title:
        t = cn_digits(strip_pinyin(title.strip())[0])
        t = re.sub(r"[(（]\s*(?:19|20)\d{2}\s*年?度?\s*[)）]", "", t)
        year, genre = _TITLE_YEAR.search(t), _GENRE.search(t)
        cut = [m.start() for m in (year, genre) if m]
        if cut:
            organ = t[: min(cut)].strip(_ORGAN_JUNK)
            if not organ and year and genre and year.end() < genre.start():
                organ = t[year.end() : genre.start()].strip(_ORGAN_JUNK)  # 2022年度XX局政府…
            organ = re.sub(r"^关于", "", organ).removesuffix("关于").removesuffix("的")
            if len(organ) >= 2 and organ not in _GENERIC_ORGANS and not _PLACEHOLDER.search(organ):
                return organ
    metadata = metadata or {}
    for key in ("publisher", "source", "site_name"):
        if metadata.get(key):
            return metadata[key]
    return None


def report_fields(doc: Document) -> ReportFields:
    """Organ, report year and publication date of a recognised report, for the store."""
    published = published_date(doc.metadata)
    named = title.fields_title(doc)
    return ReportFields(
        organ=report_organ(named, doc.metadata),
        year=report_year(named, doc.text, published),
        published=published,
    )
