"""The statistics tables of a report as data: clean text → typed cells.

Reads the ``cell | cell`` lines the cleaner leaves (:mod:`pipelines.grid`) and recognises
表二 (主动公开), 表三 (依申请公开) and 表四 (行政复议/行政诉讼) of the 2019 and 2021 formats,
and the pre-2019 统计表 (``统计指标 | 单位 | 统计数``). Row and column labels are mapped to
the standard labels below (each listed with the format years it belongs to), whatever the
page wrote: （一） or (一), wrapped cells, full- or half-width punctuation. A blank cell is
"not reported" (``value`` None), never zero. Pure: no database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

# ---- the standard labels -------------------------------------------------------------------
# Formats: "2019" = 国办公开办函〔2019〕60号 (report years 2019–2020), "2021" = 〔2021〕30号.
BOTH = ("2019", "2021")
THREE_COLUMNS = [
    "自然人",
    "法人或其他组织/商业企业",
    "法人或其他组织/科研机构",
    "法人或其他组织/社会公益组织",
    "法人或其他组织/法律服务机构",
    "法人或其他组织/其他",
    "总计",
]
NEW, CARRIED, TOTAL, CARRY_OVER = (
    "一、本年新收政府信息公开申请数量",
    "二、上年结转政府信息公开申请数量",
    "三、本年度办理结果/（七）总计",
    "四、结转下年度继续办理",
)
# (group label, [(leaf label, stem that identifies it, formats)]); a group without leaves
# is a row itself.
THREE_GROUPS: list[tuple[str, str, list[tuple[str, str, tuple[str, ...]]]]] = [
    ("（一）予以公开", "予以公开", []),
    ("（二）部分公开", "部分公开", []),
    (
        "（三）不予公开",
        "不予公开",
        [
            ("1.属于国家秘密", "国家秘密", BOTH),
            ("2.其他法律行政法规禁止公开", "禁止公开", BOTH),
            ("3.危及“三安全一稳定”", "三安全一稳定", BOTH),
            ("4.保护第三方合法权益", "第三方合法权益", BOTH),
            ("5.属于三类内部事务信息", "内部事务", BOTH),
            ("6.属于四类过程性信息", "过程性信息", BOTH),
            ("7.属于行政执法案卷", "行政执法案卷", BOTH),
            ("8.属于行政查询事项", "行政查询事项", BOTH),
        ],
    ),
    (
        "（四）无法提供",
        "无法提供",
        [
            ("1.本机关不掌握相关政府信息", "不掌握", BOTH),
            ("2.没有现成信息需要另行制作", "另行制作", BOTH),
            ("3.补正后申请内容仍不明确", "仍不明确", BOTH),
        ],
    ),
    (
        "（五）不予处理",
        "不予处理",
        [
            ("1.信访举报投诉类申请", "信访举报投诉", BOTH),
            ("2.重复申请", "重复申请", BOTH),
            ("3.要求提供公开出版物", "公开出版物", BOTH),
            ("4.无正当理由大量反复申请", "大量反复申请", BOTH),
            ("5.要求行政机关确认或重新出具已获取信息", "重新出具", BOTH),
        ],
    ),
    (
        "（六）其他处理",
        "其他处理",
        [
            (
                "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
                "逾期不补正",
                ("2021",),
            ),
            (
                "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
                "缴纳费用",
                ("2021",),
            ),
            ("3.其他", "其他", ("2021",)),
        ],
    ),
]
RESULT = "三、本年度办理结果"
GROUP_ROW = {g: f"{RESULT}/{g}" for g, _s, _l in THREE_GROUPS}


def three_leaves(fmt: str) -> list[str]:
    """The leaf result rows of 表三 whose sum is （七）总计, in the given format."""
    out: list[str] = []
    for group, _stem, leaves in THREE_GROUPS:
        mine = [leaf for leaf, _s, formats in leaves if fmt in formats]
        out += [f"{RESULT}/{group}/{leaf}" for leaf in mine] or [f"{RESULT}/{group}"]
    return out


FOUR_COLUMNS = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
FOUR_GROUPS = ["行政复议", "行政诉讼/未经复议直接起诉", "行政诉讼/复议后起诉"]
FOUR_CELLS = [f"{g}/{c}" for g in FOUR_GROUPS for c in FOUR_COLUMNS]
# 表二: row → its standard label and formats; columns come from the block's 信息内容 header.
TWO_ROWS: list[tuple[str, str, tuple[str, ...]]] = [
    ("规章", "规章", BOTH),
    ("行政规范性文件", "规范性文件", BOTH),
    ("行政许可", "行政许可", BOTH),
    ("其他对外管理服务事项", "其他对外管理服务事项", ("2019",)),
    ("行政处罚", "行政处罚", BOTH),
    ("行政强制", "行政强制", BOTH),
    ("行政事业性收费", "行政事业性收费", BOTH),
    ("政府集中采购", "政府集中采购", ("2019",)),
]
TWO_COLUMNS_2021 = ("本年制发件数", "本年废止件数", "现行有效件数")
TWO_COLUMNS: list[tuple[str, tuple[str, ...]]] = [
    ("本年制发件数", ("2021",)),
    ("本年废止件数", ("2021",)),
    ("现行有效件数", ("2021",)),
    ("本年处理决定数量", ("2021",)),
    ("本年收费金额", ("2021",)),
    ("本年新制作数量", ("2019",)),
    ("本年新公开数量", ("2019",)),
    ("对外公开总数量", ("2019",)),
    ("上一年项目数量", ("2019",)),
    ("本年增/减", ("2019",)),
    ("处理决定数量", ("2019",)),
    ("采购项目数量", ("2019",)),
    ("采购总金额", ("2019",)),
]


@dataclass(frozen=True)
class Figure:
    """One cell of a statistics table. ``value`` None: the cell is blank (not reported)."""

    table: str  # "二", "三", "四" or "统计表"
    row: str
    column: str
    value: float | None
    raw: str
    unit: str | None
    line: int  # 1-based line of the clean text

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["value"] = number_out(self.value)
        return d


def number_out(value: float | None) -> int | float | None:
    return int(value) if value is not None and value == int(value) else value


# ---- helpers ---------------------------------------------------------------------------------
_BLANK = {"", "-", "—", "——", "/", "／", "无", "空", "－"}
_NUM = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_PUNCT = re.compile(r"[\s\W_]+")


def norm(label: str) -> str:
    """A label for matching: NFKC, no spaces or punctuation, numbering kept as digits/CJK."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", label))


def parse_value(cell: str) -> tuple[float | None, bool]:
    """(value, is_cell_a_number_or_blank). ``1,260`` → 1260; ``—`` → None."""
    text = unicodedata.normalize("NFKC", cell).strip().replace(",", "")
    text = re.sub(r"\s*(件|条|个|项|次|万元|元)$", "", text)
    if text in _BLANK:
        return None, True
    if _NUM.match(text):
        return float(text), True
    return None, False


def _is_value(cell: str) -> bool:
    return parse_value(cell)[1]


def _split(line: str) -> list[str] | None:
    if " | " not in line and not line.endswith(" |"):
        return None
    return [c.strip() for c in line.split("|")]


def _three_column(label: str) -> str | None:
    n = norm(label)
    for col in THREE_COLUMNS:
        leaf = col.rsplit("/", 1)[-1]
        if n == norm(leaf):
            return col
    return None


def _three_row(labels: list[str], group: str | None) -> tuple[str | None, str | None]:
    """(standard row, group now in force) for the label cells of a 表三 row."""
    joined = norm("".join(labels))
    if "本年新收" in joined:
        return NEW, None
    if "上年结转" in joined:
        return CARRIED, None
    if "结转下年度" in joined:
        return CARRY_OVER, None
    if "总计" in joined and ("七" in joined or joined.endswith("总计")):
        return TOTAL, None
    last = norm(labels[-1]) if labels else ""
    named = next((g for g, stem, _l in THREE_GROUPS if stem in joined), None)
    group = named or group
    if group is None:
        return None, None
    stem, leaves = next((stem, leaves) for g, stem, leaves in THREE_GROUPS if g == group)
    rest = last.replace(stem, "")
    for leaf, leaf_stem, _f in leaves:
        if leaf_stem in rest:
            return f"{RESULT}/{group}/{leaf}", group
    if named:  # the group's own row: a leaf in itself (（一）, （二）, 2019's （六）) or a subtotal
        return GROUP_ROW[group], group
    return None, group


# ---- the parser ------------------------------------------------------------------------------
def parse(text: str) -> list[Figure]:
    """Every recognised table cell in ``text``, in order."""
    lines = text.splitlines()
    out: list[Figure] = []
    three_cols: list[str | None] | None = None  # column labels of 表三, right-aligned
    group: str | None = None
    two_header: list[str] | None = None
    four_header_seen = False
    stats = False
    for i, line in enumerate(lines, 1):
        cells = _split(line)
        if cells is None:
            if "行政复议" in line and "行政诉讼" in line:
                four_header_seen = True
            continue
        labels = [c for c in cells if not _is_value(c)]
        # 表三 header: the row naming the most applicant columns.
        cols = [_three_column(c) for c in cells]
        if sum(1 for c in cols if c) >= 2:
            start = next(k for k, c in enumerate(cols) if c)
            named = cols[start:]
            if three_cols is None or sum(1 for c in named if c) >= sum(1 for c in three_cols if c):
                three_cols = named
            continue
        # 表四 header rows and the data row after them.
        if any(norm(c) in ("结果维持", "行政复议") for c in cells):
            four_header_seen = True
            continue
        if four_header_seen and len(cells) >= 15 and all(_is_value(c) for c in cells[-15:]):
            for label, raw in zip(FOUR_CELLS, cells[-15:], strict=True):
                g, col = label.rsplit("/", 1)
                out.append(Figure("四", g, col, parse_value(raw)[0], raw, "件", i))
            four_header_seen = False
            continue
        # 表二: "信息内容 | header…" then rows.
        if cells and norm(cells[0]) == "信息内容":
            two_header = cells[1:]
            continue
        if two_header is not None and cells:
            two_row = next(
                (std for std, stem, _f in TWO_ROWS if norm(cells[0]).endswith(stem)), None
            )
            if two_row:
                for head, raw in zip(two_header, cells[1:], strict=False):
                    two_col = next((c for c, _f in TWO_COLUMNS if norm(c) in norm(head)), None)
                    if two_col is None:
                        continue
                    unit = "万元" if "万元" in head or two_col == "采购总金额" else "件"
                    out.append(Figure("二", two_row, two_col, parse_value(raw)[0], raw, unit, i))
                continue
        # pre-2019 统计表
        if [norm(c) for c in cells[:3]] == ["统计指标", "单位", "统计数"]:
            stats = True
            continue
        if stats and len(cells) == 3 and cells[0] and _is_value(cells[2]) and any(cells[1:]):
            out.append(
                Figure(
                    "统计表",
                    cells[0],
                    "统计数",
                    parse_value(cells[2])[0],
                    cells[2],
                    cells[1] or None,
                    i,
                )
            )
            continue
        # 表三 rows
        if three_cols is not None and labels:
            n = len(three_cols)
            if len(cells) < n + 1:
                continue
            row_labels = [c for c in cells[:-n] if c]
            tail = cells[-n:]
            if not all(_is_value(c) for c in tail):
                continue
            row, group = _three_row(row_labels, group)
            if row is None:
                continue
            for three_col, raw in zip(three_cols, tail, strict=True):
                if three_col:
                    out.append(Figure("三", row, three_col, parse_value(raw)[0], raw, "件", i))
            if row == CARRY_OVER:
                three_cols, group = None, None
    return out


def detect_format(figures: list[Figure], year: int | None = None) -> str | None:
    """ "2021", "2019" or None (no 表三): by the rows present, else by the report year."""
    rows = {f.row for f in figures if f.table == "三"}
    if not rows:
        return None
    if any(r.startswith(GROUP_ROW["（六）其他处理"] + "/") for r in rows):
        return "2021"
    if GROUP_ROW["（六）其他处理"] in rows:
        return "2019"
    cols = {f.column for f in figures if f.table == "二"}
    if cols & {"本年制发件数", "本年处理决定数量", "本年收费金额"}:
        return "2021"
    if cols & {"本年新制作数量", "上一年项目数量"}:
        return "2019"
    if year is not None:
        return "2021" if year >= 2021 else "2019"
    return "2021"
