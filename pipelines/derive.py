"""The cleaning chain as one pure function of the raw capture.

The Scrapy pipelines run these stages one by one during a crawl; ``nianbao reprocess``
runs them here on stored raw bodies. Both use :data:`STAGES`, so they cannot drift.
Bump :data:`CLEANER_VERSION` whenever a stage's output can change.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nianbao.pipelines import boilerplate, extract, fingerprint, normalize, recognize, relevance
from nianbao.pipelines.decode import charset_of
from nianbao.pipelines.document import Document
from nianbao.pipelines.metadata import report_fields

CLEANER_VERSION = "6"

STAGES: list[tuple[str, Callable[[Document], Document]]] = [
    ("extract", extract.run),
    ("normalize", normalize.run),
    ("boilerplate", boilerplate.run),
    ("relevance", relevance.run),
    ("fingerprint", fingerprint.run),
    ("recognize", recognize.run),
]


def document_for(
    body: bytes,
    url: str,
    content_type: str,
    context: dict[str, Any] | None = None,
    declared_charset: str | None = None,
) -> Document:
    """A capture as the cleaning stages take it — the one way, for the crawl and for
    ``reprocess``: the entity (content codings undone), its URL and type, and the
    context the crawl saw around it, which a stored capture keeps (``captures.context``):
    ``landing_title`` / ``landing_link_text`` (the page and link that led to an
    attachment) and ``landing_fields`` (that page's 索引号, 发布机构, dates: an attachment
    inherits them)."""
    doc = Document(
        url=url,
        body=body,
        content_type=content_type,
        declared_charset=declared_charset or charset_of(content_type),
    )
    context = context or {}
    for key in ("landing_title", "landing_link_text"):
        if context.get(key):
            doc.metadata[key] = context[key]
    for key, value in (context.get("landing_fields") or {}).items():
        doc.metadata[f"landing_{key}"] = value
    return doc


def clean(doc: Document) -> Document:
    for _name, stage in STAGES:
        doc = stage(doc)
    return doc


def derive(
    body: bytes,
    url: str,
    content_type: str = "text/html",
    declared_charset: str | None = None,
    context: dict[str, Any] | None = None,
) -> Document:
    """The cleaner applied to one body (``declared_charset``: what the HTTP header said,
    when ``content_type`` does not carry it)."""
    return clean(document_for(body, url, content_type, context, declared_charset))


@dataclass(frozen=True)
class VersionFields:
    """What a version is filed under, derived from its Document: the same for the store
    and for ``reprocess``."""

    title: str | None
    organ: str | None
    year: int | None
    published: str | None
    meta: dict[str, Any]


def version_fields(doc: Document, default_organ: str | None = None) -> VersionFields:
    """Title, organ (else the source's organ), report year, publication date, metadata."""
    fields = report_fields(doc)
    meta: dict[str, Any] = dict(doc.metadata)
    meta.update(kind=doc.kind, encoding=doc.encoding, errors=doc.errors)
    return VersionFields(
        doc.title, fields.organ or default_organ, fields.year, fields.published, meta
    )


# A small report page with what the stages read: a disclosure table, labelled lines, a
# dateline, a metadata line inside the text, a footer, and traditional script.
_WARM_PAGE = """<html><head><title>某县某镇2023年政府信息公开工作年度报告</title></head><body>
<div class="nav"><a href="/">首页</a> <a href="/zwgk/">政务公开</a></div>
<table class="xxgk"><tr><td>索引号：</td><td>000000000/2024-00001</td><td>发布机构：</td>
<td>某县某镇人民政府</td></tr><tr><td>生成日期：</td><td>2024-01-10</td><td>文号：</td>
<td></td></tr></table>
<div class="content"><h1>某县某镇2023年政府信息公开工作年度报告</h1>
<p>发布时间：2024-01-10 来源：某县某镇</p>
<p>本报告根据《中华人民共和国政府信息公开条例》编制。一、总体情况。二、主动公开政府信息情况。</p>
<p>三、收到和处理政府信息公开申请情况。四、政府信息公开行政复议、行政诉讼情况。</p>
<p>五、存在的主要问题及改进情况。六、其他需要报告的事项。本報告電子版可在本鎮網站下載。</p>
<p>主题分类：综合政务</p><p>文号：无</p><p>某县某镇人民政府</p><p>2024年1月10日</p></div>
<div class="footer">版权所有：某县人民政府 网站标识码：0000000000 备案号：京ICP备00000000号</div>
</body></html>"""


def warm() -> None:
    """Clean :data:`_WARM_PAGE` once, and throw the result away. What the stages load or
    compile at their first use (OpenCC's dictionaries and the table of what it changes,
    the long label patterns) is then ready: a crawl's cleaning workers call this as they
    start, on their own core while the crawl is still being set up, instead of on their
    first real page."""
    derive(
        _WARM_PAGE.encode("utf-8"), "http://warm.invalid/report.html", "text/html; charset=utf-8"
    )
    normalize.t2s_table()  # a page's text longer than the small page's reads it (20 ms)


def finish(doc: Document) -> tuple[Document, dict[str, float]]:
    """Every stage ``doc`` has not been through yet, in order, and the CPU-milliseconds each
    took: what a crawl's cleaning workers run (:mod:`pipelines.stage`), in another process."""
    spent: dict[str, float] = {}
    for name, stage in STAGES:
        if name in doc.done:
            continue
        t = time.process_time()
        doc = stage(doc)
        spent[name] = (time.process_time() - t) * 1000
        doc.done.append(name)
    return doc, spent
