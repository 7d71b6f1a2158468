"""Paragraph-level removal of page chrome that survived container selection.

Templates nest chrome inside the content box too: the title again (:mod:`pipelines.title`),
and the chrome lines of :mod:`pipelines.chrome` (a dateline, the info-disclosure metadata
table, whose fields are kept as metadata, widgets, footers …). Two kinds of line are
chrome only by their neighbours, because a document prints them too: a contact line
(邮政编码：350400 in a 指南) only in a run of chrome lines that holds a footer rule, and a
lone weak metadata line (公开方式：主动公开) only in a run that holds other metadata or
near the top. Each removal names its rule.
"""

from __future__ import annotations

import re

from nianbao.pipelines import content, title
from nianbao.pipelines.chrome import FOOTER, classify, weak_meta
from nianbao.pipelines.document import Document

STAGE = "boilerplate"
# A metadata table comes before the document: a weak label this near the top is its row.
_META_TOP = 5
# A site footer's tail: at most this many lines of at most this many characters.
_TAIL, _TAIL_CHARS = 5, 160
# Footer lines no document prints (a report may mention its 主办单位 or 联系我们).
_FOOTER_MARK = frozenset({"copyright", "icp", "police-record", "site-id"})


def run(doc: Document) -> Document:
    kept: list[str] = []
    if not doc.title and doc.kind in ("pdf", "docx", "doc"):
        doc.title = title.heading_title(doc)
    n_title = title.repeat_blocks(doc)
    rules = _in_context(doc.blocks, [classify(block, i) for i, block in enumerate(doc.blocks)])
    rules = _footer_tail(doc.blocks, rules)
    for i, block in enumerate(doc.blocks):
        if i in n_title:
            doc.remove(STAGE, "title", block)
            continue
        rule = rules[i]
        if rule is None:
            kept.append(block)
            continue
        if rule in {"disclosure-meta", "dateline"}:
            for key, value in _pairs(block).items():
                doc.metadata.setdefault(key, value)
        doc.remove(STAGE, rule, block)
    doc.blocks = kept
    return doc


def _in_context(blocks: list[str], rules: list[str | None]) -> list[str | None]:
    """Lines that are chrome only beside other chrome, judged by their run of chrome lines.

    A footer (版权所有 / 主办单位 / ICP备 …) carries the site's 联系电话 and 邮编; the same
    lines in a 政府信息公开指南 or a report's "如对本报告有任何疑问…" are the document's.
    A metadata table prints 公开方式 / 有效性 beside 索引号 and 发布机构; a guide's
    "公开方式：主动公开" in its fourth section is the guide's.
    """
    out = list(rules)
    for k, rule in enumerate(rules):
        if rule == "disclosure-meta" and k >= _META_TOP and weak_meta(blocks[k]):
            near = rules[max(0, k - 1) : k] + rules[k + 1 : k + 2]
            if not {"disclosure-meta", "dateline"}.intersection(near):
                out[k] = None
    rules = out
    out = list(rules)
    i = 0
    while i < len(rules):
        if rules[i] is None:
            i += 1
            continue
        j = i
        while j < len(rules) and rules[j] is not None:
            j += 1
        if not FOOTER.intersection(rules[i:j]):
            for k in range(i, j):
                if rules[k] == "contact":
                    out[k] = None
        i = j
    return out


def _footer_tail(blocks: list[str], rules: list[str | None]) -> list[str | None]:
    """The last few short lines after a site footer's line (版权所有, ICP备, 网站标识码 …) are
    the footer's too: a news portal's numbered 免责声明 items, its 联系电话 after a "※".

    A document never goes on after its site's footer; only a short tail (``_TAIL`` lines
    of at most ``_TAIL_CHARS``) is taken, so a container that wrongly held a footer in its
    middle loses nothing but the footer's own lines.
    """
    last = max((i for i, rule in enumerate(rules) if rule in _FOOTER_MARK), default=None)
    if last is None or len(blocks) - last - 1 > _TAIL:
        return rules
    tail = range(last + 1, len(blocks))
    if any(len(blocks[i]) > _TAIL_CHARS for i in tail):
        return rules
    return [rule if i <= last or rule else "footer-tail" for i, rule in enumerate(rules)]


def _pairs(block: str) -> dict[str, str]:
    """Label/value pairs of a metadata row: "索引号： | xxx | 发布机构： | yyy"."""
    out: dict[str, str] = {}
    cells = [
        c.strip() for c in re.split(r"\s*\|\s*|\s+(?=\S{2,6}[:：])|\s{2,}|　+", block) if c.strip()
    ]
    i = 0
    while i < len(cells):
        m = re.match(r"^(\S{2,6}?)\s*[:：]\s*(.*)$", cells[i])
        key = content.meta_key(m.group(1)) if m else None
        if m and key:
            value = m.group(2).strip()
            if not value and i + 1 < len(cells) and not re.search(r"[:：]$", cells[i + 1]):
                value = cells[i + 1]
                i += 1
            if value:
                out.setdefault(key, value)
        i += 1
    return out
