"""Tables kept intact: row/column spans expanded on a grid, in HTML and DOCX."""

from __future__ import annotations

import io

from nianbao.pipelines.derive import derive
from nianbao.pipelines.grid import Cell, expand, join_lines, span
from tests import tables2021 as t

ORGAN = "某县教育局"


def _rows() -> list[list[int | None]]:
    return t.applications(
        [5, 1, 0, 0, 0, 0],
        [1, 0, 0, 0, 0, 0],
        {
            "（一）予以公开": [3, 1, 0, 0, 0, 0],
            "（四）无法提供/1.本机关不掌握相关政府信息": [2, 0, 0, 0, 0, 0],
        },
        [1, 0, 0, 0, 0, 0],
    )


def report_page(rows=None, four=None) -> bytes:
    body = t.report_html(
        ORGAN,
        2023,
        t.table_three(rows or _rows()),
        t.table_four(four or [1, 0, 0, 0, 1] + [0] * 10),
        t.table_two({"规章": [0, 0, 0], "行政规范性文件": [3, 1, 15], "行政许可": [1260]}),
        6,
    )
    return (
        "<html><head><meta charset='utf-8'><title>某县教育局2023年政府信息公开工作年度报告</title></head>"
        f"<body><h1>某县教育局2023年政府信息公开工作年度报告</h1><div id='zoom'>{body}</div></body></html>"
    ).encode()


def test_expand_repeats_rowspans_and_leaves_colspans_empty():
    rows = [
        [Cell("note", 2, 2), Cell("申请人情况", 1, 2)],
        [Cell("自然人"), Cell("总计")],
        [Cell("三、本年度办理结果", 2), Cell("（一）予以公开"), Cell("1"), Cell("2")],
        [Cell("（二）部分公开"), Cell("0"), Cell("3")],
    ]
    assert expand(rows) == [
        ["note", "", "申请人情况"],
        ["note", "", "自然人", "总计"],
        ["三、本年度办理结果", "（一）予以公开", "1", "2"],
        ["三、本年度办理结果", "（二）部分公开", "0", "3"],
    ]


def test_spans_are_bounded_and_short_rows_padded():
    assert span("9999") == 200 and span("2;") == 2 and span("x") == 1 and span(None) == 1
    grid = expand([[Cell("a", 5)], [Cell("b"), Cell("c")]])
    assert grid == [["a"], ["a", "b", "c"]], "no padding past a row's own cells"
    assert expand([[Cell("x"), Cell(""), Cell("", 1, 2)]]) == [["x", "", ""]], "own blank kept"


def test_lines_of_one_cell_join_on_its_row():
    assert join_lines(["三、本", "年度办", "理结果"]) == "三、本年度办理结果"
    assert join_lines(["Total", "2023"]) == "Total 2023"
    assert join_lines(["2011", "年度"]) == "2011年度"  # a year wrapped off its 年度


def test_2021_table_three_keeps_every_column_on_every_row():
    lines = derive(report_page(), "http://a.gov.cn/t.html").text.splitlines()
    header = [ln for ln in lines if "社会公益组织" in ln][0]
    assert header.split(" | ")[3:] == t.COLUMNS
    row = [ln for ln in lines if "（二）部分公开" in ln][0]
    assert row.split(" | ")[0] == "三、本年度办理结果", "the 22-row label kept, its <p>s joined"
    assert len(row.split(" | ")) == 10
    leaf = [ln for ln in lines if "本机关不掌握" in ln][0]
    assert leaf.split(" | ") == [
        "三、本年度办理结果",
        "（四）无法提供",
        "1.本机关不掌握相关政府信息",
        "2",
        "0",
        "0",
        "0",
        "0",
        "0",
        "2",
    ]
    four = lines[lines.index("四、政府信息公开行政复议、行政诉讼情况") + 4]
    assert four.split(" | ") == ["1", "0", "0", "0", "1"] + ["0"] * 10


def test_running_text_in_a_table_is_still_walked_as_paragraphs():
    prose = "".join(
        f"<p>{'我镇坚持以公开为常态、不公开为例外，全面推进政务公开工作。' * 2}{i}</p>"
        for i in range(3)
    )
    page = (
        f"<html><body><div id='zoom'><table><tr><td>{prose}</td></tr></table></div></body></html>"
    )
    doc = derive(page.encode(), "http://a.gov.cn/t.html")
    assert len(doc.blocks) == 3 and " | " not in doc.text


def test_docx_merged_cells_are_expanded():
    import docx

    document = docx.Document()
    document.add_paragraph("三、收到和处理政府信息公开申请情况")
    table = document.add_table(rows=4, cols=4)
    table.cell(0, 0).merge(table.cell(1, 1)).text = "说明"
    table.cell(0, 2).merge(table.cell(0, 3)).text = "申请人情况"
    table.cell(1, 2).text, table.cell(1, 3).text = "自然人", "总计"
    label = table.cell(2, 0).merge(table.cell(3, 0))
    label.text = "三、本"
    label.add_paragraph("年度办理结果")
    for r, (name, a, b) in enumerate(
        [("（一）予以公开", "1", "2"), ("（二）部分公开", "0", "3")], 2
    ):
        table.cell(r, 1).text, table.cell(r, 2).text, table.cell(r, 3).text = name, a, b
    buf = io.BytesIO()
    document.save(buf)
    doc = derive(buf.getvalue(), "http://a.gov.cn/a.docx")
    assert doc.blocks[1:] == [
        "说明 |  | 申请人情况",
        "说明 |  | 自然人 | 总计",
        "三、本年度办理结果 | （一）予以公开 | 1 | 2",
        "三、本年度办理结果 | （二）部分公开 | 0 | 3",
    ]


def test_doc_cells_keep_their_wrapped_labels_on_the_row():
    from tests.olegen import word_doc

    paragraphs = [
        "某县教育局2023年政府信息公开工作年度报告",
        "三、收到和处理政府信息公开申请情况",
        "说明\x07自然人\x07总计\x07\x07三、本",
        "年度办",
        "理结果\x07（一）予",
        "以公开\x072\x072\x07\x07四、政府信息公开行政复议、行政诉讼情况",
        "本机关全年未发生因政府信息公开被申请行政复议、提起行政诉讼的情况。",
    ]
    doc = derive(word_doc(paragraphs), "http://a.gov.cn/a.doc")
    assert doc.kind == "doc"
    assert "三、本年度办理结果 | （一）予以公开 | 2 | 2" in doc.blocks
    assert "四、政府信息公开行政复议、行政诉讼情况" in doc.blocks, "paragraphs after a table stay"
