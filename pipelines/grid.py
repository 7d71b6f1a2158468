"""Table rows on a grid: row and column spans expanded so every row keeps all its columns.

A statistics table (表三 of the 2021 format has three header rows and row labels spanning
up to 25 rows) loses its shape when each ``<tr>`` is read alone: the row after a
``rowspan`` lacks a column and its numbers shift left. Here each cell is placed on a grid;
a cell spanning rows is repeated in every row it covers (so each row keeps its label), and
a cell spanning columns fills its first column and leaves the others empty (a number is
never counted twice). A row ends at its last real cell: the empty columns a span covers at
its end, and columns the row never had, are not written (``行政许可 | 27`` under a colspan,
not ``行政许可 | 27 |  |``); an empty ``<td>`` of its own is kept (a blank value). Used by
HTML extraction and DOCX (``w:gridSpan`` / ``w:vMerge``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Sanity bound: a malformed rowspan="9999" must not build a huge grid.
MAX_SPAN = 200

_CJK_END = re.compile(r"[\u3400-\u9fff（）、，。；：“”《》]$")
_CJK_START = re.compile(r"^[\u3400-\u9fff（）、，。；：“”《》]")


@dataclass(frozen=True)
class Cell:
    text: str
    rowspan: int = 1
    colspan: int = 1


def span(value: object) -> int:
    """A span attribute as an int in 1..MAX_SPAN (``"2"``, ``"2;"``, junk → 1)."""
    match = re.match(r"\s*(\d+)", str(value or ""))
    n = int(match.group(1)) if match else 1
    return min(max(n, 1), MAX_SPAN)


def join_lines(parts: list[str]) -> str:
    """Lines of one cell on one line: a narrow column wraps ``三、本 / 年度办 / 理结果``,
    which is 三、本年度办理结果, and ``2011 / 年度`` (平潭's 统计表), which is 2011年度:
    no space where either side is Chinese; other pieces are joined with a space."""
    out = ""
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if out and not (_CJK_END.search(out) or _CJK_START.search(part)):
            out += " "
        out += part
    return out


def _fill(row: list[str | None], r: int, pending: dict[tuple[int, int], str | None]) -> None:
    """Put the cells carried down into row ``r`` at the columns they hold."""
    while (r, len(row)) in pending:
        row.append(pending.pop((r, len(row))))


def expand(rows: list[list[Cell]]) -> list[list[str]]:
    """Place the cells of each row on a grid (see the module docstring for the ends of rows)."""
    grid: list[list[str | None]] = []
    # (row, col) → text carried down by a rowspan; None: the empty rest of a colspan.
    pending: dict[tuple[int, int], str | None] = {}
    for r, cells in enumerate(rows):
        row: list[str | None] = []
        for cell in cells:
            _fill(row, r, pending)
            col = len(row)
            for c in range(cell.colspan):
                row.append(cell.text if c == 0 else None)
                for below in range(1, min(cell.rowspan, len(rows) - r)):
                    pending[(r + below, col + c)] = cell.text if c == 0 else None
        _fill(row, r, pending)
        # A rowspan may reach past cells the row lacks: fill the gap.
        for (pr, pc), text in sorted(pending.items()):
            if pr == r and pc >= len(row):
                row.extend([None] * (pc - len(row)))
                row.append(text)
                del pending[(pr, pc)]
        while row and row[-1] is None:
            row.pop()
        grid.append(row)
    return [["" if t is None else t for t in row] for row in grid]
