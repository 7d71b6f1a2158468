"""Bytes → str for HTML and plain text, the way Chinese portals actually encode them.

Portals declare GB2312 and send GBK/GB18030 (〇, 镕, 堃 are outside GB2312), declare
nothing, declare GB2312 and send UTF-8, or prefix a BOM. We trust, in order: a BOM, a
declaration that decodes the bytes cleanly (GB2312/GBK widened to GB18030, its superset),
strict UTF-8, then charset-normalizer's guess. Undecodable bytes are replaced, counted
and reported — never silently lost — and the raw bytes stay in the archive.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_WIDEN = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "big5": "big5hkscs",
    "ascii": "utf-8",
    "us-ascii": "utf-8",
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
}


@dataclass
class Decoded:
    text: str
    encoding: str
    replaced: int  # number of U+FFFD the decoder had to insert


def _canonical(name: str | None) -> str | None:
    if not name:
        return None
    try:
        name = codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None
    return _WIDEN.get(name, name)


def declared_in_markup(body: bytes) -> str | None:
    """The charset a page's own <meta> declares, if any (first 4 KB, as browsers do)."""
    match = _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii", "ignore") if match else None


def _strict(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def decode(body: bytes, declared: str | None = None) -> Decoded:
    """Decode ``body``; ``declared`` is the HTTP header charset if the server sent one."""
    if body.startswith(codecs.BOM_UTF8):
        text = body[3:].decode("utf-8", "replace")
        return Decoded(text, "utf-8-sig", text.count("\ufffd"))
    for bom, enc in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if body.startswith(bom):
            text = body[2:].decode(enc, "replace")
            return Decoded(text, enc, text.count("\ufffd"))
    candidates: list[str] = []
    for name in (declared, declared_in_markup(body)):
        enc = _canonical(name)
        if enc and enc not in candidates:
            candidates.append(enc)
    # UTF-8 is self-validating: if the bytes are valid UTF-8 they almost surely are UTF-8,
    # whatever the page declares (people.com.cn declares gb2312 and sends UTF-8).
    for enc in ["utf-8", *candidates]:
        text = _strict(body, enc)
        if text is not None:
            return Decoded(text, enc, 0)
    best = from_bytes(body).best()
    guess = _canonical(best.encoding) if best else None
    enc = guess or (candidates[0] if candidates else "gb18030")
    text = body.decode(enc, "replace")
    # A mixed/corrupt page: prefer whichever candidate loses fewest characters.
    for alt in candidates + ["gb18030"]:
        alt_text = body.decode(alt, "replace")
        if alt_text.count("\ufffd") < text.count("\ufffd"):
            enc, text = alt, alt_text
    return Decoded(text, enc, text.count("\ufffd"))
