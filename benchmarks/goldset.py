"""The cleaning gold set: seed reports wrapped in realistic page templates, with known truth.

Built deterministically from ``tests/fixtures/seeds`` (no randomness that is not seeded by
the page's name), so the quality gate (``tests/test_goldset.py``) and the benchmark
(``benchmarks/clean.py``) score the very same pages.

Ground truth, decided once here:

* The report text is the seed's body, one paragraph per line, without its title line (the
  title is metadata: templates put it in ``<h1>``, ``<td class="bt">`` or inside the
  content box, and it is stored as the version's title, not as text).
* 001: the title spans the first two seed lines; the body starts at 区政务公开办. Its
  statistics table (附件3) is part of the report; one template renders it as a real
  ``<table>`` (rows of cells), the others cell per line as the seed has it.
* 003: the published (traditional) text *without* converter pinyin (`鎮(zhèn)` → `鎮`) and
  without the "發布時間 … 來源" dateline (page metadata, not report text).
* 004: a content-farm copy. Its first line (a monthly sales summary) is pasted junk and its
  last two lines are the farm's 版权声明 / 本文地址 footer; everything in between is what the
  farm published as the report (fragments of several reports, a work plan and the 2008
  Regulation's text) and is kept: we cannot prove any of it is not the report, and losing a
  real sentence costs more than keeping a doubtful one.

Each page also lists the boilerplate markers its template injected and the unrelated
paragraphs it pasted in (from ``fixtures/gold/unrelated.toml``; held-back genres marked).
"""

from __future__ import annotations

import difflib
import random
import re
from dataclasses import dataclass

from benchmarks.goldnew import new_format_pages
from benchmarks.goldpages import COMMON_MARKERS, FIXTURES, TEMPLATES, GoldPage, Seed, unrelated

__all__ = ["GoldPage", "Seed", "build", "char_f1", "load_seeds", "score_page", "unrelated"]
SEEDS = FIXTURES / "seeds"

# Independent of pipelines.normalize on purpose: any lower-case Latin run in parentheses.
_GOLD_PINYIN = re.compile(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)")
_CJK = re.compile(r"[\u3400-\u9fff]")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _table_001(raw: str) -> tuple[list[list[str]], str, str]:
    """The 统计表 of seed 001 as rows of three cells; and the seed lines it starts/ends at."""
    start = raw.index("\t统计指标")
    end = raw.index("填报单位（盖章）")
    cells: list[str] = []
    for line in raw[start:end].splitlines():
        if line.startswith("\t"):
            cells.append(line.strip())
        elif line.strip():
            cells[-1] = (cells[-1] + " " + line.strip()).strip()
    rows = [cells[i : i + 3] for i in range(0, len(cells), 3)]
    return rows, "统计指标", "填报单位（盖章）："


def load_seeds() -> dict[str, Seed]:
    out: dict[str, Seed] = {}
    for path in sorted(SEEDS.glob("*.txt")):
        key, raw = path.name[:3], path.read_text(encoding="utf-8")
        lines = _lines(raw)
        if key == "001":
            body = lines[2:]
            seed = Seed(key, lines[0] + lines[1], body, list(body))
            rows, first, after = _table_001(raw)
            a, b = body.index(first), body.index(after)
            seed.table, seed.table_span = rows, (a, b)
        elif key == "003":
            body = lines[2:]
            seed = Seed(
                key,
                _GOLD_PINYIN.sub("", lines[0]),
                body,
                [_GOLD_PINYIN.sub("", line) for line in body],
                dateline=lines[1],
            )
        elif key == "004":
            seed = Seed(key, "八桥镇政府信息公开工作年度报告", lines, lines[1:-2], junk=[lines[0]])
            seed.junk += lines[-2:]
        else:
            seed = Seed(key, lines[0], lines[1:], lines[1:])
        out[key] = seed
    return out


def _inject(
    rng: random.Random, lines: list[str], seed: Seed, how_many: int, pool: list[tuple[str, bool]]
) -> tuple[list[str], list[str], list[str]]:
    """Paste ``how_many`` unrelated paragraphs: one first (as farms do), the rest between prose."""
    if not how_many:
        return lines, [], []
    out = list(lines)
    picks = rng.sample(pool, how_many)
    span = seed.table_span or (len(out), len(out))
    prose = [
        i
        for i in range(1, len(out))
        if not (span[0] <= i <= span[1]) and len(out[i - 1]) > 30 and len(out[i]) > 30
    ]
    positions = [0] + sorted(rng.sample(prose, how_many - 1), reverse=True)
    for (text, _held), pos in zip(picks, positions[::-1], strict=True):
        out.insert(pos, text)
    return out, [t for t, _ in picks], [t for t, held in picks if held]


def build(traditional_variants: bool = True) -> list[GoldPage]:
    """Every seed in every template, traditional copies of two seeds, a 2021-format report."""
    seeds = load_seeds()
    tuned, heldout = unrelated()
    pool = [(t, False) for ts in tuned.values() for t in ts] + [
        (t, True) for ts in heldout.values() for t in ts
    ]
    pages: list[GoldPage] = []
    variants: list[tuple[str, str, Seed]] = [(k, "hans", s) for k, s in seeds.items()]
    if traditional_variants:
        import opencc

        s2t = opencc.OpenCC("s2t")
        for key in ("000", "002"):
            s = seeds[key]
            variants.append(
                (
                    key,
                    "hant",
                    Seed(
                        key,
                        s2t.convert(s.title),
                        [s2t.convert(x) for x in s.published_lines],
                        [s2t.convert(x) for x in s.truth],
                    ),
                )
            )
    for key, script, seed in variants:
        if seed.key == "003":
            script = "hant"
        for tname, (builder, encoding, header, n_junk) in TEMPLATES.items():
            if script == "hant" and seed.key != "003" and tname not in ("hanweb", "farm", "legacy"):
                continue
            name = f"{key}-{script}-{tname}"
            rng = random.Random(name)
            lines = list(seed.published_lines)
            if seed.dateline and tname in ("farm", "generic"):
                lines.insert(0, seed.dateline)
            lines, injected, held = _inject(rng, lines, seed, n_junk, pool)
            markup, markers = builder(seed, lines, seed.title, f"{int(key) + 1000:04d}")
            markers = [*markers, *COMMON_MARKERS] if tname != "farm" else markers
            pages.append(
                GoldPage(
                    name=name,
                    template=tname,
                    seed=key,
                    body=markup.encode(encoding),
                    content_type="text/html" + (f"; charset={header}" if header else ""),
                    charset=header,
                    url=f"http://www.example.gov.cn/zwgk/ndbg/{name}.html",
                    title=seed.title,
                    truth=list(seed.truth),
                    injected=injected + seed.junk,
                    heldout=held,
                    markers=markers,
                    script=script,
                )
            )
    return pages + new_format_pages()


# --- scoring ----------------------------------------------------------------------------

_SCORE_DROP = re.compile(r"[\W_]+")


def score_form(text: str) -> str:
    """What scoring compares: simplified script, NFKC, letters/digits/CJK only."""
    from nianbao.pipelines.normalize import normal_form

    return _SCORE_DROP.sub("", normal_form(text))


def _units(text: str) -> list[str]:
    return [u for u in (score_form(line) for line in text.splitlines()) if u]


def char_f1(predicted: str, truth: str) -> tuple[float, float, float]:
    """Character-level precision, recall, F1 over the longest common subsequence.

    Lines are aligned first (fast on 70 KB reports), then the characters of unaligned
    stretches are aligned with difflib, so a half-kept paragraph scores half.
    """
    p_units, t_units = _units(predicted), _units(truth)
    p_len, t_len = sum(map(len, p_units)), sum(map(len, t_units))
    if not p_len or not t_len:
        return 0.0, 0.0, 0.0
    matched = 0
    sm = difflib.SequenceMatcher(None, p_units, t_units, autojunk=False)
    for op, a0, a1, b0, b1 in sm.get_opcodes():
        if op == "equal":
            matched += sum(len(u) for u in p_units[a0:a1])
        elif op == "replace":
            a, b = "".join(p_units[a0:a1]), "".join(t_units[b0:b1])
            inner = difflib.SequenceMatcher(None, a, b, autojunk=False)
            matched += sum(block.size for block in inner.get_matching_blocks())
    precision, recall = matched / p_len, matched / t_len
    f1 = 2 * precision * recall / (precision + recall) if matched else 0.0
    return precision, recall, f1


@dataclass
class PageScore:
    name: str
    f1: float
    lost: list[str]  # true paragraphs missing from the output
    junk_left: list[str]  # injected paragraphs still in the output
    markers_left: list[str]  # boilerplate markers still in the output


def score_page(page: GoldPage, text: str) -> PageScore:
    out = score_form(text)
    truth_text = "\n".join(page.truth)
    truth_form = score_form(truth_text)
    _, _, f1 = char_f1(text, truth_text)
    lost = [t for t in page.truth if score_form(t) not in out]
    junk_left = [j for j in page.injected if score_form(j) and score_form(j) in out]
    markers_left = [
        m
        for m in page.markers
        if text.count(m) > truth_text.count(m)
        or (score_form(m) and out.count(score_form(m)) > truth_form.count(score_form(m)))
    ]
    return PageScore(page.name, f1, lost, junk_left, markers_left)


def cjk_len(text: str) -> int:
    return len(_CJK.findall(text))
