"""The content hash: SHA-256 of the normalised text.

Two captures are the same version exactly when their normalised text is equal, so the
same report in another template, with other whitespace, or in traditional script hashes
the same (see :func:`pipelines.normalize.normal_form`).
"""

from __future__ import annotations

import hashlib

from nianbao.pipelines import spin
from nianbao.pipelines.document import Document
from nianbao.pipelines.normalize import normal_form
from nianbao.pipelines.stage import StagePipeline

STAGE = "fingerprint"


def content_hash(text: str) -> str:
    return hashlib.sha256(normal_form(text).encode("utf-8")).hexdigest()


def run(doc: Document) -> Document:
    doc.text = "\n".join(doc.blocks)
    spin.run(doc, doc.blocks)
    doc.norm_text = normal_form(doc.text)
    doc.sha256 = hashlib.sha256(doc.norm_text.encode("utf-8")).hexdigest()
    return doc


class FingerprintPipeline(StagePipeline):
    stage = staticmethod(run)
