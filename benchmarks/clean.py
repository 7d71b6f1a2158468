"""Cleaning benchmark: nianbao against trafilatura, same pages, same run, same scorer.

    .venv/bin/python -m benchmarks.clean            # gold set, plus ../shared/realpages if present

1. The gold set of ``tests/goldset.py`` (seed reports in five page templates, GBK and
   UTF-8, both scripts, injected boilerplate and unrelated prose): character-level F1
   against the true report text, pages with boilerplate markers / injected paragraphs
   left / true paragraphs lost, and ms per page.
2. The real-page evaluation set (``tests/fixtures/real``: report pages and negatives from
   portals nobody here built, with hand-made gold; the suite's gate, ``test_realpages``,
   holds their floors): F1 per page for nianbao and trafilatura, and the chrome lines
   (the gate's markers) each leaves. Read as data; always present in a checkout.
3. Real pages under ``../shared/realpages`` that ship full ground truth (the Chinese Web
   Content Extraction Dataset, magic-html's Chinese subset, DAniEL/waddle): F1 and ms per
   page. They are news and government *news* pages, not annual reports, so nianbao is
   also run without its relevance stage (which judges "is this disclosure-report prose");
   both are printed. Never read by the test suite.

Timing is the best of ``REPEAT`` runs per page; ratios are against trafilatura measured
in the same run, so the numbers compare across machines.
"""

from __future__ import annotations

import json
import re
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import goldset
from nianbao.pipelines import boilerplate, extract, fingerprint, normalize
from nianbao.pipelines.derive import derive
from nianbao.pipelines.document import Document

REPEAT = 3
VERBOSE = False
REALPAGES = Path(__file__).resolve().parents[2] / "shared" / "realpages"
REAL_SET = goldset.FIXTURES / "real"
# The gate's chrome lines (tests/test_realpages.py's CHROME; kept in step by hand, since
# benchmarks never import tests).
REAL_CHROME = re.compile(
    r"^(来源|來源)[：:].{0,30}(时间|日期)[：:]"
    r"|^(附件下载|文字解读|图片解读|视频解读|相关链接[：:]?|扫一扫.*|打印|关闭|【?打印】?\s*【?关闭】?)$"
    r"|版权所有|网站标识码|ICP备|公网安备|当前位置|上一篇|下一篇|无障碍|长者模式"
    r"|^(主办单位|承办单位|技术支持|主管单位)[：:]|为确保最佳浏览效果|建议您?使用.{0,20}浏览器"
    r"|^(使用帮助|联系我们|关于我们|网站地图|隐私保护)(\s*\|\s*\S{2,6})*\s*\|?$"
)


def nianbao(body: bytes, url: str, content_type: str, charset: str | None) -> str:
    return derive(body, url, content_type, charset).text


def nianbao_no_relevance(body: bytes, url: str, content_type: str, charset: str | None) -> str:
    doc = Document(url=url, body=body, content_type=content_type, declared_charset=charset)
    for stage in (extract.run, normalize.run, boilerplate.run, fingerprint.run):
        doc = stage(doc)
    return doc.text


def trafilatura_text(body: bytes, url: str, content_type: str, charset: str | None) -> str:
    import trafilatura

    return trafilatura.extract(body, url=url, include_tables=True, include_comments=False) or ""


Extractor = Callable[[bytes, str, str, str | None], str]


@dataclass
class Tally:
    f1: list[float] = field(default_factory=list)
    seconds: float = 0.0
    junk_pages: int = 0
    marker_pages: int = 0
    lost_pages: int = 0

    def row(self, name: str, gold: bool) -> str:
        n = len(self.f1)
        line = (
            f"{name:24} pages {n:3d}  F1 mean {sum(self.f1) / n:.4f}  min {min(self.f1):.4f}  "
            f"{1000 * self.seconds / n:7.1f} ms/page"
        )
        if gold:
            line += (
                f"  | pages with: boilerplate left {self.marker_pages}, "
                f"junk left {self.junk_pages}, paragraphs lost {self.lost_pages}"
            )
        return line


def _timed(fn: Extractor, *args: object) -> tuple[str, float]:
    best, text = float("inf"), ""
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        text = fn(*args)  # type: ignore[arg-type]
        best = min(best, time.perf_counter() - t0)
    return text, best


def run_gold(tools: dict[str, Extractor]) -> dict[str, Tally]:
    pages = goldset.build()
    tallies = {name: Tally() for name in tools}
    for page in pages:
        for name, fn in tools.items():
            text, seconds = _timed(fn, page.body, page.url, page.content_type, page.charset)
            score = goldset.score_page(page, text)
            t = tallies[name]
            t.f1.append(score.f1)
            t.seconds += seconds
            t.junk_pages += bool(score.junk_left)
            t.marker_pages += bool(score.markers_left)
            t.lost_pages += bool(score.lost)
    return tallies


def real_pages() -> list[tuple[str, bytes, str]]:
    """(name, html bytes, ground-truth text) for every real page with full ground truth."""
    out: list[tuple[str, bytes, str]] = []
    cwced = REALPAGES / "Chinese-Web-Content-Extraction-Dataset"
    for html in sorted((cwced / "original").glob("*.html")):
        truth_path = cwced / "cleaned" / (html.stem + ".txt")
        if truth_path.exists():
            out.append((f"cwced/{html.stem[:8]}", html.read_bytes(), truth_path.read_text("utf-8")))
    magic = REALPAGES / "magic-html" / "benchmark" / "data" / "article"
    if (magic / "base.chinese-subset.json").exists():
        data = json.loads((magic / "base.chinese-subset.json").read_text("utf-8"))
        for key, item in sorted(data.items()):
            html = magic / "htmls" / f"{key}.html"
            if html.exists() and item.get("content"):
                out.append((f"magic/{key[:8]}", html.read_bytes(), item["content"]))
    daniel = REALPAGES / "waddle" / "corpora" / "Corpus_daniel_v2.1"
    for html in sorted((daniel / "html").glob("*")):
        ref_path = daniel / "reference" / html.name
        if ref_path.exists():
            truth = re.sub(r"</?p>", "\n", ref_path.read_text("utf-8", "replace"))
            out.append((f"daniel/{html.name[9:30]}", html.read_bytes(), truth))
    return out


# Chrome that must never reach the archive (DOMAIN.md's list), for pages without ground truth.
MARKERS = re.compile(
    r"网站标识码|ICP备|公网安备|无障碍|打印本页|关闭窗口|分享到|字体|字号|上一篇|下一篇|版权所有|"
    r"主办单位|承办单位|浏览次数|当前位置|扫一扫|责任编辑"
)


def marker_lines(tools: dict[str, Extractor]) -> dict[str, tuple[int, int]]:
    """(lines with a chrome marker, pages with any) per tool, over every saved real page."""
    pages = sorted(REALPAGES.glob("GeneralNewsExtractor/**/*.html"))
    pages += sorted(REALPAGES.glob("Chinese-Web-Content-Extraction-Dataset/original/*.html"))
    pages += sorted(REALPAGES.glob("trafilatura/tests/eval/*.html"))
    out = {}
    for tool, fn in tools.items():
        lines = with_any = 0
        for path in pages:
            text = fn(path.read_bytes(), "http://realpages.invalid/", "text/html", None)
            hits = [x for x in text.splitlines() if MARKERS.search(x) and len(x) < 200]
            lines += len(hits)
            with_any += bool(hits)
        out[tool] = (lines, with_any)
    print(f"   ({len(pages)} pages checked for chrome markers)")
    return out


def run_real(tools: dict[str, Extractor]) -> dict[str, Tally]:
    tallies = {name: Tally() for name in tools}
    for name, body, truth in real_pages():
        url = f"http://realpages.invalid/{name}.html"
        for tool, fn in tools.items():
            text, seconds = _timed(fn, body, url, "text/html", None)
            f1 = goldset.char_f1(text, truth)[2]
            tallies[tool].f1.append(f1)
            if VERBOSE:
                print(f"   {name:32} {tool:24} F1 {f1:.4f}")
            tallies[tool].seconds += seconds
    return tallies


def run_real_set(tools: dict[str, Extractor]) -> None:
    """Per page of the evaluation set: each tool's F1 against the gold, and chrome lines left."""
    entries = tomllib.loads((REAL_SET / "manifest.toml").read_text("utf-8"))["pages"]
    names = list(tools)
    print(f"{'page':26} {'report':6} " + " ".join(f"{n[:14]:>14} chrome" for n in names))
    sums: dict[str, list[float]] = {n: [] for n in names}
    for entry in entries:
        body = (REAL_SET / "pages" / f"{entry['name']}.html").read_bytes()
        gold_path = REAL_SET / "gold" / f"{entry['name']}.txt"
        gold = gold_path.read_text("utf-8") if gold_path.exists() else None
        cells = []
        for name, fn in tools.items():
            text = fn(body, entry["url"], "text/html", None)
            chrome = sum(bool(REAL_CHROME.search(ln.strip())) for ln in text.splitlines())
            if gold is None:
                cells.append(f"{'-':>14} {chrome:6d}")
                continue
            f1 = goldset.char_f1(text, gold)[2]
            if entry["report"]:
                sums[name].append(f1)
            cells.append(f"{f1:14.4f} {chrome:6d}")
        print(f"{entry['name']:26} {'yes' if entry['report'] else 'no':6} " + " ".join(cells))
    for name, scores in sums.items():
        if scores:
            print(
                f"{name:24} report pages {len(scores):3d}  F1 mean {sum(scores) / len(scores):.4f}"
                f"  min {min(scores):.4f}"
            )


def main(argv: list[str] | None = None) -> int:
    global VERBOSE
    VERBOSE = "-v" in (argv or [])
    tools: dict[str, Extractor] = {"nianbao": nianbao, "trafilatura": trafilatura_text}
    print(f"== gold set ({len(goldset.build())} pages; best of {REPEAT} runs per page)")
    gold = run_gold(tools)
    for name, tally in gold.items():
        print(tally.row(name, gold=True))
    ratio = gold["nianbao"].seconds / gold["trafilatura"].seconds
    print(f"nianbao time / trafilatura time: {ratio:.2f}")
    print(f"== real-page evaluation set ({REAL_SET}; F1 against hand-made gold, chrome lines left)")
    run_real_set(tools)
    if REALPAGES.is_dir():
        tools = {"nianbao": nianbao, "nianbao (no relevance)": nianbao_no_relevance, **tools}
        del tools["trafilatura"]
        tools["trafilatura"] = trafilatura_text
        print(f"== real pages with ground truth ({REALPAGES})")
        real = run_real(tools)
        for name, tally in real.items():
            print(tally.row(name, gold=False))
        ratio = real["nianbao"].seconds / real["trafilatura"].seconds
        print(f"nianbao time / trafilatura time: {ratio:.2f}")
        print("== real pages: short lines still carrying page chrome (网站标识码, 打印本页, …)")
        for name, (lines, pages) in marker_lines(tools).items():
            print(f"{name:24} {lines:3d} lines on {pages:2d} pages")
    else:
        print(f"(no {REALPAGES}: real-page comparison skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
