"""Raw capture → ordered text blocks, title and page metadata.

HTML is parsed once into an lxml tree (:mod:`pipelines.htmltree`): scripts, styles and
obvious chrome elements are dropped, the main content container is located (known CMS containers
first, then the element with the most Chinese text), and its text is split into blocks:
one per paragraph/heading/list item, one per table row with cells joined by `` | ``.
PDF and DOCX attachments go to :mod:`pipelines.attachments`.
"""

from __future__ import annotations

import re

from nianbao.pipelines import attachments, content, grid, htmltree, metadata, title
from nianbao.pipelines.decode import decode
from nianbao.pipelines.document import Document
from nianbao.pipelines.htmltree import Element

STAGE = "extract"

# Not text: dropped silently. Page regions (nav, header, footer) are not dropped here: they
# fall outside the content container and are recorded as removed like any other chrome.
# <form> is kept because ASP.NET portals wrap the whole page in one.
_DROP_TAGS = [
    "script",
    "style",
    "noscript",
    "iframe",
    "button",
    "select",
    "input",
    "textarea",
    "svg",
    "canvas",
    "template",
]
_BLOCK_TAGS = {
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "dd",
    "dt",
    "blockquote",
    "pre",
    "section",
    "article",
    "center",
    "address",
    "figcaption",
    "caption",
    "ul",
    "ol",
    "dl",
    "main",
    "aside",
    "td",
    "th",
}
_META_NAMES = {
    "ArticleTitle": "title",
    "PubDate": "published",
    "ContentSource": "source",
    "SiteName": "site_name",
    "SiteIDCode": "site_id",
    "ColumnName": "column",
    "Keywords": "keywords",
    "Description": "description",
}
_WS = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
# A source line break between two CJK characters is not a space (browsers differ; the
# report has none): "政府信息\n    公开" is 政府信息公开.
_CJK_BREAK = re.compile(r"(?<=[\u3400-\u9fff，。；：、）》”])\s*\n\s*(?=[\u3400-\u9fff（《“])")
_INDENT = " \n\t\r"
_DROP = frozenset(_DROP_TAGS)
_NON_TEXT = frozenset(metadata.NON_TEXT_TAGS)
_BR, _TR, _META = frozenset({"br"}), frozenset({"tr"}), frozenset({"meta"})
_CELLS = frozenset({"td", "th"})
_PARAGRAPHS = frozenset({"p", "div", "li"})
_MARKUP = re.compile(r"</?[A-Za-z][^<>]*>")
cjk_count = content.cjk_count
find_container = content.find_container
find_tags = content.find_tags


def _clean_line(text: str) -> str:
    """Runs of spaces, tabs, no-break and ideographic spaces as one space; no whitespace
    at either end.

    A printable text has no whitespace but the space (str.isprintable: every other one is
    a separator or control character), so without two spaces in a row there is nothing
    to collapse: the regex's character class, tried at every character, was the costliest
    pattern of cleaning a county report page (138 blocks, 0.25 ms), and most blocks take
    this path (2026-12-03)."""
    if text.isprintable() and "  " not in text:
        return text.strip()
    return _WS.sub(" ", text).strip()


def _text_piece(text: str) -> str:
    """A text as it goes into a block: a line break is a space, none between CJK."""
    if "\n" not in text:  # _CJK_BREAK needs a line break
        return text
    if not text.strip(_INDENT):
        # Markup indentation: a space, as _clean_line would make it (one regex pass fewer).
        return " "
    return _CJK_BREAK.sub("", text).replace("\n", " ")


def _blocks(node: Element) -> list[str]:
    """Walk ``node`` in document order and emit text blocks."""
    out: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        if not buf:
            return
        line = _clean_line("".join(buf))
        buf.clear()
        if line:
            out.append(line)

    def walk(el: Element) -> None:
        # Called on elements only: a comment's own text is not page text (its tail is).
        # lxml builds a new str on every .text/.tail read: each is read once. Whitespace
        # at the start of a line is stripped by flush(), so it is not kept: most texts
        # between block elements are markup indentation, and each made a flush() that
        # joined, substituted and stripped it to nothing (2.3 % of a county report page's
        # cleaning, counted in instructions; the blocks are the same).
        text = el.text
        if text and (buf or not text.isspace()):
            buf.append(text if "\n" not in text else _text_piece(text))
        for child in el:
            name = child.tag
            if isinstance(name, str):
                if name in _BLOCK_TAGS:
                    if buf:
                        flush()
                    walk(child)
                    if buf:
                        flush()
                elif name == "br":
                    if buf:
                        flush()
                elif name == "table":
                    if buf:
                        flush()
                    out.extend(_table_rows(child))
                else:
                    walk(child)
            tail = child.tail
            if tail and (buf or not tail.isspace()):
                buf.append(tail if "\n" not in tail else _text_piece(tail))

    walk(node)
    flush()
    return out


def _is_layout_cell(cell: Element) -> bool:
    """A cell that holds running text (page layout), not one value of a data table.

    Word-exported statistics tables wrap every cell in ``<p class=MsoNormal>``, and narrow
    columns break a label over several ``<p>``/``<br>`` (``三、本 / 年度办 / 理结果``): still
    one value. A nested table, a long text, or several lines of real prose are not.
    """
    if htmltree.first(cell, "table") is not None:
        return True
    # Counted no further than 150: a layout cell holds the page's whole text, and reading
    # and counting all of it was a quarter of the walk of a page whose body is a layout
    # table (a county portal's pages, the walk of the whole body: 4.9 -> 3.6 M
    # instructions a page under cachegrind, 2026-12-03).
    cjk = content.cjk_count_upto(cell, 151)
    if cjk > 150:
        return True
    if cjk <= 60:
        return False
    paragraphs = [b for b in find_tags(cell, _PARAGRAPHS) if htmltree.has_text(b)]
    return len(paragraphs) >= 2 or len(find_tags(cell, _BR)) >= 2


def _table_rows(table: Element) -> list[str]:
    """A table as one block per row, cells joined by `` | ``; layout tables are walked.

    Data tables go on a grid (:mod:`pipelines.grid`): row and column spans are expanded,
    so every row keeps all its columns, and a cell's lines stay on its row.
    """
    trs = [tr for tr in find_tags(table, _TR) if next(tr.iterancestors("table"), None) is table]
    rows = [[c for c in tr if c.tag in _CELLS] for tr in trs]
    if any(_is_layout_cell(c) for cells in rows for c in cells):
        out: list[str] = []
        for cells in rows:
            for c in cells:
                out.extend(_blocks(c))
        return out
    spanned = [
        [
            grid.Cell(
                grid.join_lines(_blocks(c)),
                grid.span(c.get("rowspan")),
                grid.span(c.get("colspan")),
            )
            for c in cells
        ]
        for cells in rows
    ]
    return [" | ".join(row) for row in grid.expand(spanned) if any(row)]


def _metadata(soup: Element) -> dict[str, str]:
    meta: dict[str, str] = {}
    for tag in find_tags(soup, _META):
        name = tag.get("name") or tag.get("property")
        content = tag.get("content")
        if isinstance(name, str) and isinstance(content, str) and name in _META_NAMES:
            # Some CMSs write the editor's markup into the tag (bynr.gov.cn: ArticleTitle
            # "…力量<div>——热烈祝贺…</div>"): the value is its text.
            value = _clean_line(_MARKUP.sub("", content))
            if value:
                meta[_META_NAMES[name]] = value
    return meta


def extract_html(doc: Document) -> Document:
    decoded = decode(doc.body, doc.declared_charset, doc.decoded_as)
    doc.kind, doc.encoding, doc.html = "html", decoded.encoding, decoded.text
    if decoded.replaced:
        doc.errors.append(
            f"decode: {decoded.replaced} undecodable byte sequences in {decoded.encoding}"
        )
    soup = htmltree.parse(decoded.text)
    for el in find_tags(soup, _NON_TEXT):
        htmltree.drop(el)
    doc.page_lines = metadata.soup_lines(soup)
    for el in find_tags(soup, _DROP):
        htmltree.drop(el)
    doc.metadata.update(_metadata(soup))
    for key, value in content.disclosure_metadata(soup).items():
        doc.metadata.setdefault(key, value)
    page_title = htmltree.first(soup, "title")
    if page_title is not None and htmltree.text(page_title).strip():
        doc.metadata.setdefault("page_title", _clean_line(htmltree.text(page_title)))
    for text in content.drop_hidden(soup):
        doc.remove(STAGE, "hidden", text)
    doc.title = title.find_title(soup, doc.metadata.get("title"))
    container = find_container(soup)
    for text in content.prune_link_lists(container):
        doc.remove("boilerplate", "link-list", text)
    body = htmltree.first(soup, "body")
    if container is not (body if body is not None else soup):
        htmltree.drop(container)
        # The body is looked up again: the container may have held it.
        body = htmltree.first(soup, "body")
        for block in _blocks(body if body is not None else soup):
            doc.remove(STAGE, "outside-container", block)
    doc.blocks = _blocks(container)
    return doc


def run(doc: Document) -> Document:
    """Dispatch on content type / magic bytes."""
    kind = attachments.sniff(doc.body, doc.content_type, doc.url)
    if kind == "html":
        return extract_html(doc)
    if kind == "text":
        decoded = decode(doc.body, doc.declared_charset)
        doc.kind, doc.encoding = "text", decoded.encoding
        doc.blocks = [_clean_line(line) for line in decoded.text.splitlines() if line.strip()]
        return doc
    return attachments.extract(doc, kind)
