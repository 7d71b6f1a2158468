"""Text out of report attachments: PDF (pdfminer.six) and DOCX (python-docx).

PDF extraction leaves a hard line break at the end of every printed line; we reflow
lines that end mid-sentence. A PDF with no text layer (a scan) yields no blocks and is
flagged ``scanned_pdf``: the raw file is still archived. Legacy DOC/WPS have no
maintained pure-Python reader; they are archived raw and flagged ``unsupported_format``.
"""

from __future__ import annotations

import io
import re
import zipfile

from pipelines.document import Document

# A DOCX is a zip; refuse archives that would inflate past this (zip bombs).
MAX_UNCOMPRESSED = 200 * 1024 * 1024
_SENTENCE_END = "。！？；：:;!?）)」』】”"
_HEADING = re.compile(
    r"^\s*([一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\d+[、.．]|第.+[章节条])"
)


def sniff(body: bytes, content_type: str, url: str) -> str:
    """Which extractor a body needs, by magic bytes first and content type second."""
    head = body[:8].lstrip()
    ctype = (content_type or "").lower()
    path = url.lower().split("?")[0]
    if head.startswith(b"%PDF"):
        return "pdf"
    if body[:4] == b"PK\x03\x04":
        return "docx"
    if body[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "doc"
    if "pdf" in ctype or path.endswith(".pdf"):
        return "pdf"
    if "wordprocessingml" in ctype or path.endswith(".docx"):
        return "docx"
    if "msword" in ctype or path.endswith((".doc", ".wps")):
        return "doc"
    if ctype.startswith("text/plain") or path.endswith(".txt"):
        return "text"
    return "html"


def reflow(lines: list[str]) -> list[str]:
    """Join PDF lines broken mid-sentence; keep headings and sentence ends as breaks."""
    out: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            if out and out[-1]:
                out.append("")
            continue
        if (
            out
            and out[-1]
            and not out[-1].endswith(tuple(_SENTENCE_END))
            and not _HEADING.match(line)
            and not _HEADING.match(out[-1])
            and not re.fullmatch(r"[-—\d\s第页/共]+", line)
        ):
            out[-1] += line
        else:
            out.append(line)
    return [line for line in out if line]


def extract_pdf(doc: Document) -> Document:
    from pdfminer.high_level import extract_text
    from pdfminer.pdfparser import PDFSyntaxError

    doc.kind = "pdf"
    try:
        text = extract_text(io.BytesIO(doc.body))
    except (PDFSyntaxError, ValueError, TypeError, KeyError, AssertionError) as exc:
        doc.errors.append(f"pdf: cannot parse ({type(exc).__name__}: {exc})")
        doc.flag("unparsable")
        return doc
    except Exception as exc:  # pdfminer raises many private types on broken files
        doc.errors.append(f"pdf: cannot parse ({type(exc).__name__}: {exc})")
        doc.flag("unparsable")
        return doc
    lines = [line for line in text.replace("\x0c", "\n").splitlines()]
    doc.blocks = reflow(lines)
    if not "".join(doc.blocks).strip():
        doc.flag("scanned_pdf")
    return doc


def _zip_is_safe(body: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except zipfile.BadZipFile as exc:
        return f"not a zip archive ({exc})"
    if total > MAX_UNCOMPRESSED:
        return f"inflates to {total} bytes (limit {MAX_UNCOMPRESSED}): refusing a possible zip bomb"
    return None


def extract_docx(doc: Document) -> Document:
    import docx

    doc.kind = "docx"
    problem = _zip_is_safe(doc.body)
    if problem:
        doc.errors.append(f"docx: {problem}")
        doc.flag("unparsable")
        return doc
    try:
        document = docx.Document(io.BytesIO(doc.body))
    except Exception as exc:  # python-docx raises KeyError/ValueError/PackageNotFoundError
        doc.errors.append(f"docx: cannot parse ({type(exc).__name__}: {exc})")
        doc.flag("unparsable")
        return doc
    blocks: list[str] = []
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = "".join(t.text or "" for t in child.iter() if t.tag.endswith("}t")).strip()
            if text:
                blocks.append(text)
        elif tag == "tbl":
            for tr in child.iter():
                if not tr.tag.endswith("}tr"):
                    continue
                cells = []
                for tc in tr:
                    if tc.tag.endswith("}tc"):
                        cells.append(
                            "".join(t.text or "" for t in tc.iter() if t.tag.endswith("}t")).strip()
                        )
                if any(cells):
                    blocks.append(" | ".join(cells))
    doc.blocks = blocks
    if document.core_properties.title:
        doc.title = document.core_properties.title
    return doc


def extract(doc: Document, kind: str) -> Document:
    if kind == "pdf":
        return extract_pdf(doc)
    if kind == "docx":
        return extract_docx(doc)
    doc.kind = kind
    doc.flag("unsupported_format")
    doc.errors.append(f"{kind}: no text extractor for this format; archived raw")
    return doc
