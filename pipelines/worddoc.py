"""Text out of legacy Word 97–2003 (.doc) and Kingsoft WPS (.wps) files.

Why hand-written: PyPI has no maintained pure-Python reader for the Word binary format —
textract and the antiword wrappers shell out to antiword, which has no CJK support, and a
LibreOffice dependency is out of proportion for one format. The container is an OLE2
compound file, opened with ``olefile`` (maintained; oletools is built on it); the text is
then read the documented way ([MS-DOC] 2.4.1 "Retrieving Text"): the FIB at the start of the
``WordDocument`` stream names the table stream (``0Table``/``1Table``) and the Clx in it,
whose piece table maps character positions to byte ranges, each piece either 8-bit
(cp1252) or UTF-16LE. Only the main document (the first ``ccpText`` characters) is read:
footnotes, headers and text boxes follow it.

WPS Office saves ``.wps`` (2005 and later) in the same structure. A compound file without
a usable piece table (older WPS, damaged files) falls back to the UTF-16 text runs found in
its streams, and the caller flags the result ``heuristic_text``.
"""

from __future__ import annotations

import re
import struct

from nianbao.pipelines.grid import join_lines

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_FIB_IDENT = 0xA5EC
_NFIB_WORD97 = 0x00C1
_RUN = re.compile(
    r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef0-9A-Za-z，。、；：？！（）《》“”\s.,%-]{12,}"
)


class DocFormatError(ValueError):
    """The file is not a Word binary document we can read; the message says why."""


def _u16(data: bytes, off: int) -> int:
    return int(struct.unpack_from("<H", data, off)[0])


def _u32(data: bytes, off: int) -> int:
    return int(struct.unpack_from("<I", data, off)[0])


def _pieces(clx: bytes) -> list[tuple[int, int, int, bool]]:
    """(cp_start, cp_end, byte offset, compressed) for each piece of the Clx's PlcPcd."""
    i = 0
    while i < len(clx) and clx[i] == 0x01:  # Prc: property modifiers, skipped
        i += 3 + _u16(clx, i + 1)
    if i >= len(clx) or clx[i] != 0x02:
        raise DocFormatError("piece table (Pcdt) not found in the Clx")
    lcb = _u32(clx, i + 1)
    plc = clx[i + 5 : i + 5 + lcb]
    n = (lcb - 4) // 12
    if n <= 0 or len(plc) < lcb:
        raise DocFormatError("piece table is empty or truncated")
    cps = [_u32(plc, 4 * k) for k in range(n + 1)]
    out = []
    for k in range(n):
        fc_raw = _u32(plc, 4 * (n + 1) + 8 * k + 2)
        compressed = bool(fc_raw & 0x40000000)
        fc = fc_raw & 0x3FFFFFFF
        out.append((cps[k], cps[k + 1], fc // 2 if compressed else fc, compressed))
    return out


def _strip_fields(text: str) -> str:
    """Drop field codes (between \\x13 and \\x14), keep field results (up to \\x15)."""
    out: list[str] = []
    depth_code: list[bool] = []  # per open field: still in its code part?
    for ch in text:
        if ch == "\x13":
            depth_code.append(True)
        elif ch == "\x14":
            if depth_code:
                depth_code[-1] = False
        elif ch == "\x15":
            if depth_code:
                depth_code.pop()
        elif not any(depth_code):
            out.append(ch)
    return "".join(out)


# A label wrapped inside a cell: every paragraph short (narrow columns wrap every few chars).
_WRAPPED_PIECE = 12


def _join_cell_paragraphs(text: str) -> str:
    """Keep a table cell's paragraphs on its row (``三、本\r年度办\r理结果\x07``).

    A cell ends with \x07 and a row with one more (the row mark). The text between two
    cell marks is one cell, so its paragraphs are joined. The first cell of a row follows a
    row mark, where the paragraphs after a table also begin: that text is joined only when
    every piece of it is short, as a wrapped label is.
    """
    parts = text.split("\x07")
    for i in range(1, len(parts) - 1):
        cell = parts[i]
        if "\r" not in cell.strip("\r"):
            continue
        pieces = [p for p in cell.split("\r") if p.strip()]
        after_row_mark = i >= 2 and parts[i - 1] == "" or cell.startswith("\r")
        if after_row_mark and any(len(p.strip()) > _WRAPPED_PIECE for p in pieces):
            continue
        parts[i] = join_lines(pieces)
    return "\x07".join(parts)


def _to_lines(text: str) -> list[str]:
    text = _strip_fields(text)
    # Table cells end in \x07; a row ends with one more \x07 (the row mark).
    text = _join_cell_paragraphs(text.replace("\x07\r", "\x07"))
    text = text.replace("\x07\x07", "\n").replace("\x07", " | ")
    for ch, rep in (("\r", "\n"), ("\x0b", "\n"), ("\x0c", "\n"), ("\x1e", "-"), ("\xa0", " ")):
        text = text.replace(ch, rep)
    text = re.sub(r"[\x00-\x08\x0e-\x1f\x1f]", "", text)
    return [line.strip(" |") for line in text.split("\n") if line.strip(" |")]


def _piece_text(ole: object, wd: bytes) -> str:
    flags = _u16(wd, 0x0A)
    if flags & 0x0100:
        raise DocFormatError("the document is encrypted (password-protected)")
    table = "1Table" if flags & 0x0200 else "0Table"
    if not ole.exists(table):  # type: ignore[attr-defined]
        raise DocFormatError(f"table stream {table} is missing")
    tbl = ole.openstream(table).read()  # type: ignore[attr-defined]
    ccp_text = _u32(wd, 0x4C)
    fc_clx, lcb_clx = _u32(wd, 0x1A2), _u32(wd, 0x1A6)
    if fc_clx + lcb_clx > len(tbl) or lcb_clx == 0:
        raise DocFormatError("the Clx lies outside the table stream")
    parts: list[str] = []
    for cp_start, cp_end, offset, compressed in _pieces(tbl[fc_clx : fc_clx + lcb_clx]):
        n = cp_end - cp_start
        if compressed:
            parts.append(wd[offset : offset + n].decode("cp1252", "replace"))
        else:
            parts.append(wd[offset : offset + 2 * n].decode("utf-16-le", "replace"))
    return "".join(parts)[:ccp_text]


def _text_runs(ole: object) -> str:
    """Fallback: UTF-16LE runs of readable text in any stream of the compound file."""
    runs: list[str] = []
    for path in ole.listdir():  # type: ignore[attr-defined]
        data = ole.openstream(path).read()  # type: ignore[attr-defined]
        for start in (0, 1):
            chunk = data[start : len(data) - ((len(data) - start) % 2)]
            runs.extend(m.group(0) for m in _RUN.finditer(chunk.decode("utf-16-le", "ignore")))
    return "\n".join(r for r in runs if re.search(r"[\u4e00-\u9fff]", r))


def doc_lines(data: bytes) -> tuple[list[str], bool]:
    """The document's lines, and whether they came from the heuristic fallback."""
    import olefile

    if not data.startswith(OLE_MAGIC):
        raise DocFormatError("not an OLE2 compound file (an old WPS format, or not Word at all)")
    try:
        ole = olefile.OleFileIO(data)
    except OSError as exc:  # olefile raises OSError subclasses on broken containers
        raise DocFormatError(f"broken compound file ({exc})") from exc
    with ole:
        wd = ole.openstream("WordDocument").read() if ole.exists("WordDocument") else b""
        if len(wd) >= 0x1AA and _u16(wd, 0) == _FIB_IDENT:
            if _u16(wd, 2) < _NFIB_WORD97:
                # Word 6/95 keep text in the ANSI code page and have another FIB layout.
                raise DocFormatError(f"Word 6/95 format (nFib {_u16(wd, 2):#x}) is not supported")
            text = _piece_text(ole, wd)
            if "\ufffd" in text:
                text = text.replace("\ufffd", "")
            return _to_lines(text), False
        lines = _to_lines(_text_runs(ole))
        if not lines:
            raise DocFormatError("no WordDocument stream and no readable text in any stream")
        return lines, True
