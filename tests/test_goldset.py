"""The cleaning quality gate: the gold set must clean to the true report text.

Floors live beside this file in ``goldset_floors.json``. The gold set is built by
:mod:`tests.goldset` (seed reports × page templates × encodings × scripts, with injected
boilerplate and unrelated prose, some of it from genres the relevance model never saw).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from benchmarks import goldset
from nianbao.pipelines.derive import derive

FLOORS = json.loads((Path(__file__).parent / "goldset_floors.json").read_text())


@pytest.fixture(scope="module")
def cleaned():
    pages = goldset.build()
    return [(page, derive(page.body, page.url, page.content_type, page.charset)) for page in pages]


def test_gold_set_has_the_promised_variety(cleaned):
    pages = [p for p, _ in cleaned]
    assert len(pages) >= FLOORS["pages"]
    assert len({p.template for p in pages}) >= FLOORS["templates"]
    assert {
        p.body.decode("utf-8", "replace") == p.body.decode("utf-8", "ignore") for p in pages
    } == {
        True,
        False,
    }, "both UTF-8 and GBK pages"
    assert {p.script for p in pages} == {"hans", "hant"}
    assert sum(len(p.injected) for p in pages) >= 40
    held = {t for p in pages for t in p.heldout}
    assert len(held) >= 5, "held-back genres must be injected"


def test_f1_floors(cleaned):
    scores = {page.name: goldset.score_page(page, doc.text).f1 for page, doc in cleaned}
    mean = sum(scores.values()) / len(scores)
    worst = min(scores, key=scores.__getitem__)
    assert mean >= FLOORS["mean_f1"], f"mean F1 {mean:.4f}"
    assert scores[worst] >= FLOORS["page_f1"], f"{worst}: F1 {scores[worst]:.4f}"


def test_no_boilerplate_no_junk_no_lost_paragraph(cleaned):
    problems = []
    for page, doc in cleaned:
        s = goldset.score_page(page, doc.text)
        if s.markers_left:
            problems.append(f"{page.name}: boilerplate left {s.markers_left}")
        if s.junk_left:
            problems.append(f"{page.name}: unrelated prose left {[j[:20] for j in s.junk_left]}")
        if s.lost:
            problems.append(f"{page.name}: lost {[t[:20] for t in s.lost]}")
    assert not problems, "\n".join(problems)


def test_every_removal_is_explained_and_no_true_paragraph_is_among_them(cleaned):
    for page, doc in cleaned:
        assert doc.removed
        truth = {goldset.score_form(t) for t in page.truth if len(t) > 8}
        for r in doc.removed:
            assert r.stage and r.rule and r.text
            assert goldset.score_form(r.text) not in truth, (page.name, r.rule, r.text[:40])
        rules = {r.rule for r in doc.removed}
        if page.injected:
            assert any(rule.startswith("relevance:") for rule in rules), page.name


def test_same_report_same_hash_in_every_template_encoding_and_script(cleaned):
    hashes: dict[str, set[str]] = defaultdict(set)
    for page, doc in cleaned:
        hashes[page.seed].add(doc.sha256)
    assert all(len(h) == 1 for h in hashes.values()), {k: len(v) for k, v in hashes.items()}
    assert len({next(iter(h)) for h in hashes.values()}) == len(hashes)


def test_text_keeps_the_published_script(cleaned):
    for page, doc in cleaned:
        if page.script == "hant":
            assert "報告" in doc.text or "公開" in doc.text, page.name
            assert doc.norm_text and "公开" in doc.norm_text
        else:
            assert "公開" not in doc.text


def test_pages_are_recognised_with_title_and_metadata(cleaned):
    for page, doc in cleaned:
        assert "report" in doc.flags, page.name
        assert doc.title and goldset.score_form(doc.title) == goldset.score_form(page.title)
        if page.template in ("trs", "xxgk"):
            assert doc.metadata["index_no"].startswith("11230124MB1")
            assert doc.metadata["publisher"] == "示范县人民政府"
            assert doc.metadata["generated"].startswith("2019-01-")


def test_seed_003_pinyin_and_004_spinning(cleaned):
    for page, doc in cleaned:
        if page.seed == "003":
            assert "pinyin_garbage" in doc.flags
            assert "(zh" not in doc.text and "城關鎮人民政府" in doc.text
            assert "(孟政辦〔2016〕32號)" in doc.text and "(張道祿)" in doc.text
            assert "http://www.mjcgz.gov.cn/" in doc.text
        if page.seed == "004":
            assert "spun_text" in doc.flags
            assert "当局信息公开" in doc.text, "spun text is flagged, not deleted"
        elif page.seed in ("000", "001", "002"):
            assert "spun_text" not in doc.flags and "pinyin_garbage" not in doc.flags
