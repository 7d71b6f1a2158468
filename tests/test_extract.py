"""Finding the report on a page: CMS containers, the density fallback, link lists, metadata."""

from __future__ import annotations

import pytest

from nianbao.pipelines.derive import derive
from nianbao.pipelines.document import Document
from nianbao.pipelines.extract import run

REPORT = [
    "根据《中华人民共和国政府信息公开条例》要求，现将我镇2018年政府信息公开工作情况报告如下。",
    "一、总体情况",
    "2018年，我镇累计主动公开政府信息162条，其中通过政府网站公开92条，政务微信公开6条。",
    "二、依申请公开政府信息情况",
    "我镇全年没有收到公开政府信息的申请，未发生因政府信息公开申请行政复议、提起行政诉讼的情况。",
]
CHROME = """<div class="nav"><a href="/">首页</a><a href="/a">政务公开</a><a href="/b">新闻中心</a></div>
<div class="side"><ul><li><a href="/1">县委常委会召开专题会议研究部署重点工作</a></li>
<li><a href="/2">我县举行重点项目集中开工仪式推进会</a></li>
<li><a href="/3">关于2019年春节放假安排的通知公告</a></li></ul></div>"""


def _html(
    inner: str, head: str = "<title>某镇2018年政府信息公开工作年度报告_某县人民政府</title>"
) -> bytes:
    return f"<html><head><meta charset='utf-8'>{head}</head><body>{inner}</body></html>".encode()


def _paras(lines=REPORT) -> str:
    return "".join(f"<p>{line}</p>" for line in lines)


def _extract(body: bytes) -> Document:
    return run(Document(url="http://a.gov.cn/t.html", body=body))


@pytest.mark.parametrize(
    "box",
    [
        '<div class="TRS_Editor">{}</div>',
        '<div id="zoom">{}</div>',
        '<div class="bt_content">{}</div>',
        '<div class="article-content">{}</div>',
        '<div id="ivs_content">{}</div>',
        '<div class="xxgk_content">{}</div>',
        '<div class="wrap"><div class="main"><div class="text">{}</div></div></div>',  # density
        '<table><tr><td class="x">{}</td></tr></table>',  # density, table layout
    ],
)
def test_container_holds_exactly_the_report(box):
    doc = _extract(_html(CHROME + box.format(_paras()) + "<p>版权所有：某县人民政府</p>"))
    assert doc.blocks == REPORT
    outside = [r.text for r in doc.removed if r.rule == "outside-container"]
    assert "版权所有：某县人民政府" in outside and any("首页" in t for t in outside)


def test_whole_page_form_wrapper_is_not_dropped():
    doc = _extract(_html(f"<form id='aspnetForm'>{CHROME}<div id='zoom'>{_paras()}</div></form>"))
    assert doc.blocks == REPORT


def test_generic_content_class_that_wraps_the_page_is_skipped_for_density():
    links = "".join(
        f"<li><a href='/{i}'>第{i}条新闻标题很长很长很长很长很长</a></li>" for i in range(20)
    )
    page = f"<div class='content'><ul>{links}</ul><div class='body'>{_paras()}</div></div>"
    doc = _extract(_html(page))
    assert doc.blocks == REPORT


def test_link_lists_inside_the_container_are_pruned_and_recorded():
    doc = _extract(_html(f"<div id='zoom'>{_paras()}{CHROME}</div>"))
    assert doc.blocks[: len(REPORT)] == REPORT
    assert not any("开工仪式" in b for b in doc.blocks)
    assert any(r.rule == "link-list" and "开工仪式" in r.text for r in doc.removed)


def test_tables_are_rows_of_cells():
    table = (
        "<table><tr><td>统计指标</td><td>单位</td><td>统计数</td></tr>"
        "<tr><td>主动公开政府信息数</td><td>条</td><td>162</td></tr></table>"
    )
    doc = _extract(_html(f"<div id='zoom'>{_paras()}{table}</div>"))
    assert doc.blocks[-2:] == ["统计指标 | 单位 | 统计数", "主动公开政府信息数 | 条 | 162"]


def test_source_line_breaks_between_characters_are_not_spaces():
    doc = _extract(
        _html("<div id='zoom'><p>我镇政府信息\n        公开工作</p>" + _paras() + "</div>")
    )
    assert doc.blocks[0] == "我镇政府信息公开工作"


def test_title_and_disclosure_metadata_come_from_the_whole_page():
    meta = (
        "<table><tr><td>索引号：</td><td>0001/2019-00012</td><td>发布机构：</td><td>某镇人民政府</td></tr>"
        "<tr><td>生成日期：</td><td>2019-01-15</td><td>文　　号：</td><td></td></tr></table>"
    )
    doc = _extract(
        _html(f"{meta}<h1>某镇2018年政府信息公开工作年度报告</h1><div id='zoom'>{_paras()}</div>")
    )
    assert doc.title == "某镇2018年政府信息公开工作年度报告"
    assert doc.metadata["index_no"] == "0001/2019-00012"
    assert doc.metadata["publisher"] == "某镇人民政府"
    assert doc.metadata["generated"] == "2019-01-15"
    assert "doc_no" not in doc.metadata


def test_gbk_page_without_declaration_decodes_and_cleans():
    body = _html(f"{CHROME}<div id='zoom'>{_paras()}</div>", head="<title>年度报告</title>")
    body = body.decode("utf-8").replace("<meta charset='utf-8'>", "").encode("gb18030")
    doc = derive(body, "http://a.gov.cn/t.html")
    assert doc.text == "\n".join(REPORT)


def test_a_report_heading_beats_a_site_name_page_title():
    head = "<title>某县人民政府门户网站</title>"
    page = f"<h1>某县人民政府</h1><h2>某镇2018年政府信息公开工作年度报告</h2><div id='zoom'>{_paras()}</div>"
    assert _extract(_html(page, head=head)).title == "某镇2018年政府信息公开工作年度报告"


def test_word_exported_table_cells_stay_rows_and_layout_tables_are_walked():
    word = (
        "<table class='MsoNormalTable'><tr><td><p class='MsoNormal'><span>自然人</span></p></td>"
        "<td><p class='MsoNormal'>商业<br>企业</p></td><td><p>3</p></td></tr></table>"
    )
    layout = f"<table><tr><td class='nav'>栏目</td><td>{_paras()}</td></tr></table>"
    doc = _extract(_html(f"<div id='zoom'>{word}{layout}</div>"))
    assert doc.blocks[0] == "自然人 | 商业企业 | 3"  # one cell, one label
    assert doc.blocks[-len(REPORT) :] == REPORT


def test_a_short_report_in_a_cms_box_is_still_found():
    short = ["七、需要说明的其他事项", "我镇没有需要说明的其他事项", "白银市平川区王家山镇人民政府"]
    doc = _extract(_html(f"{CHROME}<div id='zoom'>{_paras(short)}</div><p>版权所有：某县</p>"))
    assert doc.blocks == short


def test_disclosure_labels_in_traditional_script_with_converter_pinyin():
    """A bad converter's 索引號 / 發(fā)布機(jī)構(gòu) cells are still labels (issue 11 §4)."""
    meta = (
        "<table><tr><td>索(suǒ)引號(hào)：</td><td>0001/2017-00012</td>"
        "<td>發(fā)布機(jī)構(gòu)：</td><td>城關鎮人民政府</td></tr>"
        "<tr><td>成文日期：</td><td>2017-02-20</td></tr></table>"
    )
    doc = _extract(
        _html(f"{meta}<h1>某镇2016年政府信息公开工作年度报告</h1><div id='zoom'>{_paras()}</div>")
    )
    assert doc.metadata["index_no"] == "0001/2017-00012"
    assert doc.metadata["publisher"] == "城關鎮人民政府"
    assert doc.metadata["written"] == "2017-02-20"


_PROSE = "本机关认真贯彻落实政府信息公开条例，全年主动公开政府信息一百二十条，依申请公开办理答复十五件，未发生行政复议和行政诉讼。"


def test_a_footer_dense_with_chrome_lines_is_not_the_content_box():
    """No CMS class: the footer's plain text outweighs the headline links, but all of it
    is chrome (标识码, 版权所有, 主办单位, browser advice), which counts against it."""
    footer = (
        "<div><p>网站标识码：3590000001 闽ICP备09032658号</p><p>版权所有：某某县人民政府网站</p>"
        "<p>主办单位：某某县人民政府办公室</p><p>为确保最佳浏览效果，建议您使用以下浏览器版本：IE浏览器9.0版本及以上</p></div>"
    )
    page = f"<html><body><div><p>{_PROSE}</p></div>{footer}</body></html>"
    doc = run(Document(url="u", body=page.encode()))
    assert doc.blocks == [_PROSE]


def test_an_article_after_a_stray_second_html_end_is_found():
    """gov.cn's 公报 pages close </html> twice; the parser puts the article after <body>."""
    page = f"<html><body><div>首页</div></body></html><html><div><p>{_PROSE}</p></div></html>"
    assert run(Document(url="u", body=page.encode())).blocks == [_PROSE]


def test_a_hidden_copy_of_the_article_is_dropped_and_recorded():
    page = (
        f"<html><body><div><div><p>{_PROSE}</p></div>"
        f'<em style="display: none;">{_PROSE}</em><div>其他</div></div></body></html>'
    )
    doc = run(Document(url="u", body=page.encode()))
    assert doc.blocks == [_PROSE]
    assert [r.rule for r in doc.removed if r.text == _PROSE] == ["hidden"]


def test_a_large_hidden_part_stays_when_it_is_the_only_copy():
    """A template that reveals the article by script hides it in the markup: kept; the same
    text hidden beside a visible copy is a duplicate: dropped."""
    long = "".join(f"第{n}项：{_PROSE}" for n in "一二三四五")
    alone = (
        f'<html><body><div>首页</div><div style="display:none"><p>{long}</p></div></body></html>'
    )
    assert run(Document(url="u", body=alone.encode())).blocks == [long]
    twice = (
        f"<html><body><div><div><p>{long}</p></div>"
        f'<div style="display:none"><p>{long}</p></div></div></body></html>'
    )
    assert run(Document(url="u", body=twice.encode())).blocks == [long]


def test_a_reports_tables_in_a_sibling_block_are_not_cut_off():
    """No CMS box; the prose in one <div>, the tables in the next, a headline above:
    density must not refine into the prose (the tables are the document going on)."""
    prose = "".join(f"第{n}项：{_PROSE}" for n in "一二三四五六七")
    rows = "".join(f"<tr><td>行政许可第{n}类</td><td>{n}</td></tr>" for n in range(1, 8))
    page = (
        "<html><body><div><div>某县人民政府门户网站</div><div>"
        f"<div><p>{prose}</p></div><div><table>{rows}</table></div>"
        "</div></div></body></html>"
    )
    blocks = run(Document(url="u", body=page.encode())).blocks
    assert blocks[0] == prose and blocks[-1] == "行政许可第7类 | 7" and len(blocks) == 8
