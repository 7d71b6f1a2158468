"""The rules a report's figures must obey, as data, and the check that applies them.

Each :class:`Rule` says which cells must add up to which, and the formats (report-table
formats, see :mod:`pipelines.figures`) it belongs to. For the 2021 format there are 42
within-report equalities: for each of the 7 columns of 表三, 一 + 二 = （七）总计 + 四 and
（七）总计 = the sum of its leaf rows (14); for each of the 25 rows, 总计 = 自然人 + the five
法人或其他组织 columns (25); and in 表四, 总计 = 结果维持 + 结果纠正 + 其他结果 + 尚未审结 for
行政复议 and both 行政诉讼 groups (3). Across years: last year's 四、结转下年度继续办理 = this
year's 二、上年结转 (per column of 表三), and 表二's 现行有效件数 = last year's + 本年制发 − 本年废止.
Against the text: a figure the prose states for
新收 applications, 行政复议 or 行政诉讼 equals the table's. A rule whose cells are not all reported (blank) is
not checked, and says so. Pure: no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from nianbao.pipelines import figures as F

Key = tuple[str, str, str]  # (table, row, column)


@dataclass(frozen=True)
class Rule:
    id: str
    formats: tuple[str, ...]
    left: tuple[Key, ...]
    right: tuple[Key, ...]

    def describe(self) -> str:
        def side(keys: tuple[Key, ...]) -> str:
            return " + ".join("/".join(k) for k in keys)

        return f"{side(self.left)} = {side(self.right)}"


@dataclass
class Violation:
    rule: str
    description: str
    cells: list[dict[str, Any]]
    expected: float
    found: float
    formats: tuple[str, ...] = ()
    lines: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "description": self.description,
            "cells": self.cells,
            "expected": F.number_out(self.expected),
            "found": F.number_out(self.found),
            "lines": self.lines,
        }


def _three_rows(fmt: str) -> list[str]:
    return [F.NEW, F.CARRIED, *F.three_leaves(fmt), F.TOTAL, F.CARRY_OVER]


def within_report_rules(fmt: str) -> list[Rule]:
    """The equalities of one report in format ``fmt`` (42 for "2021", 40 for "2019")."""
    formats = (fmt,)
    rules: list[Rule] = []
    for col in F.THREE_COLUMNS:
        rules.append(
            Rule(
                f"三/一+二=七+四/{col}",
                F.BOTH,
                (("三", F.NEW, col), ("三", F.CARRIED, col)),
                (("三", F.TOTAL, col), ("三", F.CARRY_OVER, col)),
            )
        )
        rules.append(
            Rule(
                f"三/七=办理结果之和/{col}",
                formats,
                (("三", F.TOTAL, col),),
                tuple(("三", leaf, col) for leaf in F.three_leaves(fmt)),
            )
        )
    for row in _three_rows(fmt):
        rules.append(
            Rule(
                f"三/总计=各申请人之和/{row}",
                F.BOTH,
                (("三", row, "总计"),),
                tuple(("三", row, c) for c in F.THREE_COLUMNS[:-1]),
            )
        )
    for group in F.FOUR_GROUPS:
        rules.append(
            Rule(
                f"四/总计=四项之和/{group}",
                F.BOTH,
                (("四", group, "总计"),),
                tuple(("四", group, c) for c in F.FOUR_COLUMNS[:-1]),
            )
        )
    return rules


@dataclass
class Outcome:
    format: str | None
    checked: int = 0
    unchecked: list[str] = field(default_factory=list)  # rules with blank cells
    violations: list[Violation] = field(default_factory=list)


def _index(figs: list[F.Figure]) -> dict[Key, F.Figure]:
    return {(f.table, f.row, f.column): f for f in figs}


def _cell(f: F.Figure, prefix: str = "") -> dict[str, Any]:
    return {
        "cell": prefix + f"{f.table}/{f.row}/{f.column}",
        "value": F.number_out(f.value),
        "line": f.line,
    }


def check(figs: list[F.Figure], year: int | None = None, text: str | None = None) -> Outcome:
    """Apply the within-report rules (and text-against-table when ``text`` is given)."""
    fmt = F.detect_format(figs, year)
    out = Outcome(fmt)
    if fmt is None:
        return out
    cells = _index(figs)
    for rule in within_report_rules(fmt):
        keys = rule.left + rule.right
        present = [cells.get(k) for k in keys]
        if any(p is None or p.value is None for p in present):
            out.unchecked.append(rule.id)
            continue
        out.checked += 1
        left = sum(cells[k].value or 0 for k in rule.left)
        right = sum(cells[k].value or 0 for k in rule.right)
        if abs(left - right) > 1e-9:
            involved = [cells[k] for k in keys]
            out.violations.append(
                Violation(
                    rule.id,
                    rule.describe(),
                    [_cell(f) for f in involved],
                    expected=right,
                    found=left,
                    lines=sorted({f.line for f in involved}),
                )
            )
    if text:
        out.violations += text_against_table(text, cells)
    return out


# "收到（政府信息公开）申请 12 件", "新收政府信息公开申请12件", "受理…申请共计12件".
_STATED_NEW = re.compile(
    r"(?:新收|收到|受理)[^。；;，,|]{0,16}?申请[^。；;，,|\d]{0,6}?(\d+)\s*(?:件|条|个)"
)
# "被申请行政复议2件", "行政复议案件1件"; "行政诉讼3件", "提起行政诉讼1件".
_STATED_REVIEW = re.compile(r"行政复议[^。；;，,|\d]{0,6}?(\d+)\s*(?:件|起|宗)")
_STATED_SUIT = re.compile(r"行政诉讼[^。；;，,|\d]{0,6}?(\d+)\s*(?:件|起|宗)")


def _stated(
    text: str, pattern: re.Pattern[str], keys: list[Key], cells: dict[Key, F.Figure], rule: str
) -> list[Violation]:
    found = [cells.get(k) for k in keys]
    if not found or any(f is None or f.value is None for f in found):
        return []
    table = [f for f in found if f is not None]
    total = sum(f.value or 0 for f in table)
    out: list[Violation] = []
    for i, line in enumerate(text.splitlines(), 1):
        if " | " in line:
            continue
        for m in pattern.finditer(line):
            stated = float(m.group(1))
            if stated != total:
                out.append(
                    Violation(
                        rule,
                        f"the text states {m.group(0)!r}; the table says {F.number_out(total)}",
                        [
                            *(_cell(f) for f in table),
                            {"cell": "text", "value": F.number_out(stated), "line": i},
                        ],
                        expected=total,
                        found=stated,
                        lines=[i, *(f.line for f in table)],
                    )
                )
    return out


def text_against_table(text: str, cells: dict[Key, F.Figure]) -> list[Violation]:
    """Figures the prose states against the table: 新收 applications (表三 一、本年新收/总计),
    行政复议 (表四 行政复议/总计) and 行政诉讼 (the two 行政诉讼 总计 together)."""
    return (
        _stated(text, _STATED_NEW, [("三", F.NEW, "总计")], cells, "文字=表三/本年新收/总计")
        + _stated(
            text, _STATED_REVIEW, [("四", "行政复议", "总计")], cells, "文字=表四/行政复议/总计"
        )
        + _stated(
            text,
            _STATED_SUIT,
            [("四", "行政诉讼/未经复议直接起诉", "总计"), ("四", "行政诉讼/复议后起诉", "总计")],
            cells,
            "文字=表四/行政诉讼/总计",
        )
    )


def across_years(previous: list[F.Figure], current: list[F.Figure]) -> list[Violation]:
    """Last year's 四、结转下年度继续办理 = this year's 二、上年结转, per column of 表三; and 表二's
    现行有效件数 = last year's + 本年制发件数 − 本年废止件数 (规章, 行政规范性文件)."""
    prev, cur = _index(previous), _index(current)
    out: list[Violation] = []
    for col in F.THREE_COLUMNS:
        a, b = prev.get(("三", F.CARRY_OVER, col)), cur.get(("三", F.CARRIED, col))
        if a is None or b is None or a.value is None or b.value is None:
            continue
        if a.value != b.value:
            out.append(
                Violation(
                    f"跨年/上年结转=去年结转下年度/{col}",
                    "last year's 四、结转下年度继续办理 = this year's 二、上年结转",
                    [_cell(a, "去年:"), _cell(b)],
                    expected=a.value,
                    found=b.value,
                    lines=[b.line],
                )
            )
    # 表二 (2021 format): 现行有效件数 = last year's + 本年制发件数 − 本年废止件数.
    for row in ("规章", "行政规范性文件"):
        before = prev.get(("二", row, "现行有效件数"))
        made, repealed, now = (cur.get(("二", row, c)) for c in F.TWO_COLUMNS_2021[:3])
        cells = [before, made, repealed, now]
        if any(c is None or c.value is None for c in cells):
            continue
        assert before and made and repealed and now  # for the type checker
        expected = (before.value or 0) + (made.value or 0) - (repealed.value or 0)
        if expected != now.value:
            out.append(
                Violation(
                    f"跨年/现行有效件数/{row}",
                    "this year's 现行有效件数 = last year's + 本年制发件数 − 本年废止件数",
                    [_cell(before, "去年:"), _cell(made), _cell(repealed), _cell(now)],
                    expected=expected,
                    found=now.value or 0,
                    lines=[now.line],
                )
            )
    return out
