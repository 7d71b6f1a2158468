"""The relevance model: unrelated prose goes, every report paragraph stays.

The [heldout] genres of fixtures/gold/unrelated.toml (sports, film, health, travel, phone,
real estate, pets, fiction) were written before the model was tuned and never informed
its vocabulary; ``test_held_back_genres_are_removed`` is the generalisation check.
"""

from __future__ import annotations

import pytest

from benchmarks import goldset
from nianbao.pipelines import relevance
from nianbao.pipelines.document import Document

TUNED, HELDOUT = goldset.unrelated()
SEEDS = goldset.load_seeds()


def _paragraphs(genres: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(g, t) for g, texts in genres.items() for t in texts]


@pytest.mark.parametrize(("genre", "text"), _paragraphs(TUNED))
def test_tuned_genres_are_removed(genre, text):
    assert relevance.is_unrelated(text), genre


@pytest.mark.parametrize(("genre", "text"), _paragraphs(HELDOUT))
def test_held_back_genres_are_removed(genre, text):
    assert relevance.is_unrelated(text), genre


def test_no_seed_paragraph_is_judged_unrelated():
    kept = [(s.key, t) for s in SEEDS.values() for t in s.truth if relevance.is_unrelated(t)]
    assert kept == []


def test_seed_004_sales_summary_is_removed_with_its_reason():
    seed = SEEDS["004"]
    doc = relevance.run(Document(url="u", body=b"", blocks=list(seed.published_lines[:-2])))
    assert doc.blocks == seed.truth
    [removal] = doc.removed
    assert removal.stage == "relevance" and removal.rule == "relevance:genre"
    assert removal.text.startswith("通过月工作总结")


def test_margin_between_report_prose_and_unrelated_prose():
    """The thresholds sit in a gap, not on an edge: report prose is far denser."""
    long_seed = [
        relevance.features(t)
        for s in SEEDS.values()
        for t in s.truth
        if relevance.features(t).cjk >= relevance.MIN_CJK_OFF_DOMAIN
    ]
    junk = [relevance.features(t) for _, t in _paragraphs(TUNED) + _paragraphs(HELDOUT)]
    assert min(f.density for f in long_seed) > 1.5 * relevance.MIN_DENSITY
    assert max(f.density for f in junk) < relevance.MIN_DENSITY


def test_short_heading_between_pasted_paragraphs_goes_with_them():
    a, b = TUNED["recipe"]
    report = SEEDS["000"].truth[:6]
    blocks = [*report[:3], "家常菜谱", a, "小贴士", b, *report[3:]]
    doc = relevance.run(Document(url="u", body=b"", blocks=blocks))
    assert doc.blocks == [*report[:3], "家常菜谱", *report[3:]]
    assert [r.rule for r in doc.removed] == [
        "relevance:genre",
        "relevance:between-unrelated",
        "relevance:genre",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "组长:",
        "针对存在的问题，下一步打算从以下几个方面着手。",
        "2019年，我镇共举办培训班3次，参加培训人员45人次，全年未发生泄密事件。",
        "（三）加强学校招生、学生资助等教育领域信息公开，全年在网站公开教育政策文件26件。",
        "4、推进天气预报、气象灾害预警信息公开，及时发布暴雨、寒潮等预警信号52次。",
    ],
)
def test_report_paragraphs_that_touch_other_genres_stay(text):
    assert not relevance.is_unrelated(text)


def test_a_page_that_is_mostly_another_genre_is_left_whole_and_flagged():
    """Not a report with pasted junk but, say, a news page: no basis to judge paragraphs."""
    blocks = [t for _, t in _paragraphs(HELDOUT)] + ["我镇全年主动公开政府信息86条。"]
    doc = relevance.run(Document(url="u", body=b"", blocks=list(blocks)))
    assert doc.blocks == blocks and not doc.removed
    assert "mostly_unrelated" in doc.flags
