"""Text out of report attachments: PDF, DOCX, DOC and WPS — one maintained library each.

* PDF: pdfminer.six. It leaves a hard line break at the end of every printed line;
  :func:`reflow` joins lines broken mid-sentence and drops page-number lines (recorded as
  removals). A PDF without a text layer (a scan) yields nothing and is flagged
  ``scanned_pdf``: recognition then relies on the landing page's title, and the raw file is
  archived either way.
* DOCX: python-docx, after a zip-bomb check on the archive's declared sizes.
* DOC / WPS: olefile plus the Word piece table (:mod:`pipelines.worddoc`, which says why).

A file that will not parse is flagged ``unparsable`` with an error naming the format and the
reason, and logged with its URL; nothing is dropped here — the store keeps the raw bytes.
"""

from __future__ import annotations

import io
import logging
import re
import statistics
import zipfile
from struct import error as struct_error  # truncated Word files

from nianbao.pipelines import grid
from nianbao.pipelines.document import Document
from nianbao.pipelines.worddoc import OLE_MAGIC, DocFormatError, doc_lines

logger = logging.getLogger(__name__)
STAGE = "attachments"

# A DOCX is a zip; refuse archives that would inflate past this (zip bombs).
MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 200  # deflate rarely exceeds ~20:1 on text; bombs are in the thousands
_SENTENCE_END = tuple("。！？；：:;!?")
_HEADING = re.compile(
    r"^\s*([一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[)）]|\d+[、.．](?!\d)|第.{1,3}[章节条部分])"
)
_PAGE_NUMBER = re.compile(
    r"^\s*(?:[-—–]\s*\d+\s*[-—–]|第\s*\d+\s*页(?:\s*[/，,]?\s*共\s*\d+\s*页)?|\d+\s*/\s*\d+)\s*$"
)
_TABLE_ROW = re.compile(r"(?:\S+\s{2,}){2,}\S+|\|")


# Magic numbers of the documents reports come as; crawler.middlewares asks the same.
DOCUMENT_MAGIC = (b"%PDF", b"PK\x03\x04", OLE_MAGIC)


def is_document(chunk: bytes) -> bool:
    """PDF, DOCX (zip) or DOC/WPS (OLE) bytes, whatever the type they were served under."""
    return chunk.lstrip()[:8].startswith(DOCUMENT_MAGIC)


def sniff(body: bytes, content_type: str, url: str) -> str:
    """Which extractor a body needs, by magic bytes first and content type second."""
    head = body[:8].lstrip()
    ctype = (content_type or "").lower()
    path = url.lower().split("?")[0]
    if head.startswith(b"%PDF") or body[:1024].find(b"%PDF-") >= 0:
        return "pdf"
    if body[:4] == b"PK\x03\x04":
        return "docx"
    if body[:8] == OLE_MAGIC:
        return "doc"
    if "pdf" in ctype or path.endswith(".pdf"):
        return "pdf"
    if "wordprocessingml" in ctype or path.endswith(".docx"):
        return "docx"
    if "msword" in ctype or "wps" in ctype or path.endswith((".doc", ".wps")):
        return "doc"
    if ctype.startswith("text/plain") or path.endswith(".txt"):
        return "text"
    return "html"


def _joinable(prev: str, line: str, full: float | None) -> bool:
    if not prev or prev.endswith(_SENTENCE_END) or _HEADING.match(line):
        return False
    if _HEADING.match(prev) and (full is None or len(prev) < 0.8 * full):
        return False  # a short heading line stands alone
    if _TABLE_ROW.search(prev) or _TABLE_ROW.search(line):
        return False
    # A line well short of the measure ended its paragraph (a title, a signature, a date).
    return full is None or len(prev) >= 0.8 * full


def reflow(lines: list[str]) -> list[str]:
    """Join PDF lines broken mid-sentence; keep headings, table rows and short lines apart.

    Chinese text wraps at the measure without hyphens, so a line that fills the measure
    and does not end in 。；：！？ continues on the next line. The measure is the usual
    length of the document's long lines.
    """
    stripped = [raw.strip() for raw in lines]
    lengths = sorted(len(s) for s in stripped if s)
    full = statistics.median(lengths[len(lengths) // 2 :]) if len(lengths) >= 6 else None
    out: list[str] = []
    for line in stripped:
        if not line:
            continue
        if out and _joinable(out[-1], line, full):
            sep = (
                " " if out[-1][-1:].isascii() and line[:1].isascii() and line[:1].isalnum() else ""
            )
            out[-1] += sep + line
        else:
            out.append(line)
    return out


_CID = re.compile(r"\(cid:\d+\)")


def cid_share(text: str) -> float:
    """The share of a PDF's extracted text that is unmapped glyph ids, ``(cid:123)``."""
    cids = _CID.findall(text)
    if not cids:
        return 0.0
    rest = len("".join(_CID.sub("", text).split()))
    return len(cids) / (len(cids) + rest)


def extract_pdf(doc: Document) -> Document:
    from pdfminer.high_level import extract_text

    doc.kind = "pdf"
    try:
        text = extract_text(io.BytesIO(doc.body))
    except Exception as exc:  # pdfminer raises many private types on broken files
        return _fail(doc, "pdf", f"cannot parse ({type(exc).__name__}: {exc})")
    if cid_share(text) > 0.3:
        # Glyphs without a ToUnicode map come out as "(cid:1234)": no usable text layer.
        doc.flag("pdf_unmapped_font")
        doc.errors.append("pdf: fonts without a Unicode map, text unreadable; archived raw")
        logger.warning("%s: PDF fonts have no Unicode map; archived raw", doc.url)
        return doc
    lines: list[str] = []
    for line in text.replace("\x0c", "\n").splitlines():
        if _PAGE_NUMBER.match(line):
            doc.remove(STAGE, "pdf:page-number", line.strip())
        else:
            lines.append(line)
    doc.blocks = reflow(lines)
    if not "".join(doc.blocks).strip():
        doc.flag("scanned_pdf")
        doc.errors.append("pdf: no text layer (a scan?); archived raw")
        logger.warning("%s: PDF has no text layer; archived raw and flagged scanned_pdf", doc.url)
    return doc


def _zip_problem(body: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as exc:
        return f"not a zip archive ({exc})"
    total = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos) or 1
    if total > MAX_UNCOMPRESSED or (total > 10 * 1024 * 1024 and total / packed > MAX_RATIO):
        return (
            f"inflates to {total} bytes from {packed} (limit {MAX_UNCOMPRESSED}, ratio "
            f"{MAX_RATIO}): refusing a possible zip bomb"
        )
    return None


def _fail(doc: Document, kind: str, reason: str) -> Document:
    doc.errors.append(f"{kind}: {reason}")
    doc.flag("unparsable")
    logger.warning("%s: %s %s; the raw file is kept", doc.url, kind, reason)
    return doc


def _cell_text(el: object) -> str:
    return "".join(t.text or "" for t in el.iter() if t.tag.endswith("}t")).strip()  # type: ignore[attr-defined]


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _docx_table_rows(tbl: object) -> list[str]:
    """A Word table's rows on a grid: ``w:gridSpan`` is a colspan; a ``w:vMerge`` cell
    without ``val="restart"`` continues the cell above (its text is repeated, as an HTML
    rowspan is). A cell's paragraphs are joined on its row."""
    rows: list[list[str | None]] = []  # None: continues the cell above
    spans: list[list[int]] = []
    for tr in tbl.iterchildren(f"{_W}tr"):  # type: ignore[attr-defined]
        row: list[str | None] = []
        widths: list[int] = []
        for tc in tr.iterchildren(f"{_W}tc"):
            pr = tc.find(f"{_W}tcPr")
            gs = pr.find(f"{_W}gridSpan") if pr is not None else None
            vm = pr.find(f"{_W}vMerge") if pr is not None else None
            paragraphs = [_cell_text(p) for p in tc.iter(f"{_W}p")]
            cont = vm is not None and vm.get(f"{_W}val", "continue") == "continue"
            row.append(None if cont else grid.join_lines(paragraphs))
            widths.append(grid.span(gs.get(f"{_W}val") if gs is not None else 1))
        rows.append(row)
        spans.append(widths)
    # Resolve vertical merges by grid column, then lay out with colspans.
    out: list[list[grid.Cell]] = []
    above: dict[int, str] = {}
    for row, widths in zip(rows, spans, strict=True):
        cells: list[grid.Cell] = []
        col = 0
        for text, width in zip(row, widths, strict=True):
            value = above.get(col, "") if text is None else text
            above[col] = value
            cells.append(grid.Cell(value, 1, width))
            col += width
        out.append(cells)
    return [" | ".join(r) for r in grid.expand(out) if any(r)]


def extract_docx(doc: Document) -> Document:
    import docx

    doc.kind = "docx"
    problem = _zip_problem(doc.body)
    if problem:
        return _fail(doc, "docx", problem)
    try:
        document = docx.Document(io.BytesIO(doc.body))
        blocks: list[str] = []
        for child in document.element.body.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "p":
                if text := _cell_text(child):
                    blocks.append(text)
            elif tag == "tbl":
                blocks.extend(_docx_table_rows(child))
    except Exception as exc:  # python-docx/zipfile raise KeyError, BadZipFile, lxml errors …
        return _fail(doc, "docx", f"cannot parse ({type(exc).__name__}: {exc})")
    doc.blocks = blocks
    if document.core_properties.title:
        doc.title = document.core_properties.title
    return doc


def extract_doc(doc: Document) -> Document:
    doc.kind = "doc"
    try:
        lines, heuristic = doc_lines(doc.body)
    except (DocFormatError, struct_error) as exc:
        return _fail(doc, "doc", f"cannot read ({exc})")
    if heuristic:
        doc.flag("heuristic_text")
        doc.errors.append("doc: no Word piece table; text taken from UTF-16 runs in the file")
    doc.blocks = lines
    return doc


def extract(doc: Document, kind: str) -> Document:
    if kind == "pdf":
        return extract_pdf(doc)
    if kind == "docx":
        return extract_docx(doc)
    if kind == "doc":
        return extract_doc(doc)
    doc.kind = kind
    doc.flag("unsupported_format")
    doc.errors.append(f"{kind}: no text extractor for this format; archived raw")
    return doc
