"""A 2021-format report (国办公开办函〔2021〕30号) with its statistics tables, for the gold set.

The seeds are all old-format reports; this one has the fixed tables 二/三/四 with
rowspan/colspan, labels verbatim from /work/shared/docs/templates.md (copied into
``fixtures/gold/new_format.toml`` and below), prose written for the purpose.
"""

from __future__ import annotations

import html
import random
import tomllib

from benchmarks.goldpages import COMMON_MARKERS, FIXTURES, TEMPLATES, GoldPage, Seed, unrelated

NEW_FORMAT = FIXTURES / "gold" / "new_format.toml"
_T3_ROWS = [
    "一、本年新收政府信息公开申请数量",
    "二、上年结转政府信息公开申请数量",
    "三、本年度办理结果",
    "（一）予以公开",
    "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
    "（三）不予公开",
    "1.属于国家秘密",
    "2.其他法律行政法规禁止公开",
    "3.危及“三安全一稳定”",
    "4.保护第三方合法权益",
    "5.属于三类内部事务信息",
    "6.属于四类过程性信息",
    "7.属于行政执法案卷",
    "8.属于行政查询事项",
    "（四）无法提供",
    "1.本机关不掌握相关政府信息",
    "2.没有现成信息需要另行制作",
    "3.补正后申请内容仍不明确",
    "（五）不予处理",
    "1.信访举报投诉类申请",
    "2.重复申请",
    "3.要求提供公开出版物",
    "4.无正当理由大量反复申请",
    "5.要求行政机关确认或重新出具已获取信息",
    "（六）其他处理",
    "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "3.其他",
    "（七）总计",
    "四、结转下年度继续办理",
]
_T3_VALUES = {
    "一、本年新收政府信息公开申请数量": [2, 1, 0, 0, 0, 0, 3],
    "（一）予以公开": [2, 0, 0, 0, 0, 0, 2],
    "（四）无法提供": [0, 1, 0, 0, 0, 0, 1],
    "1.本机关不掌握相关政府信息": [0, 1, 0, 0, 0, 0, 1],
    "（七）总计": [2, 1, 0, 0, 0, 0, 3],
}


def _row(cells: list[str], attrs: dict[int, str] | None = None) -> tuple[str, str]:
    """(html row, cells joined): tables take their truth from :func:`_grid_lines`."""
    attrs = attrs or {}
    tds = "".join(f"<td{attrs.get(i, '')}>{html.escape(c)}</td>" for i, c in enumerate(cells))
    return f"<tr>{tds}</tr>", " | ".join(cells)


def _grid_lines(markup: str) -> list[str]:
    """The rows of a table as the cleaner writes them: spans expanded on the grid
    (``pipelines/grid.py``, whose own tests fix what expansion means)."""
    from bs4 import BeautifulSoup

    from nianbao.pipelines import grid

    rows = [
        [
            grid.Cell(td.get_text(), grid.span(td.get("rowspan")), grid.span(td.get("colspan")))
            for td in tr.find_all("td")
        ]
        for tr in BeautifulSoup(markup, "lxml").find_all("tr")
    ]
    return [" | ".join(r) for r in grid.expand(rows)]


def new_format_report() -> tuple[str, list[str], list[tuple[str, str]]]:
    """(title, truth lines, [(html fragment, kind)]) of the 2021-format report."""
    data = tomllib.loads(NEW_FORMAT.read_text(encoding="utf-8"))
    parts: list[tuple[str, str]] = []
    truth: list[str] = []

    def para(text: str) -> None:
        parts.append((f"<p>{html.escape(text)}</p>", "p"))
        truth.append(text)

    def table(rows: list[tuple[str, str]]) -> None:
        markup = "<table border='1'>" + "".join(h for h, _ in rows) + "</table>"
        parts.append((markup, "t"))
        truth.extend(_grid_lines(markup))

    for text in data["before"]:
        para(text)
    t2 = [
        ("第二十条第（一）项", []),
        ("信息内容", ["本年制发件数", "本年废止件数", "现行有效件数"]),
        ("规章", ["0", "0", "0"]),
        ("行政规范性文件", ["1", "0", "3"]),
        ("第二十条第（五）项", []),
        ("信息内容", ["本年处理决定数量"]),
        ("行政许可", ["27"]),
        ("第二十条第（六）项", []),
        ("信息内容", ["本年处理决定数量"]),
        ("行政处罚", ["4"]),
        ("行政强制", ["0"]),
        ("第二十条第（八）项", []),
        ("信息内容", ["本年收费金额（单位：万元）"]),
        ("行政事业性收费", ["0"]),
    ]
    table([_row([a, *b], {0: " colspan='4'"} if not b else None) for a, b in t2])
    para(data["mid3"])
    header = [
        _row(
            ["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "申请人情况"],
            {0: " rowspan='3' colspan='3'", 1: " colspan='7'"},
        ),
        _row(
            ["自然人", "法人或其他组织", "总计"],
            {0: " rowspan='2'", 1: " colspan='5'", 2: " rowspan='2'"},
        ),
        _row(["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"]),
    ]
    body = [
        _row([label, *(str(v) for v in _T3_VALUES.get(label, [0] * 7))])
        if label != "三、本年度办理结果"
        else _row([label])
        for label in _T3_ROWS
    ]
    table(header + body)
    para(data["mid4"])
    t4 = [
        _row(["行政复议", "行政诉讼"], {0: " colspan='5'", 1: " colspan='10'"}),
        _row(
            [
                "结果维持",
                "结果纠正",
                "其他结果",
                "尚未审结",
                "总计",
                "未经复议直接起诉",
                "复议后起诉",
            ],
            {i: " rowspan='2'" for i in range(5)} | {5: " colspan='5'", 6: " colspan='5'"},
        ),
        _row(["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"] * 2),
        _row(["0"] * 15),
    ]
    table(t4)
    for text in data["after"]:
        para(text)
    return data["title"], truth, parts


def new_format_pages() -> list[GoldPage]:
    """The 2021-format report in the TRS and farm templates (tables inline, as portals do)."""
    title, truth, parts = new_format_report()
    _, heldout = unrelated()
    pages = []
    for tname in ("trs", "farm", "legacy"):
        builder, encoding, header, _ = TEMPLATES[tname]
        html_parts = [h for h, _ in parts]
        rng = random.Random(f"new-{tname}")
        picks = rng.sample([t for ts in heldout.values() for t in ts], 2)
        injected: list[str] = []
        if tname != "trs":  # one at the top, one between two prose paragraphs
            html_parts.insert(0, f"<p>{picks[0]}</p>")
            html_parts.insert(4, f"<p>{picks[1]}</p>")
            injected = picks
        seed = Seed("new", title, [], truth, html="\n".join(html_parts))
        markup, markers = builder(seed, [], title, "2021")
        pages.append(
            GoldPage(
                name=f"new-hans-{tname}",
                template=tname,
                seed="new",
                body=markup.encode(encoding),
                content_type="text/html" + (f"; charset={header}" if header else ""),
                charset=header,
                url=f"http://www.example.gov.cn/zwgk/ndbg/new-{tname}.html",
                title=title,
                truth=truth,
                injected=injected,
                heldout=list(injected),
                markers=[*markers, *COMMON_MARKERS] if tname != "farm" else markers,
            )
        )
    return pages
