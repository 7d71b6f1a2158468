"""Recognition of annual reports on the seed texts and on look-alikes."""

from __future__ import annotations

import pytest

from nianbao.portalgen import NEGATIVES
from pipelines.recognize import looks_like_candidate, recognize, report_organ, report_year


@pytest.mark.parametrize(
    "seed, organ, year",
    [("000", "桦川县苏家店镇", 2013), ("002", "方正县", 2014), ("003", "城關鎮(zhèn)", 2016)],
)
def test_seed_reports_are_recognised_with_organ_and_year(seeds, seed, organ, year):
    title, lines = seeds[seed]
    text = "\n".join(lines)
    assert recognize(title, text).is_report
    assert looks_like_candidate(title, text)
    assert report_year(title, text) == year
    assert report_organ(title) == organ


@pytest.mark.parametrize("rel, title, paras", NEGATIVES)
def test_look_alikes_are_not_reports(rel, title, paras):
    assert not recognize(title, "\n".join(paras)).is_report


def test_chinese_numeral_year():
    assert report_year("某县二〇一八年政府信息公开工作年度报告") == 2018
