"""The document that flows through the cleaning stages.

A :class:`Document` starts as the raw capture (bytes plus what the server said about
them) and each stage fills in or refines fields. Everything a stage removes is recorded
in ``removed`` so an auditor can see why a sentence is not in the archived text.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass
class Removal:
    """One piece of text a stage took out, and why."""

    stage: str  # "boilerplate", "relevance", "script", ...
    rule: str  # the rule or model that fired, e.g. "footer:icp" or "relevance:model"
    text: str
    # The evidence, where a rule's name alone does not say it (a model's scores): what
    # `nianbao explain` prints beside the removed text. Stored only when there is one.
    why: str = ""

    def as_dict(self) -> dict[str, str]:
        out = {"stage": self.stage, "rule": self.rule, "text": self.text}
        if self.why:
            out["why"] = self.why
        return out


@dataclass
class Document:
    """A capture on its way to becoming a version's text."""

    url: str
    body: bytes
    content_type: str = "text/html"
    declared_charset: str | None = None
    # What pipelines.decode.decode found the body's encoding to be, when the crawl's spider
    # looked already (the cleaner then need not look again)
    decoded_as: str | None = None
    # Filled by pipelines.extract
    kind: str = ""  # "html", "pdf", "docx", "doc", "text"
    encoding: str | None = None
    html: str | None = None  # decoded markup, HTML only
    title: str | None = None
    blocks: list[str] = field(default_factory=list)  # paragraphs / table rows, in order
    metadata: dict[str, str] = field(default_factory=dict)  # 索引号, 发布机构, PubDate ...
    page_lines: list[str] = field(default_factory=list)  # the whole page's text, HTML only
    # Filled by later stages
    text: str = ""  # the clean report text, in the script it was published in
    norm_text: str = ""  # normalised form (simplified, NFKC, whitespace) for hash/search
    sha256: str = ""  # content hash of norm_text
    removed: list[Removal] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # "scanned_pdf", "spun_text", ...
    errors: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)  # stages already applied (pipelines.derive)

    def remove(self, stage: str, rule: str, text: str, why: str = "") -> None:
        self.removed.append(Removal(stage, rule, text, why))

    def flag(self, name: str) -> None:
        if name not in self.flags:
            self.flags.append(name)

    @property
    def readable(self) -> bool:
        """The normal form has text: a version, not evidence only (see record_report)."""
        return bool((self.norm_text or "").strip())

    def slim(self) -> Document:
        """What the archive reads of a cleaned document: the markup, the page's lines and
        the raw entity are left behind (they cost pickling to the writer and are not
        stored)."""
        return replace(self, body=b"", html=None, page_lines=[], blocks=[])

    def summary(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "encoding": self.encoding,
            "title": self.title,
            "chars": len(self.text),
            "removed": len(self.removed),
            "flags": list(self.flags),
        }


@dataclass
class Sealed:
    """A document cleaned in a worker process, as the crawl process holds it on its way to
    the archive writer: what the crawl decides on, and the document itself pickled once,
    in the worker (:func:`pipelines.stage.finish_sealed`).

    The crawl process only passes the document on. Unpickling every cleaned page from its
    worker and pickling it again for the writer (its text, its normal form, what was
    removed: 43 KB on average over 30 × 40 county reports) took 0.144 ms a report on the
    reactor's thread, the serial stage of a crawl; passed on as bytes, 0.012 ms
    (2026-12-02). The writer opens it (:meth:`open`).
    """

    flags: list[str]
    readable: bool  # the normal form has text: not evidence only (see record_report)
    removed_rules: list[str]  # the rule of each removal, in order: the crawl's stats
    pickled: bytes

    @classmethod
    def seal(cls, doc: Document) -> Sealed:
        return cls(
            flags=list(doc.flags),
            readable=doc.readable,
            removed_rules=[r.rule for r in doc.removed],
            pickled=pickle.dumps(doc, pickle.HIGHEST_PROTOCOL),
        )

    def open(self) -> Document:
        document: Document = pickle.loads(self.pickled)
        return document
