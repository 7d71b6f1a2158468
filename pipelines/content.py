"""Where the report is on a page: its content container, its title, its disclosure metadata.

Portals wrap the same report in very different chrome, so the container is found in two
steps: the content boxes of the common CMSs (TRS ``.TRS_Editor``, Hanweb ``#zoom`` …), then
a text-density fallback (also inside a generic box such as ``.content``), refined
downwards while one child holds nearly all the text and nothing real follows it.
Density is Chinese text that is neither link text nor a chrome line
(:mod:`pipelines.chrome`: 来源/时间 lines, 附件下载, 版权所有, 网站标识码 …): a site footer
or a page-wide wrapper is dense text too, but its extra text is all chrome, which counts
against it. Page regions that are never the document (``<footer>``, ``<nav>``, a
``class="footer"``) are not candidates, and hidden copies (``display:none``: a
text-to-speech duplicate of the article, hidden tabs of other columns) are dropped before
anything is counted, unless the hidden part is large and its only copy (a script-revealed
article). Inside the container, link lists (related articles, hot lists, sidebars that a
template nests inside the box) are pruned as subtrees, because a list of headlines is only
recognisable as a whole.

The info-disclosure metadata table (索引号, 发布机构, 生成日期 …) sits outside the content
box on some templates and inside on others; it is read from the whole page so the fields
reach ``doc.metadata`` either way. Keys are stable (``index_no``, ``publisher``,
``generated``, ``issued``, ``written``, ``category``, ``doc_no``, ``validity``,
``published``, ``source``): :mod:`pipelines.recognize` reads them.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache

from lxml import etree

from nianbao.pipelines import htmltree
from nianbao.pipelines.chrome import classify
from nianbao.pipelines.htmltree import Element
from nianbao.pipelines.labels import (
    GENERIC_LABELS,
    field_of,
    first_chars,
    label_key,
    label_regex,
    labels,
)

# Known CMS content containers, most specific first (see DOMAIN.md).
CONTAINERS = [
    "div.TRS_Editor",
    ".TRS_UEDITOR",
    "#zoom",
    ".bt_content",
    "#ivs_content",
    ".article-content",
    ".xxgk_content",
    "#UCAP-CONTENT",
    ".pages_content",
    ".article_con",
    ".wz_content",
    "#content",
    ".content",
    "article",
    "main",
]
# Generic names that also label page-wide wrappers: accepted only when not link-heavy.
_GENERIC = {"#content", ".content", "article", "main"}
MIN_CJK = 50
# A CMS's own content box is trusted with any text (a short report, a "详见附件" landing);
# generic names (.content, main) and density candidates need more.
MIN_CJK_KNOWN = 1

_NOT_CJK = re.compile(r"[^\u3400-\u9fff]+")
_A = frozenset({"a"})
_DENSITY_CANDIDATES = frozenset({"div", "td", "article", "section", "main"})
# Elements whose whole text is one line or a few (a footer's <p>, a 来源/时间 <div>): the
# units a chrome line is recognised in.
_LINE_TAGS = frozenset(
    {"p", "div", "li", "dd", "dt", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "center"}
    | {"address", "span", "font", "em", "strong", "b"}
)
_LINE_MAX = 150
_PRE = frozenset({"pre", "textarea"})
_ASCII_WS = " \n\t\x0c\r"
# Refining into a child leaves out at most this much real text beside it (see _refine).
_REFINE_REST = 40
# Regions that are never the document, by tag or by a class/id word.
_NEVER_TAGS = frozenset({"footer", "nav", "header", "aside"})
_NEVER_NAME = re.compile(
    r"(?:^|[-_\s])(?:footer|foot|copyright|nav|navbar|menu|breadcrumb)(?:$|[-_\s\d])", re.I
)
# Above this many CJK characters a hidden part may be the article itself (see drop_hidden).
_HIDDEN_KEEP = 200
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_STYLED = etree.XPath(".//*[@hidden or @style]")
_LIST_CANDIDATES = frozenset({"ul", "ol", "dl", "div", "table"})
_REFINE_INTO = frozenset({"div", "td", "article", "section", "main", "table", "tr"})


@cache
def _label() -> re.Pattern[str]:
    """A disclosure label (索引号, 发布机构 …) at a text's start, and its value if the text
    has one: the one vocabulary of pipelines.labels, without the labels too generic to mark
    a table cell (时间). Compiled at first use, not at import (45 ms; see
    pipelines.metadata._field)."""
    return re.compile(r"^(" + label_regex(labels(generic=False)) + r")(?:\s*[:：]\s*(.*)|$)")


_LABEL_FIRST = first_chars(labels(generic=False))


def meta_key(label: str) -> str | None:
    """The metadata key a printed label stands for (索引號, 發(fā)布機構 …), if it is one."""
    key = label_key(label)
    return None if key in GENERIC_LABELS else field_of(key)


def find_tags(node: Element, names: Collection[str] | None = None) -> list[Element]:
    """The elements under ``node`` (all when ``names`` is None), in document order."""
    return htmltree.tags(node, names)


def cjk_count(text: str) -> int:
    """Chinese characters in ``text``: what is left when every run of others is cut out
    (one substitution per run is cheaper than a match object per character)."""
    return 0 if text.isascii() else len(_NOT_CJK.sub("", text))


def cjk_count_upto(el: Element, limit: int) -> int:
    """``cjk_count(htmltree.text(el))``, reading no more of the text than it takes to reach
    ``limit``: the count so far once it does (a layout cell or a content container holds
    the page's whole text, and only whether it passes a bound is asked)."""
    n = 0
    for piece in el.itertext():
        n += cjk_count(piece)
        if n >= limit:
            return n
    return n


def _cjk_at_least(el: Element, need: int) -> bool:
    """``cjk_count(htmltree.text(el)) >= need``, reading no more of the text than it takes."""
    return cjk_count_upto(el, need) >= need


def _link_cjk(el: Element) -> int:
    return sum(cjk_count(htmltree.text(a)) for a in find_tags(el, _A))


def is_link_list(el: Element) -> bool:
    """A run of headlines: three or more links that make up most of the element's text."""
    links = find_tags(el, _A)
    if len(links) < 3:
        return False
    n = cjk_count(htmltree.text(el))
    return n > 0 and _link_cjk(el) >= 0.7 * n


def _selector(selector: str) -> tuple[str | None, str, str]:
    """ "div.TRS_Editor" → ("div", "class", "TRS_Editor"); "#zoom" → (None, "id", "zoom")."""
    if "#" in selector:
        tag, name = selector.split("#", 1)
        return tag or None, "id", name
    if "." in selector:
        tag, name = selector.split(".", 1)
        return tag or None, "class", name
    return selector, "tag", selector


_SELECTORS = [_selector(s) for s in CONTAINERS]


def _index(kind: str) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for i, (_tag, k, name) in enumerate(_SELECTORS):
        if k == kind:
            index.setdefault(name, []).append(i)
    return index


# CONTAINERS entries by the class, id or tag name they ask for.
_BY_CLASS, _BY_ID, _BY_TAG = _index("class"), _index("id"), _index("tag")


def contains_any(attr: str, names: Collection[str]) -> str:
    """An XPath test: ``attr`` has one of ``names`` in it (a superset of "has one of them
    as a word": the exact test is made in Python on the few elements it lets through)."""
    cover: list[str] = []  # a name that contains a shorter one needs no test of its own
    for name in sorted(names, key=lambda n: (len(n), n)):
        if not any(c in name for c in cover):
            cover.append(name)
    return f"@{attr}[" + " or ".join(f"contains(., '{n}')" for n in cover) + "]"


# The elements a CONTAINERS entry can match: by tag name, or a class or id that contains
# a CONTAINERS name.
_MAY_CONTAIN = etree.XPath(
    ".//*["
    + " or ".join(
        [f"self::{name}" for name in sorted(_BY_TAG)]
        + [contains_any("class", _BY_CLASS), contains_any("id", _BY_ID)]
    )
    + "]"
)


def _known_containers(soup: Element) -> list[list[Element]]:
    """Elements matching each CONTAINERS entry, in document order: one pass over the tree
    (a CSS select per selector costs a full walk each), each element looked up by its
    classes, id and name rather than tested against every entry."""
    found: list[list[Element]] = [[] for _ in _SELECTORS]
    for el in _MAY_CONTAIN(soup):
        el_id = el.get("id")
        hits: set[int] = set(_BY_TAG.get(el.tag, ()))
        if el_id in _BY_ID:
            hits.update(_BY_ID[el_id])
        for name in htmltree.classes(el):
            hits.update(_BY_CLASS.get(name, ()))
        for i in hits:
            tag = _SELECTORS[i][0]
            if tag is None or el.tag == tag:
                found[i].append(el)
    return found


def _ancestors_add(el: Element, n: int, into: dict[Element, int]) -> None:
    node: Element | None = el
    while node is not None:
        into[node] = into.get(node, 0) + n
        node = node.getparent()


@dataclass
class _Tally:
    """Per element under a root (and the root): its text's CJK characters, and its text's
    length as bs4 measured it (a blank string outside <pre> was one character). Counted in
    one walk from the leaves up, so a candidate's text is a lookup, not a walk of its
    subtree (candidates nest: a page's text would be read once per level)."""

    cjk: dict[Element, int]
    size: dict[Element, int]


def _tally(root: Element) -> _Tally:
    cjk: dict[Element, int] = {}
    size: dict[Element, int] = {}

    def measure(text: str, pre: bool) -> int:
        return 1 if not pre and not text.strip(_ASCII_WS) else len(text)

    def walk(el: Element, pre: bool) -> tuple[int, int]:
        text = el.text
        n = cjk_count(text) if text else 0
        z = measure(text, pre) if text else 0
        for child in el:
            tag = child.tag
            if isinstance(tag, str):
                cn, cz = walk(child, pre or tag in _PRE)
                n += cn
                z += cz
            tail = child.tail
            if tail:
                n += cjk_count(tail)
                z += measure(tail, pre)
        cjk[el] = n
        size[el] = z
        return n, z

    inside_pre = any(a.tag in _PRE for a in root.iterancestors())
    walk(root, inside_pre or root.tag in _PRE)
    return _Tally(cjk, size)


def _evidence(body: Element, tally: _Tally) -> tuple[dict[Element, int], dict[Element, int]]:
    """Per element: CJK inside links, and CJK of chrome lines not inside links.

    One pass each over links and short line elements; each counted piece is added to its
    ancestors, so a candidate's totals are a lookup, not another walk of its subtree.
    A line element inside a counted one is not looked at (its text was counted). Elements
    are the keys themselves: a dict holding lxml's proxy keeps it the one proxy of its node.
    """
    links: dict[Element, int] = {}
    for a in find_tags(body, _A):
        n = tally.cjk[a]
        if n:
            _ancestors_add(a, n, links)
    chrome: dict[Element, int] = {}

    def counts(el: Element) -> bool:
        """``el`` is one chrome line: counted, and nothing inside it is looked at."""
        if not tally.cjk[el] or tally.size[el] > 4 * _LINE_MAX:
            return False
        line = " ".join(" ".join(el.itertext()).split())
        if not line or len(line) > _LINE_MAX or classify(line) is None:
            return False
        n = cjk_count(line) - links.get(el, 0)
        if n > 0:
            _ancestors_add(el, n, chrome)
        return True

    def visit(el: Element) -> None:
        for child in el:
            tag = child.tag
            if isinstance(tag, str) and not (tag in _LINE_TAGS and counts(child)):
                visit(child)

    visit(body)
    return links, chrome


def _never(el: Element) -> bool:
    """A region that is never the document: <footer>/<nav>…, or named footer, nav, menu."""
    if el.tag in _NEVER_TAGS:
        return True
    names = htmltree.classes(el)
    el_id = el.get("id")
    if isinstance(el_id, str):
        names.append(el_id)
    return any(_NEVER_NAME.search(n) for n in names)


def drop_hidden(soup: Element) -> list[str]:
    """Remove hidden subtrees (inline ``display:none``, ``hidden``); return their text.

    Hidden parts are the other columns' tabs, share counters, a text-to-speech copy of the
    article. A large hidden part is removed only when its text is also on the page (a
    copy): a template that reveals the article by script hides the only copy in the markup.
    """
    hidden = []
    for el in _STYLED(soup):
        style = el.get("style")
        if el.get("hidden") is not None or (style is not None and _HIDDEN.search(style)):
            hidden.append(el)
    removed: list[str] = []
    page: str | None = None
    for el in hidden:
        if not htmltree.attached(el, soup):
            continue
        text = " ".join(htmltree.text(el, " ").split())
        if cjk_count(text) > _HIDDEN_KEEP:
            if page is None:
                page = " ".join(htmltree.text(soup, " ").split())
            if page.count(text[:60]) < 2:
                continue
        if text:
            removed.append(text)
        htmltree.drop(el)
    return removed


def _refine(
    el: Element, links: dict[Element, int], chrome: dict[Element, int], tally: _Tally
) -> Element:
    """Move into a child while one child holds nearly all of the element's real text.

    "Nearly all" is a share, and after the child an amount too: a template puts its own
    headline, site name and metadata *above* the document, while what follows the child
    with real text (neither links nor chrome) in it is the document going on (a report's
    prose in one <div> and its tables in the next), never to be cut off.
    """

    def real(node: Element) -> int:
        return tally.cjk[node] - links.get(node, 0) - chrome.get(node, 0)

    while True:
        total = real(el)
        best: Element | None = None
        for child in el:
            if child.tag not in _REFINE_INTO:
                continue
            if total <= 0 or real(child) < 0.85 * total:
                continue
            # What follows the child: the texts after it and its later siblings.
            after = cjk_count(child.tail or "") + sum(
                (real(sib) if isinstance(sib.tag, str) else 0) + cjk_count(sib.tail or "")
                for sib in child.itersiblings()
            )
            if after < _REFINE_REST:
                best = child
                break
        if best is None:
            return el
        el = best


def _root(soup: Element) -> Element:
    """Where the page's text is: <body>, or the whole document when markup goes on after
    it (gov.cn's 公报 pages close </html> twice: the parser puts the article after <body>)."""
    body = htmltree.first(soup, "body")
    node = body
    while node is not None and node is not soup:
        if any(isinstance(el.tag, str) for el in node.itersiblings()):
            return soup
        node = node.getparent()
    return body if body is not None else soup


def find_container(soup: Element) -> Element:
    """The element holding the article: a known CMS container, else the densest block."""
    for selector, elements in zip(CONTAINERS, _known_containers(soup), strict=True):
        for el in elements:
            if selector not in _GENERIC:
                # A CMS's own box needs MIN_CJK_KNOWN characters, not a count of the
                # whole article (a tenth of extraction's CPU, 2026-12-01).
                if _cjk_at_least(el, MIN_CJK_KNOWN):
                    return el
                continue
            n = cjk_count(htmltree.text(el))
            if n < MIN_CJK or _link_cjk(el) > 0.3 * n:
                continue
            # A generic name (.content, main) often labels a column around the article:
            # the densest block inside it, as for a page without a box.
            return _densest(el)
    return _densest(_root(soup))


def _densest(root: Element) -> Element:
    """The block under ``root`` (or ``root``) with the most text that is neither link text
    nor chrome lines, refined into the child that holds most of it."""
    tally = _tally(root)
    links, chrome = _evidence(root, tally)
    best: Element = root
    best_score = 0.0
    # The root competes when it is a block itself (a generic box), not <body> or the page.
    own = [root] if root.tag in _DENSITY_CANDIDATES else []
    for el in own + find_tags(root, _DENSITY_CANDIDATES):
        n = tally.cjk[el]
        if n < MIN_CJK or _never(el):
            continue
        # Chrome lines count once for (they are text) and twice against: an ancestor that
        # adds only chrome to the article scores below it.
        score = n - 2 * links.get(el, 0) - 2 * chrome.get(el, 0)
        if score > best_score:
            best, best_score = el, score
    return _refine(best, links, chrome, tally)


def prune_link_lists(container: Element) -> list[str]:
    """Remove headline lists nested in the container; return their text for the record."""
    removed: list[str] = []
    for el in find_tags(container, _LIST_CANDIDATES):
        if not htmltree.attached(el, container):
            continue
        if is_link_list(el) and htmltree.first(el, "p") is None:
            text = " ".join(htmltree.text(el, " ").split())
            if text:
                removed.append(text)
            htmltree.drop(el)
    return removed


_CELLS = ("td", "th")
_NOT_TEXT_PARENTS = frozenset({"script", "style", "title"})


_WALK = ("start", "end", "comment", "pi")  # a comment or PI is one event: its tail follows it


def _texts(soup: Element) -> list[tuple[str, Element]]:
    """Every text node that is not only whitespace, as it stands, with the element it is
    the text of (its parent in the tree: for a tail, the element's parent), in document
    order. lxml walks the tree in C (``iterwalk``: an element's text at its start, its
    tail at its end); a recursive walk reading ``.text``/``.tail`` and carrying each
    node's table cell down was 18 % of extraction on a county's report pages
    (2026-12-01), for the one or two texts that are a label without its value, whose
    cells :func:`_cell_of` finds then. XPath's ``.//text()`` gave the same list, each
    string an object holding its parent: 1.2 % more instructions for a county report
    page's whole cleaning (2026-12-02). The whitespace is collapsed by the reader, for the
    few texts it reads (:func:`_collapsed`)."""
    out: list[tuple[str, Element]] = []
    for event, el in etree.iterwalk(soup, events=_WALK):
        if event == "start":
            text = el.text
            if text and not text.isspace() and el.tag not in _NOT_TEXT_PARENTS:
                out.append((text, el))
        elif el is not soup:  # an element's end, or a comment: the text after it
            tail = el.tail
            if tail and not tail.isspace():
                parent = el.getparent()
                if parent.tag not in _NOT_TEXT_PARENTS:
                    out.append((tail, parent))
    return out


def _collapsed(text: str) -> str:
    """A text node as the labelled-field reader reads it: whitespace runs as one space."""
    return " ".join(text.split())


def _cell_of(el: Element, soup: Element) -> Element | None:
    """The nearest td/th at or above ``el``, within ``soup``."""
    while el is not None:
        if el.tag in _CELLS:
            return el
        if el is soup:
            return None
        el = el.getparent()
    return None


def _next_cell(cell: Element | None) -> Element | None:
    return next(cell.itersiblings(*_CELLS), None) if cell is not None else None


def disclosure_metadata(soup: Element) -> dict[str, str]:
    """索引号 / 发布机构 / 生成日期 … from anywhere on the page.

    Either "label：value" in one text, or a label cell followed by its value cell. An empty
    value cell means no value (文号 is often blank), never the next text on the page.
    """
    meta: dict[str, str] = {}
    label = _label()
    texts = _texts(soup)
    for i, (raw, parent) in enumerate(texts):
        # A label is matched at the text's start: a text beginning with no label's first
        # character is none (most of a page's texts: not collapsed, not matched).
        if (raw[0] if not raw[0].isspace() else raw.lstrip()[0]) not in _LABEL_FIRST:
            continue
        t = _collapsed(raw)
        if len(t) > 120:
            continue
        m = label.match(t.replace("　", "").replace(" ", "") if len(t) < 12 else t)
        if not m:
            continue
        key, rest = field_of(m.group(1)), (m.group(2) or "").strip()
        if key is None:
            continue
        if key in meta:
            continue
        # "发布时间：2019-01-15 来源：XX" — cut at the next label on the same line.
        rest = re.split(r"\s+(?=\S{2,6}[:：])", rest)[0].strip() if rest else rest
        if not rest and i + 1 < len(texts):
            following, its_parent = _collapsed(texts[i + 1][0]), texts[i + 1][1]
            its_cell = _cell_of(its_parent, soup)
            if its_cell is not None and its_cell is _next_cell(_cell_of(parent, soup)):
                rest = following if not label.match(following) else ""
        if rest and len(rest) <= 80:
            meta[key] = rest
    return meta
