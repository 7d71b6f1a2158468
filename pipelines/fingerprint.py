"""The content hash: SHA-256 of the normalised text.

Two captures are the same version exactly when their normalised text is equal, so the
same report in another template, with other whitespace, or in traditional script hashes
the same (see :func:`pipelines.normalize.normal_form`).
"""

from __future__ import annotations

import hashlib

from nianbao.pipelines import spin
from nianbao.pipelines.document import Document
from nianbao.pipelines.normalize import compact, normal_form, simplified

STAGE = "fingerprint"


def norm_hash(norm_text: str) -> str:
    """The content hash of a text already in normal form: what a version's sha256 is."""
    return hashlib.sha256(norm_text.encode("utf-8")).hexdigest()


def content_hash(text: str) -> str:
    return norm_hash(normal_form(text))


def run(doc: Document) -> Document:
    """The text, its normal form and hash; the spin check reads the same simplified text
    (OpenCC once a page, not once for the check and again for the normal form)."""
    doc.text = "\n".join(doc.blocks)
    simple = simplified(doc.text)
    spin.run(doc, doc.blocks, simple)
    doc.norm_text = compact(simple)
    doc.sha256 = norm_hash(doc.norm_text)
    return doc
