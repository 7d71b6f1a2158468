"""Labels of the info-disclosure table (索引号, 发布机构, 发布时间 …) in any script, with or
without converter pinyin.

A portal run through a bad traditional-script converter prints ``發(fā)布時間:2017-02-24``:
traditional characters, each possibly followed by its pinyin in parentheses. Both readers
of labelled fields (:mod:`pipelines.metadata` on the whole page, :mod:`pipelines.content`
on table cells) list their labels in simplified script once; :func:`label_regex` makes a
pattern that also accepts the traditional forms and the pinyin, and :func:`label_key` turns
what it matched back into the listed label. A character map instead of OpenCC, because the
labels use a handful of characters and the short regexes are built at import time (the
long alternations at first use: pipelines.metadata._field).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Traditional forms (OpenCC s2t, s2hk, s2tw; 佈 from 發佈) of the characters the labels use.
TRADITIONAL: dict[str, str] = {
    "体": "體",
    "关": "關",
    "单": "單",
    "发": "發",
    "号": "號",
    "属": "屬",
    "开": "開",
    "时": "時",
    "机": "機",
    "来": "來",
    "构": "構",
    "类": "類",
    "编": "編",
    "词": "詞",
    "间": "間",
    "题": "題",
    "布": "佈",
}
_SIMPLIFIED = {t: s for s, ts in TRADITIONAL.items() for t in ts}
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
# A converter's pinyin after a label character, toned or not: 發(fā), 發(fa).
_PINYIN = rf"[(（][a-züv{_TONED}]{{1,7}}[)）]"
_PINYIN_RE = re.compile(_PINYIN, re.I)


def _char_pattern(char: str) -> str:
    if char == " ":
        return r"\s*"  # "索 引 号": spaced labels, however many spaces
    return f"[{re.escape(char)}{TRADITIONAL.get(char, '')}](?:{_PINYIN})?"


def label_regex(labels: Iterable[str]) -> str:
    """An alternation (no group) matching any of ``labels``, longest first, in simplified
    or traditional script, with optional pinyin after each character."""
    ordered = sorted(set(labels), key=len, reverse=True)
    return "|".join("".join(_char_pattern(c) for c in label) for label in ordered)


def label_key(text: str) -> str:
    """The listed (simplified) label a :func:`label_regex` match stands for:
    ``發(fā)布時間`` → ``发布时间``, ``索 引 号`` → ``索引号``. Look matches up in a dict
    keyed by ``label_key(label)``."""
    text = re.sub(r"\s+", "", _PINYIN_RE.sub("", text))
    return "".join(_SIMPLIFIED.get(c, c) for c in text)


# --- the one vocabulary ------------------------------------------------------------------
# Field → the labels portals print for it (simplified script; traditional forms and pinyin
# match through label_regex). Every reader of labelled fields — the disclosure table in the
# page (pipelines.content), the labelled lines around the article (pipelines.metadata), the
# metadata rows the boilerplate stage removes — uses these names and no others.
FIELDS: dict[str, tuple[str, ...]] = {
    "index_no": ("索引号", "索 引 号", "信息索引号", "索取号"),
    "publisher": (
        "发布机构",
        "发文机关",
        "发文单位",
        "发布单位",
        "公开主体",
        "所属机构",
        "发布机关",
    ),
    "source": ("信息来源", "文章来源", "稿件来源", "来源"),
    "generated": ("生成日期", "形成日期"),
    "written": ("成文日期", "成文时间", "印发日期"),
    "issued": ("发文日期",),
    "published": (
        "发布时间",
        "发布日期",
        "公开日期",
        "公开时间",
        "发表时间",
        "时间",
    ),
    "doc_no": ("文号", "发文字号", "文件编号"),
    "category": ("主题分类",),
    "keywords": ("主题词",),
    "validity": ("有效性", "时效性"),
}
# Fields whose value is a date (stored as ISO 2019-01-15).
DATE_FIELDS: tuple[str, ...] = ("published", "generated", "written", "issued")
# Labels too generic to mark a disclosure-table cell (a byline's 时间： is still read).
GENERIC_LABELS = frozenset({"时间"})
# Older archives stored metadata under other names for the same fields (one reader said
# "stated" and "topic" where another said "published" and "category"): migration 0006
# rewrites them, and nothing writes them any more.
RENAMED: dict[str, str] = {"stated": "published", "topic": "category"}

_FIELD_OF = {label_key(lab): f for f, labs in FIELDS.items() for lab in labs}


def field_of(label: str) -> str | None:
    """The field a printed label stands for (索引號, 發(fā)布時間, 索 引 号 …), if any."""
    return _FIELD_OF.get(label_key(label))


def first_chars(labels: Iterable[str]) -> frozenset[str]:
    """Every character a :func:`label_regex` match of ``labels`` can begin with: the first
    character of each label, in either script. A reader that tests many texts (every
    string of a page) skips the ones that begin otherwise before building or matching
    anything."""
    firsts = {label[0] for label in labels}
    if " " in firsts:  # _char_pattern(" ") is \s*: the match would begin with what follows
        raise ValueError("a label begins with a space")
    return frozenset(c for first in firsts for c in first + TRADITIONAL.get(first, ""))


def labels(*, generic: bool = True) -> list[str]:
    """Every label of the vocabulary (without the generic ones when ``generic`` is False)."""
    return [lab for labs in FIELDS.values() for lab in labs if generic or lab not in GENERIC_LABELS]
