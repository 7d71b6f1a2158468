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

from bs4 import BeautifulSoup, NavigableString, Tag

from nianbao.pipelines.chrome import classify
from nianbao.pipelines.labels import GENERIC_LABELS, field_of, label_key, label_regex, labels

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

_CJK = re.compile(r"[\u3400-\u9fff]")
_A = frozenset({"a"})
_DENSITY_CANDIDATES = frozenset({"div", "td", "article", "section", "main"})
# Elements whose whole text is one line or a few (a footer's <p>, a 来源/时间 <div>): the
# units a chrome line is recognised in.
_LINE_TAGS = frozenset(
    {"p", "div", "li", "dd", "dt", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "center"}
    | {"address", "span", "font", "em", "strong", "b"}
)
_LINE_MAX = 150
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
_LIST_CANDIDATES = frozenset({"ul", "ol", "dl", "div", "table"})

# The disclosure table's labels: the one vocabulary of pipelines.labels, without the
# labels too generic to mark a table cell (时间).
_LABEL = re.compile(r"^(" + label_regex(labels(generic=False)) + r")(?:\s*[:：]\s*(.*)|$)")


def meta_key(label: str) -> str | None:
    """The metadata key a printed label stands for (索引號, 發(fā)布機構 …), if it is one."""
    key = label_key(label)
    return None if key in GENERIC_LABELS else field_of(key)


def find_tags(node: Tag, names: Collection[str] | None = None) -> list[Tag]:
    """``node.find_all(names)`` (``find_all(True)`` when ``names`` is None): the same tags
    in the same order, from a plain walk. bs4's generic matcher costs several times the
    walk, and extraction asks for tags by name a dozen times per page."""
    if names is None:
        return [el for el in node.descendants if isinstance(el, Tag)]
    return [el for el in node.descendants if isinstance(el, Tag) and el.name in names]


def cjk_count(text: str) -> int:
    return len(_CJK.findall(text))


def _link_cjk(el: Tag) -> int:
    return sum(cjk_count(a.get_text()) for a in find_tags(el, _A))


def is_link_list(el: Tag) -> bool:
    """A run of headlines: three or more links that make up most of the element's text."""
    links = find_tags(el, _A)
    if len(links) < 3:
        return False
    n = cjk_count(el.get_text())
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


def _known_containers(soup: BeautifulSoup) -> list[list[Tag]]:
    """Elements matching each CONTAINERS entry, in document order: one pass over the tree
    (a CSS select per selector costs a full walk each), each element looked up by its
    classes, id and name rather than tested against every entry."""
    found: list[list[Tag]] = [[] for _ in _SELECTORS]
    for el in find_tags(soup):
        classes = el.get("class") or ()
        el_id = el.get("id")
        hits: set[int] = set(_BY_TAG.get(el.name, ()))
        if el_id in _BY_ID:
            hits.update(_BY_ID[el_id])
        if not isinstance(classes, str):
            for name in classes:
                hits.update(_BY_CLASS.get(name, ()))
        for i in hits:
            tag = _SELECTORS[i][0]
            if tag is None or el.name == tag:
                found[i].append(el)
    return found


def _ancestors_add(el: Tag, n: int, into: dict[int, int]) -> None:
    node: Tag | None = el
    while node is not None:
        into[id(node)] = into.get(id(node), 0) + n
        node = node.parent


def _short_text(el: Tag, limit: int) -> str | None:
    """``el.get_text(" ")``, or None as soon as it is longer than ``limit``: a wrapper's
    whole text is not read just to learn that it is not one line."""
    parts: list[str] = []
    size = 0
    for node in el.descendants:
        if type(node) is NavigableString:
            parts.append(node)
            size += len(node)
            if size > limit:
                return None
    return " ".join(parts)


def _evidence(body: Tag) -> tuple[dict[int, int], dict[int, int]]:
    """Per element (by id): CJK inside links, and CJK of chrome lines not inside links.

    One pass each over links and short line elements; each counted piece is added to its
    ancestors, so a candidate's totals are a lookup, not another walk of its subtree.
    """
    links: dict[int, int] = {}
    for a in find_tags(body, _A):
        n = cjk_count(a.get_text())
        if n:
            _ancestors_add(a, n, links)
    chrome: dict[int, int] = {}
    counted: set[int] = set()
    for el in find_tags(body, _LINE_TAGS):
        if any(id(p) in counted for p in el.parents):
            continue
        text = _short_text(el, 4 * _LINE_MAX)
        if text is None:
            continue
        line = " ".join(text.split())
        if not line or len(line) > _LINE_MAX or not cjk_count(line):
            continue
        if classify(line) is None:
            continue
        counted.add(id(el))
        n = cjk_count(line) - links.get(id(el), 0)
        if n > 0:
            _ancestors_add(el, n, chrome)
    return links, chrome


def _never(el: Tag) -> bool:
    """A region that is never the document: <footer>/<nav>…, or named footer, nav, menu."""
    if el.name in _NEVER_TAGS:
        return True
    classes: str | list[str] = el.get("class") or []
    names = classes.split() if isinstance(classes, str) else list(classes)
    el_id = el.get("id")
    if isinstance(el_id, str):
        names.append(el_id)
    return any(_NEVER_NAME.search(n) for n in names)


def drop_hidden(soup: BeautifulSoup) -> list[str]:
    """Remove hidden subtrees (inline ``display:none``, ``hidden``); return their text.

    Hidden parts are the other columns' tabs, share counters, a text-to-speech copy of the
    article. A large hidden part is removed only when its text is also on the page (a
    copy): a template that reveals the article by script hides the only copy in the markup.
    """
    hidden = []
    for el in soup.descendants:
        if isinstance(el, Tag):
            attrs = el.attrs
            style = attrs.get("style")
            if "hidden" in attrs or (isinstance(style, str) and _HIDDEN.search(style)):
                hidden.append(el)
    removed: list[str] = []
    page: str | None = None
    for el in hidden:
        if el.decomposed:
            continue
        text = " ".join(el.get_text(" ").split())
        if cjk_count(text) > _HIDDEN_KEEP:
            if page is None:
                page = " ".join(soup.get_text(" ").split())
            if page.count(text[:60]) < 2:
                continue
        if text:
            removed.append(text)
        el.decompose()
    return removed


def _refine(el: Tag, links: dict[int, int], chrome: dict[int, int]) -> Tag:
    """Move into a child while one child holds nearly all of the element's real text.

    "Nearly all" is a share, and after the child an amount too: a template puts its own
    headline, site name and metadata *above* the document, while what follows the child
    with real text (neither links nor chrome) in it is the document going on (a report's
    prose in one <div> and its tables in the next), never to be cut off.
    """

    def real(node: Tag) -> int:
        return cjk_count(node.get_text()) - links.get(id(node), 0) - chrome.get(id(node), 0)

    while True:
        total = real(el)
        best: Tag | None = None
        for child in el.find_all(
            ["div", "td", "article", "section", "main", "table", "tr"], recursive=False
        ):
            if total <= 0 or real(child) < 0.85 * total:
                continue
            after = sum(
                real(sib) if isinstance(sib, Tag) else cjk_count(str(sib))
                for sib in child.next_siblings
                if type(sib) is NavigableString or isinstance(sib, Tag)
            )
            if after < _REFINE_REST:
                best = child
                break
        if best is None:
            return el
        el = best


def _root(soup: BeautifulSoup) -> Tag:
    """Where the page's text is: <body>, or the whole document when markup goes on after
    it (gov.cn's 公报 pages close </html> twice: the parser puts the article after <body>)."""
    body = soup.body
    node = body
    while node is not None and node is not soup:
        if any(isinstance(el, Tag) for el in node.next_siblings):
            return soup
        node = node.parent
    return body or soup


def find_container(soup: BeautifulSoup) -> Tag:
    """The element holding the article: a known CMS container, else the densest block."""
    for selector, elements in zip(CONTAINERS, _known_containers(soup), strict=True):
        for el in elements:
            n = cjk_count(el.get_text())
            if n < (MIN_CJK if selector in _GENERIC else MIN_CJK_KNOWN):
                continue
            if selector in _GENERIC:
                if _link_cjk(el) > 0.3 * n:
                    continue
                # A generic name (.content, main) often labels a column around the
                # article: the densest block inside it, as for a page without a box.
                return _densest(el)
            return el
    return _densest(_root(soup))


def _densest(root: Tag) -> Tag:
    """The block under ``root`` (or ``root``) with the most text that is neither link text
    nor chrome lines, refined into the child that holds most of it."""
    links, chrome = _evidence(root)
    best: Tag = root
    best_score = 0.0
    # The root competes when it is a block itself (a generic box), not <body> or the page.
    own = [root] if root.name in _DENSITY_CANDIDATES else []
    for el in own + find_tags(root, _DENSITY_CANDIDATES):
        n = cjk_count(el.get_text())
        if n < MIN_CJK or _never(el):
            continue
        # Chrome lines count once for (they are text) and twice against: an ancestor that
        # adds only chrome to the article scores below it.
        score = n - 2 * links.get(id(el), 0) - 2 * chrome.get(id(el), 0)
        if score > best_score:
            best, best_score = el, score
    return _refine(best, links, chrome)


def prune_link_lists(container: Tag) -> list[str]:
    """Remove headline lists nested in the container; return their text for the record."""
    removed: list[str] = []
    for el in find_tags(container, _LIST_CANDIDATES):
        if el.decomposed or el is container:
            continue
        if is_link_list(el) and not el.find(["p"], recursive=True):
            text = " ".join(el.get_text(" ").split())
            if text:
                removed.append(text)
            el.decompose()
    return removed


def _cell_of(node: NavigableString) -> Tag | None:
    """The table cell a text sits in: ``find_parent(["td", "th"])`` without bs4's generic
    matcher, which costs more than the rest of the metadata reader put together."""
    for parent in node.parents:
        if parent.name in ("td", "th"):
            return parent
    return None


def _texts(soup: BeautifulSoup) -> list[tuple[str, Tag | None]]:
    """Every text node, whitespace-collapsed, with the table cell it sits in (if any)."""
    out: list[tuple[str, Tag | None]] = []
    for s in soup.descendants:
        if type(s) is NavigableString and s.parent is not None:
            if s.parent.name in ("script", "style", "title"):
                continue
            t = " ".join(s.split())
            if t:
                out.append((t, _cell_of(s)))
    return out


def _next_cell(cell: Tag | None) -> Tag | None:
    return cell.find_next_sibling(["td", "th"]) if cell is not None else None


def disclosure_metadata(soup: BeautifulSoup) -> dict[str, str]:
    """索引号 / 发布机构 / 生成日期 … from anywhere on the page.

    Either "label：value" in one text, or a label cell followed by its value cell. An empty
    value cell means no value (文号 is often blank), never the next text on the page.
    """
    meta: dict[str, str] = {}
    texts = _texts(soup)
    for i, (t, cell) in enumerate(texts):
        if len(t) > 120:
            continue
        m = _LABEL.match(t.replace("　", "").replace(" ", "") if len(t) < 12 else t)
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
            following, its_cell = texts[i + 1]
            if its_cell is not None and its_cell is _next_cell(cell):
                rest = following if not _LABEL.match(following) else ""
        if rest and len(rest) <= 80:
            meta[key] = rest
    return meta
