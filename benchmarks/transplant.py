"""Real report bodies in real portal templates: does the cleaner find the same text?

    .venv/bin/python -m benchmarks.transplant            # with the templates' classes
    .venv/bin/python -m benchmarks.transplant --bare     # every class and id stripped
    .venv/bin/python -m benchmarks.transplant --untitled # no ArticleTitle, a site name as <title>
    .venv/bin/python -m benchmarks.transplant -v         # every page under 0.995 listed

The real-page gate (``tests/fixtures/real``) has report pages from a few portals; the
templates of ``../shared/realpages`` (gov.cn, provincial and city portals, news sites)
carry no report. Here each report's body (its content box's markup, as saved) replaces
each template's article, and the template's headline its title, so every report is seen
in every template's chrome; the score is character F1 against the report's hand-checked
gold, plus pages left with a chrome line and pages not recognised as a report. ``--bare``
strips every class and id, so no CMS box can be recognised and text density alone must
find the report: what a portal nobody wrote an adapter for looks like. ``--untitled``
takes the title away too (no ArticleTitle, the template's headline replaced by a site name):
the document's own heading must be found as what it is.

Reads ``../shared/realpages`` when it exists (prints nothing otherwise); never run by the
test suite.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from bs4 import BeautifulSoup, Tag

from benchmarks.clean import MARKERS, REALPAGES
from benchmarks.goldset import char_f1
from nianbao.pipelines import content, htmltree
from nianbao.pipelines.decode import decode
from nianbao.pipelines.derive import derive

REAL = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "real"
URL = "http://www.example.gov.cn/zwgk/ndbg/t1.html"
UTF8 = "text/html; charset=utf-8"
_CLASS_OR_ID = re.compile(r"""\s(?:class|id)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)""", re.I)
# Templates: (name, glob under REALPAGES). Government portals first, then news sites.
TEMPLATES = [
    ("nmg.gov.cn", "Chinese-Web-Content-Extraction-Dataset/original/d232c5df*.html"),
    ("bynr.gov.cn", "Chinese-Web-Content-Extraction-Dataset/original/500b350d*.html"),
    ("chinaneast.gov.cn", "Chinese-Web-Content-Extraction-Dataset/original/a0cb0242*.html"),
    ("kepu.gov.cn", "magic-html/**/4e55eac4*.html"),
    ("info.gov.hk", "waddle/**/*info.gov.hk*"),
    ("shanxi.gov.cn", "GeneralNewsExtractor/tests/shanxi/1.html"),
    ("fgw.zj.gov.cn", "GeneralNewsExtractor/tests/gzggw/1.html"),
    ("cmse.gov.cn", "GeneralNewsExtractor/tests/cmse/1.html"),
    ("gov.cn", "GeneralNewsExtractor/tests/other/1.html"),
    ("sxmu.edu.cn", "GeneralNewsExtractor/tests/sxmu/1.html"),
    ("cjn.cn", "GeneralNewsExtractor/tests/cjn/1.html"),
    ("legaldaily.com.cn", "waddle/**/*legaldaily*"),
    ("china.com.cn", "waddle/**/*china.com.cn_91da*"),
]


def _box(soup: BeautifulSoup, tree: htmltree.Element) -> Tag:
    """The content box extraction finds in ``tree`` (an lxml parse of the same markup),
    as the same element of ``soup``: markup is edited and written here with bs4, and both
    trees come from one libxml2 parse, so the element paths agree."""
    box = content.find_container(tree)
    path: list[int] = []
    node = box
    while (parent := node.getparent()) is not None:
        path.append([c for c in parent if htmltree.is_tag(c)].index(node))
        node = parent
    el: Tag = soup
    for i in reversed(path):
        el = [c for c in el.children if isinstance(c, Tag)][i]
    return el


def reports() -> list[tuple[str, str, str, str]]:
    """(name, title, content-box markup, gold text) of every report page of the gate."""
    pages = tomllib.loads((REAL / "manifest.toml").read_text(encoding="utf-8"))["pages"]
    out = []
    for entry in (e for e in pages if e["report"]):
        raw = decode((REAL / "pages" / f"{entry['name']}.html").read_bytes()).text
        doc = derive(raw.encode("utf-8"), entry["url"], UTF8)
        box = _box(BeautifulSoup(raw, "lxml"), htmltree.parse(raw))
        gold = (REAL / "gold" / f"{entry['name']}.txt").read_text(encoding="utf-8")
        out.append((entry["name"], doc.title or "", box.decode_contents(), gold))
    return out


def transplant(template: str, headline: str, title: str, body: str, bare: bool) -> str:
    """``template`` with ``body`` as its article and ``title`` for its headline ("" takes
    the page's title away: no ArticleTitle, a site name where the headline was)."""
    soup = BeautifulSoup(template, "lxml")
    tree = htmltree.parse(template)
    for meta in soup.find_all("meta", attrs={"name": "ArticleTitle"}):
        if title:
            meta["content"] = title
        else:
            meta.decompose()
    for el in htmltree.tags(tree, {"meta"}):
        if el.get("name") == "ArticleTitle":
            if title:
                el.set("content", title)
            else:
                htmltree.drop(el)
    title = title or "门户网站"
    box = _box(soup, tree)
    box.clear()
    box.append(BeautifulSoup(body, "lxml").body or "")
    html = str(soup)
    if len(headline) > 4:
        html = html.replace(headline, title)
    return _CLASS_OR_ID.sub("", html) if bare else html


def main(argv: list[str]) -> int:
    if not REALPAGES.is_dir():
        return 0
    bare, verbose, untitled = "--bare" in argv, "-v" in argv, "--untitled" in argv
    bodies = reports()
    every: list[float] = []
    print(f"== {len(bodies)} real reports x templates{' (bare: no class/id)' if bare else ''}")
    for name, pattern in TEMPLATES:
        found = sorted(REALPAGES.glob(pattern))
        if not found:
            continue
        template = decode(found[0].read_bytes()).text
        headline = derive(template.encode("utf-8"), URL, UTF8).title or ""
        scores, chrome, missed = [], 0, 0
        for report, title, body, gold in bodies:
            page = transplant(template, headline, "" if untitled else title, body, bare)
            doc = derive(page.encode(), URL, UTF8)
            f1 = char_f1(doc.text, gold)[2]
            left = [x for x in doc.text.splitlines() if MARKERS.search(x) and len(x) < 200]
            scores.append(f1)
            chrome += bool(left)
            missed += "report" not in doc.flags
            if verbose and (f1 < 0.995 or left):
                print(f"   {name:20} {report:24} F1 {f1:.4f} {left[:2]}")
        every += scores
        print(
            f"{name:20} F1 mean {sum(scores) / len(scores):.4f} min {min(scores):.4f}"
            f"  chrome left on {chrome}, not recognised {missed}"
        )
    print(f"all: {len(every)} pages, F1 mean {sum(every) / len(every):.4f} min {min(every):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
