"""Archived text on a terminal: no control sequences, no bidi tricks.

Archived pages are hostile input. Printed raw, ``ESC ] 52`` writes the reader's clipboard,
``ESC ] 0`` retitles the window, ``CR`` or CSI sequences overwrite what was printed, and
bidi overrides (U+202E …) make a line read differently from what it holds. Every such
character is shown as a ``\\uXXXX`` escape instead: visible, and inside a JSON string the
very same string (so ``--json`` output stays exact). Newlines and tabs pass.
"""

from __future__ import annotations

import io
from typing import Any

_BIDI = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_UNSAFE = [c for c in range(0x20) if c not in (0x09, 0x0A)] + [0x7F, *range(0x80, 0xA0), *_BIDI]
TABLE = {c: f"\\u{c:04x}" for c in _UNSAFE}


def escape(text: str) -> str:
    """``text`` with every control character and bidi control as a visible escape."""
    return text.translate(TABLE)


class SafeWriter(io.TextIOWrapper):
    """A text stream over the same bytes as ``stream`` that escapes what it is given."""

    def __init__(self, stream: Any) -> None:
        super().__init__(
            stream.buffer,
            encoding=stream.encoding,
            errors=stream.errors,
            line_buffering=True,
            write_through=True,
        )
        self.original = stream  # kept: collecting it would close the shared buffer

    def write(self, s: str) -> int:
        return super().write(escape(s))
