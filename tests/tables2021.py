"""The statistics tables of the 2021 format (国办公开办函〔2021〕30号) as portals render them.

Laid out as on real report pages (e.g. the 龙岗区 2024 reports, see
``/work/shared/docs/templates.md`` S2): 表三 has three header rows under a 勾稽关系 note
spanning three columns and three rows, the 三、本年度办理结果 label spans 22 rows, its
groups （三）…（六） span their reasons, and narrow label columns wrap with ``<p>``; 表四 has
three header rows with colspans. Figures are passed in, so a test can plant errors.
"""

from __future__ import annotations

import html

COLUMNS = ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]
GROUPS: list[tuple[str, list[str]]] = [
    ("（一）予以公开", []),
    ("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", []),
    (
        "（三）不予公开",
        [
            "1.属于国家秘密",
            "2.其他法律行政法规禁止公开",
            "3.危及“三安全一稳定”",
            "4.保护第三方合法权益",
            "5.属于三类内部事务信息",
            "6.属于四类过程性信息",
            "7.属于行政执法案卷",
            "8.属于行政查询事项",
        ],
    ),
    (
        "（四）无法提供",
        ["1.本机关不掌握相关政府信息", "2.没有现成信息需要另行制作", "3.补正后申请内容仍不明确"],
    ),
    (
        "（五）不予处理",
        [
            "1.信访举报投诉类申请",
            "2.重复申请",
            "3.要求提供公开出版物",
            "4.无正当理由大量反复申请",
            "5.要求行政机关确认或重新出具已获取信息",
        ],
    ),
    (
        "（六）其他处理",
        [
            "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
            "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
            "3.其他",
        ],
    ),
]
LEAVES = [f"{g}/{leaf}" if leaf else g for g, leaves in GROUPS for leaf in (leaves or [""])]


def _td(text: object, rowspan: int = 1, colspan: int = 1) -> str:
    attrs = (f' rowspan="{rowspan}"' if rowspan > 1 else "") + (
        f' colspan="{colspan}"' if colspan > 1 else ""
    )
    body = (
        "".join(f"<p>{html.escape(str(p))}</p>" for p in str(text).split("/")) if text != "" else ""
    )
    return f"<td{attrs}>{body}</td>"


def _values(values: list[int | None]) -> str:
    return "".join(_td("" if v is None else v) for v in values)


def applications(
    new: list[int], carried: list[int], results: dict[str, list[int]], carry_over: list[int]
) -> list[list[int | None]]:
    """The 25 rows × 7 columns of 表三 in order (row 总计 computed unless given)."""
    rows = [new, carried] + [results.get(leaf, [0] * 6) for leaf in LEAVES]
    total = [sum(r[c] for r in rows[2:]) for c in range(6)]
    rows += [total, carry_over]
    return [r + [sum(r)] if len(r) == 6 else r for r in rows]


def table_three(rows: list[list[int | None]]) -> str:
    """表三 as HTML; ``rows`` as :func:`applications` returns them (25 rows of 7)."""
    out = [
        "<tr>"
        + _td("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", 3, 3)
        + _td("申请人情况", 1, 7)
        + "</tr>",
        "<tr>" + _td("自然人", 2) + _td("法人或其他组织", 1, 5) + _td("总计", 2) + "</tr>",
        "<tr>" + "".join(_td(c) for c in COLUMNS[1:6]) + "</tr>",
        "<tr>" + _td("一、本年新收政府信息公开申请数量", 1, 3) + _values(rows[0]) + "</tr>",
        "<tr>" + _td("二、上年结转政府信息公开申请数量", 1, 3) + _values(rows[1]) + "</tr>",
    ]
    i = 2
    first = True
    for group, leaves in GROUPS:
        for j, leaf in enumerate(leaves or [""]):
            cells = _td("三、本/年度办/理结果", 22) if first else ""
            first = False
            if not leaves:
                cells += _td(group, 1, 2)
            else:
                cells += (_td(group, len(leaves)) if j == 0 else "") + _td(leaf)
            out.append("<tr>" + cells + _values(rows[i]) + "</tr>")
            i += 1
    out.append("<tr>" + _td("（七）总计", 1, 2) + _values(rows[i]) + "</tr>")
    out.append("<tr>" + _td("四、结转下年度继续办理", 1, 3) + _values(rows[i + 1]) + "</tr>")
    return "<table border='1'>" + "".join(out) + "</table>"


def table_four(values: list[int | None]) -> str:
    """表四: 行政复议 (5) | 行政诉讼 未经复议直接起诉 (5) | 复议后起诉 (5)."""
    five = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    return (
        "<table border='1'><tr>"
        + _td("行政复议", 1, 5)
        + _td("行政诉讼", 1, 10)
        + "</tr><tr>"
        + "".join(_td(c, 2) for c in five)
        + _td("未经复议直接起诉", 1, 5)
        + _td("复议后起诉", 1, 5)
        + "</tr><tr>"
        + "".join(_td(c) for c in five * 2)
        + "</tr><tr>"
        + _values(values)
        + "</tr></table>"
    )


def table_two(figures: dict[str, list[int | None]]) -> str:
    """表二 (2021): 规章 / 行政规范性文件 (制发, 废止, 现行有效), 许可, 处罚, 强制, 收费."""

    def block(article: str, header: list[str], rows: list[str]) -> str:
        head = "<tr>" + _td(article, 1, 4) + "</tr><tr>" + _td("信息内容")
        head += "".join(_td(h) for h in header) if len(header) == 3 else _td(header[0], 1, 3)
        head += "</tr>"
        for row in rows:
            vals = figures.get(row, [None] * len(header))
            cells = (
                _values(vals) if len(header) == 3 else _td("" if vals[0] is None else vals[0], 1, 3)
            )
            head += "<tr>" + _td(row) + cells + "</tr>"
        return head

    return (
        "<table border='1'>"
        + block(
            "第二十条第（一）项",
            ["本年制发件数", "本年废止件数", "现行有效件数"],
            ["规章", "行政规范性文件"],
        )
        + block("第二十条第（五）项", ["本年处理决定数量"], ["行政许可"])
        + block("第二十条第（六）项", ["本年处理决定数量"], ["行政处罚", "行政强制"])
        + block("第二十条第（八）项", ["本年收费金额（单位：万元）"], ["行政事业性收费"])
        + "</table>"
    )


def report_html(organ: str, year: int, three: str, four: str, two: str, new_total: int) -> str:
    """The content box of a 2021-format report: prose, the three tables, the signature."""
    return (
        f"<p>一、总体情况</p><p>{year}年，{html.escape(organ)}认真贯彻落实《中华人民共和国政府信息公开条例》，"
        "坚持以公开为常态、不公开为例外，全面推进决策、执行、管理、服务、结果公开。</p>"
        f"<p>（二）依申请公开。全年新收政府信息公开申请{new_total}件，均在法定期限内答复。</p>"
        f"<p>二、主动公开政府信息情况</p>{two}"
        f"<p>三、收到和处理政府信息公开申请情况</p>{three}"
        f"<p>四、政府信息公开行政复议、行政诉讼情况</p>{four}"
        "<p>五、存在的主要问题及改进情况</p><p>一是政策解读形式不够丰富；二是基层政务公开标准化规范化水平有待提升。</p>"
        "<p>六、其他需要报告的事项</p><p>本机关未收取信息处理费。</p>"
        f"<p>{html.escape(organ)}</p><p>{year + 1}年1月20日</p>"
    )
