"""HTML extraction gives what it gave when it parsed with BeautifulSoup, page for page.

Extraction moved from bs4's tree to lxml's (:mod:`pipelines.htmltree`) for speed, and was
meant to change nothing a user sees. ``fixtures/extract_expected.json`` holds, per page,
a digest of every field extraction fills (blocks, title, metadata, page lines, removed
records, errors), written by the bs4 implementation: the fixture pages, the gold set's
pages, a generated county portal, hostile variants of the fixture pages (truncated, NUL and
control bytes, an XML declaration, a cut-out middle) and hand-written edge cases (empty
page, entities, nested tables, <br>, ruby, <pre>, a second </html>, hidden parts). Pages
of ``../shared/realpages`` are compared too when that folder exists.

A difference is a behaviour change: either a bug in the port, or a fix that must be argued
for and the file regenerated (``python -m tests.test_extract_same``) in the same commit.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from benchmarks import goldset
from nianbao.demo.portalgen import Report, county_portal, seed_reports

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = FIXTURES / "extract_expected.json"
REALPAGES = Path(__file__).resolve().parents[2] / "shared" / "realpages"
FIELDS = ("kind", "encoding", "title", "blocks", "metadata", "page_lines", "errors", "flags")

EDGE_CASES = [
    b"",
    b" ",
    b"\n\n",
    b"\x00",
    b"<!-- only -->",
    b"<?xml version='1.0'?>",
    b"plain text",
    b"<html></html>",
    b"<p>a</p></html><p>after</p></html><div>\xe4\xb8\xad\xe6\x96\x87</div>",
    b"<p>a&nbsp;b&#12288;c&amp;d&lt;e&gt;&copy;&unknown;&#0;&#xD800;</p>",
    "<table><tr><td>一<table><tr><td>二</td></tr></table></td><td rowspan=2>三</td></tr>"
    "<tr><td>四</td></tr></table>".encode(),
    "<div>政府信息<br>公开<br/>年度<rt>x</rt>报告<ruby>汉<rt>han</rt><rp>(</rp></ruby></div>".encode(),
    b"<pre>  a\n  b  </pre><textarea> x </textarea><p>  \n  </p>",
    b"<body><p>x</p></body></html></html><div class=TRS_Editor>\xe6\x94\xbf\xe5\xba\x9c</div>",
    b"<frameset><frame src=a></frameset>",
    b"<head><title>t</title></head>  \n <!--c--> <?php x ?> <body>b</body>",
    b"<![CDATA[ x ]]><p>y</p>",
    "<p style='display:none'>隐藏</p><div hidden>也隐藏</div><p>正文</p>".encode(),
    "<div>政府<script>x</script>\n信息<!-- c -->\n公开</div><p>a\x01<i>b</i>\x0bc</p>".encode(),
    "<html hidden><body><p>全页隐藏</p></body></html>".encode(),
]


def _page(name: str, body: bytes, ct: str = "text/html", cs: str | None = None) -> dict:
    return {"name": name, "body": body, "ct": ct, "cs": cs}


def _variants(name: str, body: bytes, rnd: random.Random) -> Iterator[dict]:
    """Hostile copies of a page: truncated, with NUL/control bytes, with an XML declaration
    that names another charset, with its middle cut out (unbalanced markup)."""
    n = len(body)
    for k in range(3):
        yield _page(f"trunc{k}:{name}", body[: rnd.randrange(1, max(2, n))])
    pos = rnd.randrange(0, max(1, n))
    yield _page(f"nul:{name}", body[:pos] + b"\x00\x01\x0b" + body[pos:])
    yield _page(f"xmldecl:{name}", b'<?xml version="1.0" encoding="gb2312"?>\n' + body)
    a, b = sorted(rnd.randrange(0, max(1, n)) for _ in range(2))
    yield _page(f"cut:{name}", body[:a] + body[b:])


def pages(realpages: bool = True) -> list[dict]:
    """Every page the check covers, in a fixed order, named stably."""
    out: list[dict] = []
    fixtures = sorted(FIXTURES.rglob("*.htm*"))
    for path in fixtures:
        out.append(_page(str(path.relative_to(FIXTURES)), path.read_bytes()))
    for g in goldset.build():
        out.append(_page(f"gold:{g.name}", g.body, g.content_type, g.charset))
    seeds = seed_reports(FIXTURES / "seeds")
    reports = [
        Report(
            f"{j:04d}",
            f"第1县第{j}镇2023年政府信息公开工作年度报告",
            seeds[key][1],
            f"2024-01-{1 + j:02d}",
            "hanweb" if j % 2 else "trs",
        )
        for j, key in enumerate(sorted(seeds))
    ]
    portal = county_portal(reports, "第1县", per_page=3)
    for where, page in sorted(portal._pages.items()):
        if page.body and "html" in page.content_type:
            out.append(_page(f"portal:{where}", page.body, page.content_type))
    rnd = random.Random(7)
    for path in fixtures:
        out.extend(_variants(str(path.relative_to(FIXTURES)), path.read_bytes(), rnd))
    out.extend(_page(f"edge{k}", body) for k, body in enumerate(EDGE_CASES))
    if realpages and REALPAGES.is_dir():
        for path in sorted(REALPAGES.rglob("*")):
            if path.is_file() and (path.suffix in (".html", ".htm") or "/html/" in str(path)):
                out.append(_page(f"realpages:{path.relative_to(REALPAGES)}", path.read_bytes()))
    return out


def _digest(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def digests(page: dict, extract: ModuleType, document: ModuleType) -> dict[str, str]:
    """Each field extraction fills, digested (``extract``: the module under test)."""
    doc = document.Document(
        url="http://www.example.gov.cn/zwgk/t1.html",
        body=page["body"],
        content_type=page["ct"],
        declared_charset=page["cs"],
    )
    extract.extract_html(doc)
    out = {f: _digest(getattr(doc, f)) for f in FIELDS}
    out["removed"] = _digest([r.as_dict() for r in doc.removed])
    return out


@pytest.fixture(scope="module")
def expected() -> dict[str, dict[str, str]]:
    return json.loads(EXPECTED.read_text(encoding="utf-8"))


def test_extraction_is_unchanged_page_for_page(expected: dict[str, dict[str, str]]) -> None:
    from nianbao.pipelines import document, extract

    checked, changed = 0, []
    for page in pages():
        want = expected.get(page["name"])
        if want is None:
            assert page["name"].startswith("realpages:"), f"no expectation for {page['name']}"
            continue
        got = digests(page, extract, document)
        checked += 1
        if got != want:
            changed.append(f"{page['name']}: {sorted(k for k in want if got[k] != want[k])}")
    assert not changed, f"{len(changed)} of {checked} pages changed:\n" + "\n".join(changed)
    assert checked >= 300  # the fixture set did not quietly shrink


def main(argv: list[str]) -> int:
    """Rewrite the expectations from the extraction module named in ``argv`` (default: the
    project's); the realpages entries are kept only where that folder exists."""
    import importlib

    package = argv[0] if argv else "nianbao.pipelines"
    extract = importlib.import_module(f"{package}.extract")
    document = importlib.import_module(f"{package}.document")
    out = {page["name"]: digests(page, extract, document) for page in pages()}
    EXPECTED.write_text(json.dumps(out, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(out)} pages written to {EXPECTED}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
