"""Character-level diffs of two versions' texts, for the CLI ``diff`` and the web view.

Chinese has no spaces, so a word diff is no help and a line diff marks a whole paragraph
for a one-character edit (纪委 → 纪检). Lines are matched first (:class:`difflib.
SequenceMatcher` over lines); inside each block of changed lines the characters are
matched, so only the characters that changed are marked.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from nianbao.models import queries
from nianbao.models.tables import Version
from nianbao.pipelines.terminal import escape

CONTEXT = 3  # unchanged lines shown around a change, as `diff -u`
MAX_CHAR_BLOCK = (
    20_000  # changed blocks longer than this are marked whole (SequenceMatcher is quadratic)
)


@dataclass(frozen=True)
class Change:
    """One edit: ``a[a_start:a_end]`` became ``b[b_start:b_end]`` (character offsets)."""

    op: str  # "replace", "delete", "insert"
    a_start: int
    a_end: int
    b_start: int
    b_end: int
    a_text: str
    b_text: str
    a_line: int  # 1-based line of a_start in A (of b_start in B for b_line)
    b_line: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _split(text: str) -> list[str]:
    """Lines ending in their "\\n" (only "\\n" separates lines, here and in :func:`marked`)."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def _lines(text: str) -> tuple[list[str], list[int]]:
    lines = _split(text)
    starts, pos = [], 0
    for line in lines:
        starts.append(pos)
        pos += len(line)
    starts.append(pos)
    return lines, starts


def _line_ops(la: list[str], lb: list[str]) -> list[Any]:
    """Lines matched by their text without the "\\n", so a last line without one still
    matches the same line followed by more."""
    keys_a = [line.removesuffix("\n") for line in la]
    keys_b = [line.removesuffix("\n") for line in lb]
    return list(difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False).get_opcodes())


def _char_ops(a: str, b: str) -> list[Any]:
    if len(a) + len(b) > MAX_CHAR_BLOCK:
        return [("replace", 0, len(a), 0, len(b))]
    return list(difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes())


def changes(a: str, b: str) -> list[Change]:
    """Every character-level edit from ``a`` to ``b``, in order."""
    la, sa = _lines(a)
    lb, sb = _lines(b)
    out: list[Change] = []
    for _tag, i1, i2, j1, j2 in _line_ops(la, lb):
        base_a, base_b = sa[i1], sb[j1]
        block_a, block_b = a[base_a : sa[i2]], b[base_b : sb[j2]]
        if block_a == block_b:
            continue  # equal lines (and an equal last line that only gained its "\n")
        for op, x1, x2, y1, y2 in _char_ops(block_a, block_b):
            if op == "equal":
                continue
            out.append(
                Change(
                    op,
                    base_a + x1,
                    base_a + x2,
                    base_b + y1,
                    base_b + y2,
                    block_a[x1:x2],
                    block_b[y1:y2],
                    a.count("\n", 0, base_a + x1) + 1,
                    b.count("\n", 0, base_b + y1) + 1,
                )
            )
    return out


def marked(text: str, spans: list[tuple[int, int]]) -> list[list[tuple[str, bool]]]:
    """``text`` as lines of (segment, changed) runs; ``spans`` are changed character ranges."""
    flags = [False] * len(text)
    for start, end in spans:
        for i in range(start, end):
            flags[i] = True
    lines: list[list[tuple[str, bool]]] = [[]]
    for ch, flag in zip(text, flags, strict=True):
        if ch == "\n":
            lines.append([])
            continue
        runs = lines[-1]
        if runs and runs[-1][1] == flag:
            runs[-1] = (runs[-1][0] + ch, flag)
        else:
            runs.append((ch, flag))
    if text.endswith("\n"):
        lines.pop()
    return lines


def _range(start: int, stop: int) -> str:
    """A unified-diff hunk range, as difflib writes it."""
    length = stop - start
    first = start + 1
    if length == 1:
        return f"{first}"
    if not length:
        first -= 1
    return f"{first},{length}"


def unified(a: str, b: str, from_label: str, to_label: str, colour: bool = False) -> Iterator[str]:
    """A unified diff (unchanged context as ``diff -u``) with its changed characters marked.

    ``colour``: changed characters in reverse video, red or green (a terminal). Otherwise
    each changed line is followed by a guide line as :func:`difflib.ndiff` writes them:
    ``?`` then ``^`` under every changed character, two for a wide (CJK) one, so the
    ``-``/``+`` lines stay exactly those of a plain unified diff.
    """
    edits = changes(a, b)
    a_lines = marked(a, [(c.a_start, c.a_end) for c in edits])
    b_lines = marked(b, [(c.b_start, c.b_end) for c in edits])
    la, lb = _split(a), _split(b)
    keys_a = [line.removesuffix("\n") for line in la]
    keys_b = [line.removesuffix("\n") for line in lb]
    matcher = difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False)
    first = True
    for group in matcher.get_grouped_opcodes(CONTEXT):
        if first:
            yield f"--- {from_label}"
            yield f"+++ {to_label}"
            first = False
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        yield f"@@ -{_range(i1, i2)} +{_range(j1, j2)} @@"
        for tag, x1, x2, y1, y2 in group:
            if tag == "equal":
                for line in la[x1:x2]:
                    text = line.removesuffix("\n")
                    yield " " + (escape(text) if colour else text)
                continue
            for sign, lines in (("-", a_lines[x1:x2]), ("+", b_lines[y1:y2])):
                for runs in lines:
                    yield from _changed_line(sign, runs, colour)


def _changed_line(sign: str, runs: list[tuple[str, bool]], colour: bool) -> Iterator[str]:
    if colour:
        code = "31" if sign == "-" else "32"
        # Written past the terminal-safe stdout (our colour codes must work), so the
        # archived text is escaped here: its own control characters never reach the tty.
        body = "".join(f"\x1b[{code};7m{escape(s)}\x1b[0m" if f else escape(s) for s, f in runs)
        yield f"\x1b[{code}m{sign}\x1b[0m{body}"
        return
    yield sign + "".join(s for s, _ in runs)
    if any(f for _, f in runs) and not all(f for _, f in runs):  # a wholly new line: no guide
        guide = "".join(("^" if f else " ") * width(ch) for s, f in runs for ch in s)
        yield "?" + guide.rstrip()


def width(ch: str) -> int:
    """Terminal columns of one character: 2 for wide and full-width (CJK) ones."""
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


@dataclass(frozen=True)
class VersionPair:
    report_id: int
    a: Version
    b: Version

    def labels(self) -> tuple[str, str]:
        return tuple(  # type: ignore[return-value]
            f"report {self.report_id} version {v.n} ({queries.iso(v.first_seen)})"
            for v in (self.a, self.b)
        )


def pair(
    session: Session,
    report_id: int,
    numbers: list[int],
    moments: list[datetime],
) -> VersionPair:
    """Two versions from version numbers, then ``--as-of`` times, in the order given."""
    chosen = [queries.get_version(session, report_id, n) for n in numbers]
    chosen += [queries.get_version(session, report_id, as_of=m) for m in moments]
    return VersionPair(report_id, chosen[0], chosen[1])


def diff_dict(p: VersionPair) -> dict[str, Any]:
    """The character-level diff as JSON: both versions and every change with its offsets."""
    edits = changes(p.a.text, p.b.text)
    return {
        "report": p.report_id,
        "a": _side(p.a),
        "b": _side(p.b),
        "same_text": p.a.sha256 == p.b.sha256,
        "changes": [c.as_dict() for c in edits],
    }


def _side(v: Version) -> dict[str, Any]:
    return {
        "n": v.n,
        "sha256": v.sha256,
        "first_seen": queries.iso(v.first_seen),
        "last_seen": queries.iso(v.last_seen),
        "chars": len(v.text),
    }
