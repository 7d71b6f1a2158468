"""Flag machine-"spun" text: words swapped for odd synonyms to dodge duplicate detection.

Content farms run reports through a synonym spinner: 政府 becomes 当局 (政府信息公开 →
当局信息公开), 情况 becomes 环境, 创新 becomes 立异, 丰富 becomes 富厚, 建设 becomes
扶植 (seed 004's 2019 section). The text is what the page published, so it is kept; the
version is flagged ``spun_text`` and ``metadata["spun_lines"]`` says which lines (1-based,
of the clean text) carry the marks, so an auditor knows not to quote them as official.

A mark is a spun *phrase*, not a word: 当局 alone is legitimate (港澳当局), 当局信息公开 is
not. One mark could be a typo; ``MIN_MARKS`` marks in the document are a spinner.
"""

from __future__ import annotations

import re

from nianbao.pipelines import normalize
from nianbao.pipelines.document import Document

MIN_MARKS = 3
_ALTERNATIVES = (
    r"当局(?:信息|公开|网站|门户|工作|办公|申报|文件)"
    r"|[市县镇乡区省]当局"
    r"|(?:收费及减免|完成|执行|咨询受理|诉讼申诉)环境"
    r"|立异|富厚|扶植|赓续|匆匆进|树立健全|行政复讲"
)
# Every character a mark can start with, looked ahead first: Python's engine has no
# first-character set for an alternation and tried all twelve at every position of the
# text (0.2 ms a county report; with the look-ahead 0.1). tests/test_normalize.py checks
# the set against the alternatives.
_FIRST = "当市县镇乡区省收完执咨诉立富扶赓匆树行"
_MARKS = re.compile(f"(?=[{_FIRST}])(?:{_ALTERNATIVES})")
# A substring every mark holds (环境 only with what comes before it: 营商环境 is common).
# A text with none of them has no mark, and nearly every text has none: thirteen
# substring searches, in C, took 0.08 ms on a county report where the scan took 0.18.
# tests/test_normalize.py checks that every alternative holds one.
_ANCHORS = (
    "当局", "减免环境", "完成环境", "执行环境", "受理环境", "申诉环境", "立异", "富厚", "扶植",
    "赓续", "匆匆进", "树立健全", "行政复讲",
)  # fmt: skip


def run(doc: Document, lines: list[str], simplified: str | None = None) -> Document:
    """One pass over the lines joined (no mark spans a line break): nearly every document
    has no mark at all, and a spun one is not scanned again line by line.

    The lines are read as :func:`~pipelines.normalize.simplified` makes them, NFKC and
    simplified script, as the normal form reads them: a Kangxi radical or compatibility
    ideograph (⾏, 立 U+F9F7: PDF text has them) is the character a mark is made of.
    ``simplified``: the lines joined by line breaks, already so (the fingerprint's
    :func:`~pipelines.normalize.simplified` of the text), so that they are not converted
    again; used when it has a line for every line, else each line is converted."""
    if simplified is None or simplified.count("\n") != len(lines) - 1:
        simplified = "\n".join(normalize.simplified(line) for line in lines)
    if not any(anchor in simplified for anchor in _ANCHORS):
        return doc
    found = [m.start() for m in _MARKS.finditer(simplified)]
    if len(found) < MIN_MARKS:
        return doc
    # 1-based line numbers: a mark is on the line after the line breaks before it
    spun = sorted({simplified.count("\n", 0, at) + 1 for at in found})
    doc.flag("spun_text")
    doc.metadata["spun_lines"] = _ranges(spun)
    return doc


def _ranges(numbers: list[int]) -> str:
    """[3, 4, 5, 9] → "3-5,9"."""
    out: list[str] = []
    start = prev = numbers[0]
    for n in numbers[1:] + [0]:
        if n != prev + 1:
            out.append(f"{start}-{prev}" if prev != start else str(start))
            start = n
        prev = n
    return ",".join(out)
