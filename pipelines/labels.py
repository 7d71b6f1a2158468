"""Labels of the info-disclosure table (索引号, 发布机构, 发布时间 …) in any script, with or
without converter pinyin.

A portal run through a bad traditional-script converter prints ``發(fā)布時間:2017-02-24``:
traditional characters, each possibly followed by its pinyin in parentheses. Both readers
of labelled fields (:mod:`pipelines.metadata` on the whole page, :mod:`pipelines.content`
on table cells) list their labels in simplified script once; :func:`label_regex` makes a
pattern that also accepts the traditional forms and the pinyin, and :func:`label_key` turns
what it matched back into the listed label. A character map instead of OpenCC, because the
labels use a handful of characters and the regexes are built at import time.
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
