"""Bytes → str for HTML and plain text, the way Chinese portals actually encode them.

What portals send, and what we do about it:

* a BOM (UTF-8 or UTF-16): it wins over any declaration, as in browsers;
* GB2312 declared, GBK/GB18030 bytes (〇, 镕, 堃 are outside GB2312): every GB name is
  widened to GB18030, the superset, so those characters decode;
* GB2312 declared, UTF-8 bytes (people.com.cn): valid UTF-8 is self-validating, so bytes
  that decode strictly as UTF-8 are UTF-8, whatever the page says;
* UTF-8 declared, GBK bytes (old pages re-served by a new CMS): the declaration fails
  strict decoding and the next candidate is tried;
* nothing declared: charset-normalizer chooses between GB18030 and Big5 (its unrestricted
  guess calls short Chinese text UTF-16), with GB18030 the default for a .gov.cn page;
* ``ISO-8859-1``/``ASCII`` in an HTTP header is a server default, not a statement about the
  page: it is tried last, never before a CJK encoding that decodes the bytes;
* a page mixing encodings line by line (a UTF-8 template around a GBK body pasted from an
  old database) is decoded line by line;
* bytes no candidate can decode (a lone lead byte a broken escaper left) are dropped, not
  replaced by U+FFFD, and each one is reported with its offset in :attr:`Decoded.dropped`.

The raw bytes are never changed: the archive stores them as captured.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from charset_normalizer import from_bytes
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding

# Any charset= in a <meta>, for pages w3lib's WHATWG prescan passes over (a content
# attribute without the http-equiv pragma); read only outside comments.
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_COMMENT = re.compile(rb"<!--.*?(?:-->|$)", re.S)
_WIDEN = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "hz": "gb18030",
    "big5": "big5hkscs",
    "cp950": "big5hkscs",
    "ascii": "utf-8",
    "us-ascii": "utf-8",
    "iso8859-1": "cp1252",
    "latin-1": "cp1252",
}
# Declarations that servers send by default and that decode any byte string "cleanly".
_WEAK = {"cp1252"}
# What a Chinese page without a declaration can be; UTF-16 needs a BOM on the web.
_UNDECLARED = ["gb18030", "big5hkscs"]
MAX_REPORTED = 20  # dropped-byte positions kept for the error line


@dataclass
class Decoded:
    """The text, the encoding that produced it, and what could not be decoded."""

    text: str
    encoding: str
    dropped: list[tuple[int, str]] = field(default_factory=list)  # (offset, hex bytes)
    dropped_count: int = 0

    @property
    def replaced(self) -> int:
        """Undecodable byte sequences (kept for callers of the first slice's API)."""
        return self.dropped_count

    def error_line(self) -> str | None:
        """A log/error line naming what was dropped, or None when nothing was."""
        if not self.dropped_count:
            return None
        where = ", ".join(f"@{off}:{hx}" for off, hx in self.dropped[:5])
        return (
            f"decode: {self.dropped_count} undecodable byte sequence(s) dropped as "
            f"{self.encoding} ({where}); raw bytes kept"
        )


def canonical(name: str | None) -> str | None:
    """Python's codec name for a declared charset, widened to its superset; None if unknown."""
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    if name in _WIDEN:
        return _WIDEN[name]
    try:
        name = codecs.lookup(name).name
    except LookupError:
        return None
    return _WIDEN.get(name, name)


def declared_in_markup(body: bytes) -> str | None:
    """The codec a page's own <meta> (or XML declaration) names, first 4 KB as browsers do.

    w3lib's prescan skips comments, so a commented-out ``<!-- <meta charset="big5"> -->``
    left above the real ``<meta charset="gb2312">`` does not turn the page into Big5
    mojibake. A ``charset=`` in a meta without the pragma is still taken, after that.
    """
    if name := html_body_declared_encoding(body):
        return name
    match = _META_CHARSET.search(_COMMENT.sub(b"", body[:4096]))
    return match.group(1).decode("ascii", "ignore") if match else None


def _strict(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _guess_undeclared(body: bytes) -> list[str]:
    """GB18030 vs Big5 for a page that names no charset, most likely first."""
    best = from_bytes(body, cp_isolation=_UNDECLARED).best()
    guess = canonical(best.encoding) if best else None
    non_ascii = sum(b > 0x7F for b in body[:4096])
    # Below a dozen CJK characters the detector's Big5 verdict is a coin toss.
    if guess and guess != "gb18030" and non_ascii >= 24:
        return [guess, "gb18030"]
    return ["gb18030", "big5hkscs"]


def _decode_dropping(data: bytes, encoding: str, base: int, out: Decoded) -> str:
    """Decode, dropping (and recording) each undecodable sequence instead of U+FFFD."""
    parts: list[str] = []
    pos = 0
    while pos < len(data):
        try:
            parts.append(data[pos:].decode(encoding))
            break
        except UnicodeDecodeError as exc:
            parts.append(data[pos : pos + exc.start].decode(encoding))
            bad = data[pos + exc.start : pos + exc.end]
            if len(out.dropped) < MAX_REPORTED:
                out.dropped.append((base + pos + exc.start, bad.hex()))
            out.dropped_count += 1
            pos += exc.end
    return "".join(parts)


def _by_line(body: bytes, candidates: list[str], primary: str, out: Decoded) -> set[str]:
    """Each line in the first candidate that decodes it, else in ``primary``, dropping.

    Fills ``out.text``; returns the encodings used by lines that are not plain ASCII.
    """
    parts: list[str] = []
    used: set[str] = set()
    offset = 0
    for line in body.splitlines(keepends=True):
        if _strict(line, "utf-8") is None and _mostly_utf8(line, 4, 4):
            parts.append(_decode_dropping(line, "utf-8", offset, out))  # a stray byte
            used.add("utf-8")
            offset += len(line)
            continue
        for enc in candidates:
            text = _strict(line, enc)
            if text is not None:
                parts.append(text)
                if not line.isascii():
                    used.add(enc)
                break
        else:
            parts.append(_decode_dropping(line, primary, offset, out))
            used.add(primary)
        offset += len(line)
    out.text = "".join(parts)
    return used


_CJK = {"big5", "big5hkscs", "gb2312", "gbk", "gb18030", "euc-jp", "shift_jis", "euc-kr"}
_STRAY_RATIO = 8  # at least this many good non-ASCII characters per undecodable sequence
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _mostly_utf8(data: bytes, min_good: int = 16, ratio: int = _STRAY_RATIO) -> bool:
    """UTF-8 with local damage (a stray byte, a cut sequence)?

    GBK or Big5 text read as UTF-8 fails at almost every character; real UTF-8 with a
    damaged byte fails once or twice among many good multi-byte characters.
    """
    if data.isascii():
        return False
    # Counted in C (a GBK page read as UTF-8 fails at every character: dropping them one
    # by one in Python took 40 ms a page): "replace" puts one U+FFFD where
    # _decode_dropping drops one sequence, and an U+FFFD the page itself holds is the only
    # other one (EF BF BD cannot be swallowed by a neighbouring sequence).
    text = data.decode("utf-8", "replace")
    dropped = text.count("\ufffd") - data.count(b"\xef\xbf\xbd")
    good = len(text) - len(text.encode("ascii", "ignore")) - dropped
    return good >= min_good and dropped <= max(1, good // ratio)


def decode(body: bytes, declared: str | None = None, known: str | None = None) -> Decoded:
    """Decode ``body``; ``declared`` is the HTTP header charset if the server sent one.

    ``known``: the encoding this function found for the same ``body`` and ``declared``
    before (the crawl's spider looks first; the cleaning worker need not look again: the
    detection was 5 % of cleaning a GBK page). One encoding that decodes the bytes strictly
    is the answer the full look would give; anything else (a mix, a BOM, bytes that do not
    fit it) takes the full look.
    """
    if known and "+" not in known and not body.startswith(_BOMS):
        text = _strict(body, known)
        if text is not None:
            return Decoded(text, known)
    for bom, enc in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if body.startswith(bom):
            out = Decoded("", f"{enc}-bom" if enc == "utf-8" else enc)
            out.text = _decode_dropping(body[len(bom) :], enc, len(bom), out)
            return out
    # UTF-8 is self-validating, and it is the first candidate whatever the page and the
    # server declare (below): bytes that decode strictly as UTF-8 are read as UTF-8, so
    # the declarations, the detector and the stray-byte count are not needed for them.
    text = _strict(body, "utf-8")
    if text is not None:
        return Decoded(text, "utf-8")
    strong: list[str] = []
    weak: list[str] = []
    # The page's own declaration first: portal servers often send a default header charset.
    for name in (declared_in_markup(body), declared):
        named = canonical(name)
        if named is None or named in strong or named in weak:
            continue
        (weak if named in _WEAK else strong).append(named)
    if not strong:
        strong = _guess_undeclared(body)
    elif (
        strong[0].startswith("big5")
        and declared_in_markup(body) is None
        and sum(b > 0x7F for b in body[:4096]) >= 24
    ):
        # Only the server's header says Big5, and GBK bytes decode "as Big5" into
        # mojibake without an error: let the detector choose between the two.
        strong = list(dict.fromkeys([*_guess_undeclared(body), *strong]))
    # UTF-8 is self-validating: bytes that decode strictly as UTF-8 are UTF-8, and so are
    # bytes that do but for a few stray ones (GB18030 would take them all, as mojibake).
    candidates = ["utf-8", *[e for e in strong if e != "utf-8"], *weak]
    if "gb18030" not in candidates and any(e in _CJK for e in strong):
        candidates.append("gb18030")  # a wrong CJK label (big5 on GBK bytes) is common
    whole = ["utf-8"] if _mostly_utf8(body) else candidates
    for enc in whole:
        text = _strict(body, enc)
        if text is not None:
            return Decoded(text, enc)
    # No single encoding fits: line by line, UTF-8 where it fits, else the first CJK guess.
    primary = next((e for e in strong if e != "utf-8"), "gb18030")
    out = Decoded("", primary)
    used = _by_line(
        body, ["utf-8", primary, *[e for e in strong if e not in ("utf-8", primary)]], primary, out
    )
    if used:  # what the lines were actually read as (one stray byte: still utf-8)
        out.encoding = "+".join(sorted(used))
    return out


def charset_of(content_type: str | None) -> str | None:
    """The codec a Content-Type header value's ``charset=`` names (w3lib's parsing), if any.

    An ISO-8859-1 header comes back as cp1252, which :func:`decode` treats as weak.
    """
    return http_content_type_encoding(content_type)


def scrapy_codec(found: str) -> str:
    """One codec for a whole response, for Scrapy's ``TextResponse.replace(encoding=...)``,
    from what :func:`decode` found (``found``).

    Scrapy (w3lib) trusts the declaration, so a GB2312-declared UTF-8 page turns into
    mojibake before the spider's pre-filter reads it. Mixed pages get their main encoding.
    """
    return "utf-8-sig" if found == "utf-8-bom" else found.split("+")[0]
