"""The cleaning chain as one pure function of the raw capture.

The Scrapy pipelines run these stages one by one during a crawl; ``nianbao reprocess``
runs them here on stored raw bodies. Both use :data:`STAGES`, so they cannot drift.
Bump :data:`CLEANER_VERSION` whenever a stage's output can change.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from nianbao.pipelines import boilerplate, extract, fingerprint, normalize, recognize, relevance
from nianbao.pipelines.document import Document

CLEANER_VERSION = "2"

STAGES: list[tuple[str, Callable[[Document], Document]]] = [
    ("extract", extract.run),
    ("normalize", normalize.run),
    ("boilerplate", boilerplate.run),
    ("relevance", relevance.run),
    ("fingerprint", fingerprint.run),
    ("recognize", recognize.run),
]


def derive(
    body: bytes, url: str, content_type: str = "text/html", declared_charset: str | None = None
) -> Document:
    doc = Document(url=url, body=body, content_type=content_type, declared_charset=declared_charset)
    for _name, stage in STAGES:
        doc = stage(doc)
    return doc


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
