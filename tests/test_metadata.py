"""Metadata: organ, report year, publication date, 索引号 and 文号, from pages built here."""

from __future__ import annotations

import pytest

from nianbao.pipelines import metadata
from nianbao.pipelines.derive import derive
from nianbao.pipelines.metadata import (
    cn_digits,
    labelled_fields,
    page_fields,
    parse_date,
    published_date,
    report_fields,
    report_organ,
    report_year,
)

PAGE = """<html><head><meta charset="utf-8"><meta name="PubDate" content="2019-01-03 10:00">
<title>王家山镇2018年政府信息公开工作年度报告_某区人民政府</title></head><body>
<table class="xxgk"><tr><td>索引号：</td><td>11620102MB1234567X/2019-00012</td><td>主题分类：</td><td>政务公开</td></tr>
<tr><td>发布机构：</td><td>王家山镇人民政府</td><td>生成日期：</td><td>2018年12月29日</td></tr>
<tr><td>文号：</td><td>王政发〔2019〕3号</td><td>有效性：</td><td>有效</td></tr></table>
<div class="info">发布时间：2019-01-02 来源：区政务公开办 浏览次数：321</div>
<div class="TRS_Editor"><p>王家山镇2018年政府信息公开工作年度报告</p><p>一、总体情况</p>
<p>根据《中华人民共和国政府信息公开条例》，现将我镇2018年政府信息公开工作情况报告如下。</p>
<p>二、主动公开政府信息情况</p><p>全年主动公开政府信息316条。</p><p>三、收到和处理政府信息公开申请情况</p>
<p>全年未收到政府信息公开申请。</p><p>四、政府信息公开行政复议、行政诉讼情况</p><p>无。</p>
<p>五、存在的主要问题及改进情况</p><p>公开内容不够全面。</p><p>六、其他需要报告的事项</p><p>无。</p></div>
</body></html>"""


def test_labelled_fields_and_report_fields_from_a_page():
    doc = derive(PAGE.encode(), "http://x.gov.cn/t20190102_1.html")
    assert "report" in doc.flags
    meta = doc.metadata
    assert meta["index_no"] == "11620102MB1234567X/2019-00012"
    assert meta["publisher"] == "王家山镇人民政府"
    assert meta["doc_no"] == "王政发〔2019〕3号"
    assert meta["generated"] == "2018-12-29"
    assert meta["published"] == "2019-01-02" and meta["source"] == "区政务公开办"
    fields = report_fields(doc)
    # The page states 发布时间 2019-01-02: that, not PubDate or 生成日期, is the publication date.
    assert fields.published == "2019-01-02"
    # Published in 2019, the report is on 2018.
    assert (fields.organ, fields.year) == ("王家山镇", 2018)
    assert doc.title == "王家山镇2018年政府信息公开工作年度报告"


def test_value_on_the_next_line_and_placeholders_ignored():
    lines = ["索引号：", "000014349/2020-00123", "文号：", "无", "发布机构：某县教育局"]
    assert labelled_fields(lines) == {"index_no": "000014349/2020-00123", "publisher": "某县教育局"}


@pytest.mark.parametrize(
    "value, iso",
    [
        ("2019-01-02 09:30", "2019-01-02"),
        ("2019年1月2日", "2019-01-02"),
        ("2019/1/2", "2019-01-02"),
        ("二〇一九年一月十五日", "2019-01-15"),
        ("二〇二〇年十二月三十一日", "2020-12-31"),
        ("2019-13-45", None),
        # Dates that do not exist are no dates (issue 11 §4).
        ("2019-02-31", None),
        ("2019年2月29日", None),
        ("2020-02-29", "2020-02-29"),
        ("2019-04-31 更新于 2019-05-02", "2019-05-02"),
        (None, None),
    ],
)
def test_parse_date(value, iso):
    assert parse_date(value) == iso


def test_published_date_prefers_the_stated_date():
    meta = {"published": "2019-01-02", "generated": "2018-12-29", "written": "2018-12-20"}
    assert published_date(meta) == "2019-01-02"
    assert published_date({"generated": "2018-12-29"}) == "2018-12-29"
    assert published_date({}) is None


@pytest.mark.parametrize(
    "title, text, published, year",
    [
        ("某县二〇一八年政府信息公开工作年度报告", "", None, 2018),
        ("某局政府信息公开工作年度报告（2020年度）", "", "2021-01-20", 2020),
        # No year in the title: the body's report phrase, not the publication date line.
        (
            "政府信息公开工作年度报告",
            "发布时间：2019-02-01\n现将我局2018年度政府信息公开工作情况报告如下",
            None,
            2018,
        ),
        (
            "政府信息公开工作年度报告",
            "统计期限自2017年1月1日起至2017年12月31日止",
            "2018-03-01",
            2017,
        ),
        # Nothing but the publication date: the year before it.
        ("政府信息公开工作年度报告", "全年主动公开信息300条。", "2019-01-02", 2018),
        ("政府信息公开工作年度报告", "", None, None),
    ],
)
def test_report_year_is_the_year_reported_on(title, text, published, year):
    assert report_year(title, text, published) == year


@pytest.mark.parametrize(
    "title, organ",
    [
        ("桦川县苏家店镇2013年政府政务信息公开工作年度报告", "桦川县苏家店镇"),
        ("2022年度广州市黄埔区生态环境局政府信息公开工作年度报告", "广州市黄埔区生态环境局"),
        ("方正县人民政府关于2022年政府信息公开工作年度报告", "方正县人民政府"),
        ("方正县教育局政府信息公开年报", "方正县教育局"),
        ("城關鎮(zhèn)2016年政府信息公開工作年度報告", "城關鎮"),
    ],
)
def test_report_organ_from_the_title(title, organ):
    assert report_organ(title) == organ


def test_report_organ_falls_back_to_the_publisher():
    assert report_organ("政府信息公开工作年度报告", {"publisher": "某县司法局"}) == "某县司法局"


@pytest.mark.parametrize(
    "title",
    [
        "乡镇政府信息公开工作年度报告范文",
        "xx镇2019年政府信息公开工作年度报告",
        "某县政府信息公开年报",
    ],
)
def test_generic_or_placeholder_prefix_is_no_organ(title):
    assert report_organ(title) is None
    assert report_organ(title, {"source": "范文网"}) == "范文网"


def test_cn_digits():
    assert cn_digits("二〇一八年十二月三十一日") == "2018年12月31日"


def test_attachment_closing_date_is_the_written_date(seeds):
    from nianbao.demo.portalgen import docx_bytes

    title, lines = seeds["002"]
    doc = derive(
        docx_bytes(title, [*lines[:20], "方正县人民政府办公室", "二〇一五年一月二十日"]),
        "http://x/a.docx",
    )
    assert doc.metadata["written"] == "2015-01-20"
    assert report_fields(doc).published == "2015-01-20"


def test_converter_pinyin_labels_in_traditional_script(seeds):
    """Seed 003 went through a bad converter: 發(fā)布時間 is still 发布时间 (issue 11 §4)."""
    title, lines = seeds["003"]
    assert lines[0] == "發(fā)布時間:2017-02-24 來源:城關鎮(zhèn)"
    body = "".join(f"<p>{line}</p>" for line in lines)
    page = f'<html><head><meta charset="utf-8"><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>'
    doc = derive(page.encode(), "http://x.gov.cn/t20170224_1.html")
    assert doc.metadata["published"] == "2017-02-24"
    assert report_fields(doc).published == "2017-02-24"
    # The value loses the converter's pinyin too; the script stays as published.
    assert doc.metadata["source"] == "城關鎮"


@pytest.mark.parametrize(
    "line, field, value",
    [
        ("索(suǒ)引(yǐn)號(hào):000014349/2020-00123", "index_no", "000014349/2020-00123"),
        ("發(fā)布機(jī)構(gòu)：城關鎮(zhèn)人民政府", "publisher", "城關鎮人民政府"),
        ("成文日期(qī)：2018年12月29日", "written", "2018-12-29"),
        ("發佈時間：2019-01-02", "published", "2019-01-02"),
    ],
)
def test_labels_with_pinyin_after_any_character(line, field, value):
    assert labelled_fields([line])[field] == value


@pytest.mark.parametrize(
    "meta",
    [
        '<meta name="PubDate" content="2020-01-05 10:00">',
        '<meta content="2020-01-05 10:00" name="PubDate">',
        "<META CONTENT='2020-01-05' NAME=pubdate />",
        '<meta http-equiv="x" content="2020-01-05" name="PubDate">',
    ],
)
def test_landing_pubdate_in_any_attribute_order(meta):
    """``content`` before ``name`` was missed, so the attachment lost its date."""
    html = f"<html><head>{meta}<title>t</title></head><body><p>详见附件</p></body></html>"
    assert page_fields(html)["published"] == "2020-01-05"


def test_one_vocabulary_for_every_reader():
    """The disclosure table in the page, the labelled lines and the metadata rows speak the
    same field names (one page used to store both category and topic, published and stated)."""
    from nianbao.pipelines import content
    from nianbao.pipelines.labels import FIELDS, RENAMED, field_of

    for field, names in FIELDS.items():
        for label in names:
            assert field_of(label) == field
            if label != "时间":
                assert content.meta_key(label) == field
    assert not set(RENAMED) & set(FIELDS)
    page = (
        "<html><head><title>2019年政府信息公开工作年度报告</title>"
        '<meta name="PubDate" content="2020-01-03"></head><body>'
        "<table><tr><td>主题分类</td><td>政务公开</td><td>发布日期</td><td>2020-01-02</td></tr></table>"
        "<p>发布时间：2020-01-02</p><p>主题分类：政务公开</p></body></html>"
    )
    doc = derive(page.encode(), "http://x.gov.cn/t1.html")
    assert doc.metadata.get("category") == "政务公开"
    assert not {"topic", "stated"} & set(doc.metadata)
    assert doc.metadata["published"] == "2020-01-02"


def test_the_label_first_characters_cover_every_form_of_every_label():
    """The disclosure-table reader skips a text whose first character begins no label
    (``labels.first_chars``): every label, in either script, spaced and with converter
    pinyin, must begin with one of them, or its table would go unread."""
    import re

    from nianbao.pipelines import content
    from nianbao.pipelines.labels import TRADITIONAL, first_chars, label_regex, labels

    pattern = re.compile(label_regex(labels()))
    firsts = first_chars(labels())
    for label in labels():
        traditional = "".join(TRADITIONAL.get(c, c) for c in label)
        for form in (label, traditional, "(fa)".join(traditional), label.replace("", " ").strip()):
            if pattern.fullmatch(form):
                assert form[0] in firsts, form
    assert "發" in firsts and "索" in firsts
    with pytest.raises(ValueError):
        first_chars([" 索引号"])
    # spaced, traditional, after an indented line break: still read
    page = (
        "<table><tr><td>\n\u3000索 引 號：</td><td>000014349/2020-00123</td>"
        "<td>\n\u3000發(fā)布機構</td><td>城關鎮人民政府</td></tr></table>"
    )
    meta = content.disclosure_metadata(content.htmltree.parse(page))
    assert meta["index_no"] == "000014349/2020-00123"
    assert meta["publisher"] == "城關鎮人民政府"


def test_long_label_patterns_compile_at_first_use_and_warm_compiles_them():
    """The label alternations are compiled when first used, not at import (every crawl and
    command paid ≈ 0.2 s for them at start-up); derive.warm, which the crawl's cleaning
    workers run as they start, compiles every one of them and still cleans its page to the
    end (a report, its table's fields read)."""
    from nianbao.pipelines import chrome, content, derive

    lazy = (metadata._field, metadata._cut, content._label, chrome._meta_block, chrome._any_meta)
    for pattern in lazy:
        pattern.cache_clear()
    derive.warm()
    assert [p.cache_info().currsize for p in lazy] == [1] * len(lazy)
    doc = derive.derive(
        derive._WARM_PAGE.encode("utf-8"), "http://warm.invalid/r.html", "text/html; charset=utf-8"
    )
    assert "report" in doc.flags
    assert doc.metadata["index_no"] == "000000000/2024-00001"
    assert doc.metadata["publisher"] == "某县某镇人民政府"
