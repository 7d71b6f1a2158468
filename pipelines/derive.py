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
