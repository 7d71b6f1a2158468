"""The labelled recognition set: real report texts (the seeds) and look-alikes, as pages.

Positives are the five seed reports under varied titles (年报, 政务公开, 年度 in the middle,
a bracketed year, 二〇 numerals, traditional script, a heading on two lines), CMS templates
and encodings, new-format (2019/2021) reports with the statutory tables, and hand-written
reports in ``fixtures/recognition/positives.toml``. Negatives are the hand-written
look-alikes in ``fixtures/recognition/negatives.toml``. Every page is
rendered to bytes and goes through the whole cleaning chain (:func:`pipelines.derive.derive`),
so the gate measures what a crawl would archive.

``python -m tests.recognition_set`` prints each verdict and the precision/recall.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from nianbao.demo.portalgen import seed_reports
from tests.pagegen import new_format_lines, render, to_traditional

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures" / "recognition"
SEEDS = HERE / "fixtures" / "seeds"
FLOORS = FIXTURES / "floors.json"


@dataclass
class LabelledPage:
    id: str
    label: bool  # True: an annual report
    url: str
    body: bytes
    content_type: str
    landing_title: str | None = None
    heldout: bool = False
    expect_organ: str | None = None
    expect_year: int | None = None


def positives() -> list[LabelledPage]:
    seeds = seed_reports(SEEDS)
    t0, l0 = seeds["000"]
    _t1, l1 = seeds["001"]
    t2, l2 = seeds["002"]
    t3, l3 = seeds["003"]
    _t4, l4 = seeds["004"]
    body1 = l1[2:]  # seed 001: the title is split over its first lines
    i2020 = next(i for i, line in enumerate(l4) if line.startswith("2020年,我镇政府信息公开"))
    i2019 = next(i for i, line in enumerate(l4) if line.startswith("2019年,我镇在市当局"))
    specs: list[tuple[str, str, str, list[str], str, str | None, int | None]] = [
        # id, template, title, lines, date, expected organ, expected year
        ("seed000-trs", "trs", t0, l0, "2014-03-05", "桦川县苏家店镇", 2013),
        (
            "seed000-hant-hanweb",
            "hanweb",
            to_traditional(t0),
            [to_traditional(x) for x in l0],
            "2014-03-05",
            "樺川縣蘇家店鎮",
            2013,
        ),
        ("seed000-generic-title", "gkmlpt-noheading", t0, l0, "2014-03-05", "桦川县苏家店镇", 2013),
        (
            "seed002-nianbao",
            "trs",
            "方正县2014年政府信息公开年报",
            l2,
            "2015-01-20",
            "方正县",
            2014,
        ),
        ("seed002-old-gbk", "old", t2, l2, "2015-01-20", "方正县", 2014),
        ("seed002-pdf", "pdf", t2, l2, "2015-01-20", "方正县", 2014),
        (
            "seed001-docx",
            "docx",
            "王家山镇2018年政府信息公开工作年度报告",
            body1,
            "2019-01-15",
            "王家山镇",
            2018,
        ),
        (
            "seed001-cn-numerals",
            "gkmlpt",
            "王家山镇二〇一八年政府信息公开工作年度报告",
            body1,
            "2019-01-15",
            "王家山镇",
            2018,
        ),
        ("seed003-hant", "trs", t3, l3, "2017-02-24", "城關鎮", 2016),
        ("seed003-docx", "docx", t3, l3, "2017-02-24", "城關鎮", 2016),
        (
            "seed004-2020",
            "hanweb",
            "八桥镇2020年度政务公开工作年度报告",
            l4[i2020:],
            "2021-01-28",
            "八桥镇",
            2020,
        ),
        (
            "seed004-spun-2019",
            "old",
            "八桥镇政府信息公开工作年度报告（2019年）",
            l4[i2019:i2020],
            "2020-01-20",
            "八桥镇",
            2019,
        ),
        (
            "new2021-edu",
            "trs",
            "方正县教育局2021年政府信息公开工作年度报告",
            new_format_lines("方正县教育局", 2021),
            "2022-01-25",
            "方正县教育局",
            2021,
        ),
        (
            "new2022-yearfirst",
            "gkmlpt",
            "2022年度广州市黄埔区生态环境局政府信息公开工作年度报告",
            new_format_lines("黄埔区生态环境局", 2022, 5),
            "2023-01-16",
            "广州市黄埔区生态环境局",
            2022,
        ),
        (
            "new2019-yearinside",
            "gkmlpt",
            "城关街道办事处政府信息公开工作2019年度报告",
            new_format_lines("城关街道办事处", 2019, 0),
            "2020-03-02",
            "城关街道办事处",
            2019,
        ),
        (
            "new2020-hant",
            "hanweb",
            "孟津縣城關鎮2020年政府信息公開工作年度報告",
            [to_traditional(x) for x in new_format_lines("城关镇", 2020)],
            "2021-02-01",
            "孟津縣城關鎮",
            2020,
        ),
        (
            "new2021-docx",
            "docx",
            "宝兴乡2021年政府信息公开工作年度报告",
            new_format_lines("宝兴乡", 2021, 1),
            "2022-01-10",
            "宝兴乡",
            2021,
        ),
        (
            "new2023-pdf",
            "pdf",
            "方正县卫生健康局2023年政府信息公开工作年度报告",
            new_format_lines("方正县卫生健康局", 2023, 7),
            "2024-01-17",
            "方正县卫生健康局",
            2023,
        ),
        (
            "new2022-guanyu",
            "trs",
            "方正县人民政府关于2022年政府信息公开工作年度报告",
            new_format_lines("方正县人民政府", 2022, 12),
            "2023-03-20",
            "方正县人民政府",
            2022,
        ),
        (
            "new2021-nianbao-old",
            "old",
            "方正县财政局2021年信息公开年报",
            new_format_lines("方正县财政局", 2021, 2),
            "2022-01-28",
            "方正县财政局",
            2021,
        ),
        (
            "new2022-bracket-year",
            "trs",
            "方正县应急管理局政府信息公开工作年度报告（2022年度）",
            new_format_lines("方正县应急管理局", 2022),
            "2023-01-30",
            "方正县应急管理局",
            2022,
        ),
    ]
    out = []
    for id_, template, title, lines, date, organ, year in specs:
        body, ctype, landing = render(template, title, lines, date=date)
        ext = {"pdf": "pdf", "docx": "docx"}.get(template, "html")
        out.append(
            LabelledPage(
                id_,
                True,
                f"http://x.gov.cn/ndbg/{id_}.{ext}",
                body,
                ctype,
                landing,
                False,
                organ,
                year,
            )
        )
    return out


def written_positives() -> list[LabelledPage]:
    """The hand-written, held-out reports in ``positives.toml``."""
    data = tomllib.loads((FIXTURES / "positives.toml").read_text(encoding="utf-8"))
    out = []
    for page in data["page"]:
        lines = [line.strip() for line in page["text"].strip().splitlines() if line.strip()]
        body, ctype, landing = render(page["template"], page["title"], lines)
        out.append(
            LabelledPage(
                page["id"],
                True,
                f"http://x.gov.cn/ndbg/{page['id']}.html",
                body,
                ctype,
                landing,
                page.get("heldout", False),
                page["organ"],
                page["year"],
            )
        )
    return out


def negatives() -> list[LabelledPage]:
    data = tomllib.loads((FIXTURES / "negatives.toml").read_text(encoding="utf-8"))
    out = []
    for page in data["page"]:
        lines = [line.strip() for line in page["text"].strip().splitlines() if line.strip()]
        body, ctype, landing = render(page["template"], page["title"], lines)
        ext = {"pdf": "pdf", "docx": "docx"}.get(page["template"], "html")
        out.append(
            LabelledPage(
                page["id"],
                False,
                f"http://x.gov.cn/p/{page['id']}.{ext}",
                body,
                ctype,
                landing,
                page.get("heldout", False),
            )
        )
    return out


@lru_cache(maxsize=1)
def _cached_set() -> tuple[LabelledPage, ...]:
    return tuple(positives() + written_positives() + negatives())


def labelled_set() -> list[LabelledPage]:
    return list(_cached_set())


@dataclass
class Scores:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def evaluate(pages: list[LabelledPage]) -> tuple[Scores, list[tuple[LabelledPage, bool, str]]]:
    """Run every page through the cleaning chain; count the verdicts."""
    from nianbao.pipelines.document import Document

    s = Scores(0, 0, 0, 0)
    verdicts = []
    for page in pages:
        doc = Document(url=page.url, body=page.body, content_type=page.content_type)
        if page.landing_title:
            doc.metadata["landing_title"] = page.landing_title
        doc = derive_doc(doc)
        got = "report" in doc.flags
        verdicts.append((page, got, doc.metadata.get("recognition", "")))
        if got and page.label:
            s.tp += 1
        elif got:
            s.fp += 1
        elif page.label:
            s.fn += 1
        else:
            s.tn += 1
    return s, verdicts


def derive_doc(doc):  # type: ignore[no-untyped-def]
    """The cleaning chain on a prepared Document (derive() builds its own from bytes)."""
    from nianbao.pipelines.derive import STAGES

    for _name, stage in STAGES:
        doc = stage(doc)
    return doc


if __name__ == "__main__":
    pages = labelled_set()
    scores, verdicts = evaluate(pages)
    for page, got, why in verdicts:
        mark = "ok " if got == page.label else "ERR"
        held = " (held out)" if page.heldout else ""
        print(f"{mark} {'P' if page.label else 'N'} {page.id}{held}: {why}")
    print(
        f"pages={len(pages)} precision={scores.precision:.3f} recall={scores.recall:.3f} {scores}"
    )
    held = [p for p in pages if p.heldout]
    hs, _ = evaluate(held)
    print(
        f"held out: {sum(p.label for p in held)} reports, {sum(not p.label for p in held)} "
        f"look-alikes: precision={hs.precision:.3f} recall={hs.recall:.3f} {hs}"
    )
