"""Script repair and the normalised form used for hashing, search and comparison.

Two jobs, kept apart on purpose:

* :func:`run` repairs the *published* text without changing its script: it removes the
  pinyin a bad traditional-script converter leaves after characters (``城關鎮(zhèn)``) and
  flags machine-"spun" text (政府 systematically replaced by 当局). Removed pinyin is
  recorded like any other removal.
* :func:`normal_form` computes the form we hash and search: OpenCC traditional →
  simplified, NFKC (full-width digits and punctuation fold), all whitespace removed.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pipelines.document import Document
from pipelines.stage import StagePipeline

STAGE = "script"

# Pinyin syllable with tone marks (or tone digits), directly after a CJK character.
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ"
_PINYIN = re.compile(rf"(?<=[\u3400-\u9fff])\((?=[a-z{_TONED}]*[{_TONED}])[a-z{_TONED}]{{1,7}}\)")
_SPUN = {"当局": "政府", "當局": "政府"}
_SPUN_CONTEXT = re.compile(r"(当局|當局)(信息公开|信息公開|网站|網站|工作|办公室|辦公室|门户)")


@lru_cache(maxsize=1)
def _t2s():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


def strip_pinyin(text: str) -> tuple[str, list[str]]:
    """Remove converter pinyin; return the text and the annotations removed."""
    found = _PINYIN.findall(text)
    return (_PINYIN.sub("", text), found) if found else (text, [])


def is_spun(text: str) -> bool:
    """政府 swapped for 当局 in set phrases no real report uses (当局信息公开, 当局网站)."""
    return len(_SPUN_CONTEXT.findall(text)) >= 1


def normal_form(text: str) -> str:
    """Simplified script, NFKC, no whitespace: equal for the same report in any template."""
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text)
    return "".join(text.split())


def run(doc: Document) -> Document:
    blocks: list[str] = []
    for block in doc.blocks:
        fixed, found = strip_pinyin(block)
        for annotation in found:
            doc.remove(STAGE, "pinyin-annotation", annotation)
        blocks.append(fixed)
    if any(r.rule == "pinyin-annotation" for r in doc.removed):
        doc.flag("pinyin_garbage")
    doc.blocks = blocks
    if doc.title:
        doc.title, _ = strip_pinyin(doc.title)
    if is_spun("\n".join(blocks)):
        doc.flag("spun_text")
    return doc


class NormalizePipeline(StagePipeline):
    stage = staticmethod(run)
