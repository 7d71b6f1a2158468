"""Recognition: the quality gate on the labelled set, and the rules it rests on."""

from __future__ import annotations

import json

import pytest

from nianbao.pipelines.document import Document
from nianbao.pipelines.metadata import report_fields
from nianbao.pipelines.recognize import looks_like_candidate, recognize, title_verdict
from tests.recognition_set import FLOORS, derive_doc, evaluate, labelled_set


@pytest.fixture(scope="module")
def evaluated():
    return evaluate(labelled_set())


def test_quality_gate_precision_and_recall(evaluated):
    """Like trafilatura's eval_gate: fail when a score drops below the floor stored beside it."""
    scores, verdicts = evaluated
    floors = json.loads(FLOORS.read_text(encoding="utf-8"))
    wrong = [
        f"{p.id} ({'report' if p.label else 'look-alike'}): {why}"
        for p, got, why in verdicts
        if got != p.label
    ]
    pages = len(verdicts)
    assert pages >= 40 and sum(p.label for p, _, _ in verdicts) >= 15
    print(
        f"\nrecognition: {pages} pages precision={scores.precision:.3f} recall={scores.recall:.3f}"
    )
    assert scores.precision >= floors["precision"], wrong
    assert scores.recall >= floors["recall"], wrong


def test_the_set_has_held_out_negatives_and_varied_templates():
    pages = labelled_set()
    assert sum(p.heldout for p in pages) >= 6
    kinds = {p.url.rsplit(".", 1)[-1] for p in pages}
    assert kinds == {"html", "pdf", "docx"}
    # GBK, UTF-8 and traditional-script pages on both sides.
    assert any(b"charset" not in p.body[:400] and p.url.endswith("html") for p in pages)


def test_organ_and_year_of_every_positive():
    floors = json.loads(FLOORS.read_text(encoding="utf-8"))
    pages = [p for p in labelled_set() if p.label]
    right, wrong = 0, []
    for page in pages:
        doc = Document(url=page.url, body=page.body, content_type=page.content_type)
        if page.landing_title:
            doc.metadata["landing_title"] = page.landing_title
        fields = report_fields(derive_doc(doc))
        if (fields.organ, fields.year) == (page.expect_organ, page.expect_year):
            right += 1
        else:
            wrong.append((page.id, fields.organ, fields.year))
    assert right / len(pages) >= floors["organ_year_accuracy"], wrong


@pytest.mark.parametrize(
    "title, verdict",
    [
        ("方正县2014年政府信息公开工作年度报告", "report"),
        ("方正县2014年政府信息公开年报", "report"),
        ("八桥镇2020年度政务公开工作年度报告", "report"),
        ("城關鎮2016年政府信息公開工作年度報告", "report"),
        ("XX局政府信息公开工作年度报告（2022年度）", "report"),
        ("XX街道政府信息公开工作2019年度报告_XX区人民政府", "report"),
        ("某县2019年政府信息公开工作年度报告-某县人民政府", "report"),
        ("某县2019年政府信息公开工作年度报告—某县人民政府网", "report"),
        ("Microsoft Word - 某镇2019年政府信息公开工作年度报告.doc", "report"),
        ("乡镇政府信息公开工作年度报告范文（精选5篇）", "copy"),
        ("关于做好2018年政府信息公开工作年度报告编制发布工作的通知", "about"),
        ("2022年政府信息公开工作年度报告解读", "about"),
        ("我县举办政府信息公开工作年度报告编制培训班", "about"),
        ("某公司2022年度企业环境信息公开年度报告", "neutral"),
        ("2024年县政府工作报告", "other"),
        ("方正县人民政府", "neutral"),
        ("", "neutral"),
    ],
)
def test_title_verdict_reads_the_head_noun(title, verdict):
    assert title_verdict(title) == verdict


def test_a_report_title_without_a_body_is_not_a_report():
    """A 详见附件 landing page: the attachment is the report, not this page."""
    assert not recognize("宝兴乡2019年政府信息公开工作年度报告", "详见附件。").is_report


def test_seed_bodies_are_reports_even_under_a_site_name_title(seeds):
    for key in ("000", "002"):
        title, lines = seeds[key]
        text = "\n".join([title, *lines])
        assert recognize("某某县人民政府门户网站", text).is_report
        assert looks_like_candidate("某某县人民政府门户网站", text)


def test_the_pre_filter_reads_a_report_title_without_normalising_the_page(seeds, monkeypatch):
    """The spider runs it on the reactor's core for every page: a page whose title names
    the genre passes on the title alone (OpenCC over the page's head was ≈ 4 % of the crawl
    process); a site-name title still sends the page's own text through normalisation."""
    from nianbao.pipelines import recognize as rec

    title, lines = seeds["000"]
    text = "\n".join([title, *lines])
    calls = []
    normal_form = rec.normal_form
    monkeypatch.setattr(rec, "normal_form", lambda t: calls.append(t) or normal_form(t))
    assert looks_like_candidate("某某镇2023年政府信息公开工作年度报告", text)
    assert calls == []
    assert looks_like_candidate("某某县人民政府门户网站", text)
    assert len(calls) == 1
    assert not looks_like_candidate("某某县人民政府门户网站", "今日天气晴，气温十五度。")


def test_a_content_farm_copy_is_recognised_and_flagged(seeds):
    """Seed 004: a 范文 site's copy, unrelated prose pasted around a (spun) report."""
    from nianbao.pipelines.derive import derive

    _title, lines = seeds["004"]
    title = "乡镇政府信息公开工作年度报告范文"
    paras = "".join(f"<p>{line}</p>" for line in lines)
    page = f"<html><head><meta charset='utf-8'><title>{title}</title></head><body><h1>{title}</h1><div class='content'>{paras}</div></body></html>"
    doc = derive(page.encode(), "http://fanwen.example.com/nianbao.html")
    assert "report" in doc.flags and "farm_copy" in doc.flags


def test_the_spiders_page_text_head_is_a_prefix_of_the_whole_on_every_kind_of_page() -> None:
    """The spider reads a page's text for the pre-filter only as far as HEAD_CHARS
    (crawler/reading.py ``body_head``), outside scripts and styles by a parent test:
    on real pages, the generated portal's, hostile copies (truncated, cut in the middle, NUL
    bytes) and the edge cases, what it returns is the text of every node with no script or
    style ancestor, or a prefix of it at least as long as asked; so the pre-filter's verdict
    is the one the whole text gives."""
    from lxml import etree
    from scrapy.http import HtmlResponse

    from nianbao.crawler.reading import body_head
    from nianbao.pipelines.decode import charset_of, decode
    from nianbao.pipelines.recognize import HEAD_CHARS, head_looks_like_candidate
    from tests.test_extract_same import pages

    every_text = etree.XPath(
        "//body//text()[not(ancestor::script)][not(ancestor::style)]", smart_strings=False
    )
    checked = cut = 0
    for page in pages(realpages=False):
        found = decode(page["body"], page["cs"] or charset_of(page["ct"])).encoding
        try:
            response = HtmlResponse("http://a.gov.cn/p.html", body=page["body"], encoding=found)
            root = response.selector.root
        except (LookupError, ValueError):
            continue  # a body Scrapy itself cannot read: the spider never gets this far
        whole = " ".join(t.strip() for t in every_text(root) if t.strip())
        for limit in (0, 1, 40, HEAD_CHARS, 10**9):
            head = body_head(root, limit)
            assert whole.startswith(head), (page["name"], limit)
            assert head == whole or len(head) >= limit, (page["name"], limit)
        head = body_head(root)
        cut += head != whole
        assert head_looks_like_candidate(head) == head_looks_like_candidate(whole), page["name"]
        checked += 1
    assert checked >= 100 and cut >= 10  # long pages were cut short, and still agree
