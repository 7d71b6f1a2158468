"""Terminal output that lines up with Chinese text: widths in cells, not characters.

A CJK character takes two cells on a terminal (East Asian Wide), so padding with
``f"{organ:<8}"`` misaligns every column after an organ name. :func:`width` counts cells
as terminals do (``wcwidth``), and :func:`columns` pads by it.
"""

from __future__ import annotations

from collections.abc import Sequence

from wcwidth import wcswidth, wcwidth


def width(text: str) -> int:
    """Cells ``text`` takes on a terminal; non-printable characters count 0."""
    cells = wcswidth(text)
    if cells >= 0:
        return int(cells)
    return sum(max(int(wcwidth(c)), 0) for c in text)


def pad(text: str, cells: int, align: str = "<") -> str:
    fill = " " * max(cells - width(text), 0)
    return fill + text if align == ">" else text + fill


def cut(text: str, cells: int) -> str:
    """``text`` cut to at most ``cells`` cells, with "…" when cut."""
    if width(text) <= cells:
        return text
    out, used = [], 0
    for c in text:
        w = max(int(wcwidth(c)), 0)
        if used + w > cells - 1:
            break
        out.append(c)
        used += w
    return "".join(out) + "…"


def columns(rows: Sequence[Sequence[str]], align: str = "", gap: str = "  ") -> list[str]:
    """Rows of cells as lines, each column padded to its widest cell (the last never).

    ``align`` has one character per column, ``<`` or ``>`` (default ``<``).
    """
    if not rows:
        return []
    n = max(len(r) for r in rows)
    widths = [max((width(r[i]) for r in rows if i < len(r)), default=0) for i in range(n)]
    lines = []
    for row in rows:
        cells = [
            cell if i == len(row) - 1 else pad(cell, widths[i], align[i] if i < len(align) else "<")
            for i, cell in enumerate(row)
        ]
        lines.append(gap.join(cells).rstrip())
    return lines
