"""Script repair and the normalised form used for hashing, search and comparison.

Two jobs, kept apart on purpose:

* :func:`run` repairs the *published* text without changing its script: it removes the
  pinyin a bad traditional-script converter leaves after characters (``城關鎮(zhèn)``).
  Removed pinyin is recorded like any other removal. (Machine-"spun" text is flagged, not
  changed, by :mod:`pipelines.spin` once the final text is known.)
* :func:`normal_form` computes the form we hash and search: OpenCC traditional →
  simplified, NFKC (full-width digits and punctuation fold), whitespace and table-cell
  separators removed.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

import numpy as np

from nianbao.pipelines.document import Document

STAGE = "script"

# Pinyin a bad converter leaves right after a character: 鎮(zhèn), 發(fā), in ASCII or
# full-width parentheses. A toned syllable is proof enough; a toneless one (的(de)) is
# only taken when it is a valid syllable *and* the text already has toned annotations,
# so real parentheses (孟政辦〔2016〕32號), (張道祿), URLs and (a)/(kg) are never touched.
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
# The parenthesis first, the character before it checked behind it: the same matches as
# (?<=[\u3400-\u9fff])[(（]…, found four times faster (the engine skips to the next
# parenthesis instead of trying the look-behind at every character).
_PINYIN = re.compile(
    rf"[(（](?<=[\u3400-\u9fff][(（])(?=[a-zü{_TONED}]*[{_TONED}])[a-zü{_TONED}]{{1,7}}[)）]"
)
_SYLLABLE = (
    r"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:iang|iong|uang|ang|eng|ing|ong|ian|iao|uai|uan|üan|ai|an|ao|ei|en|er|ia|ie|in|iu|ou|"
    r"ua|ue|üe|ui|un|uo|a|e|i|o|u|ü|v)"
)
# Neutral-tone syllables converters emit (de, le, men, zi …) have two letters or more;
# single letters are enumerations: 附件(a).
_TONELESS = re.compile(rf"(?<=[\u3400-\u9fff])[(（](?=[a-zü]{{2}}){_SYLLABLE}[)）]")
_SEPARATORS = re.compile(r"[\s|]+")


@lru_cache(maxsize=1)
def _t2s():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=4096)
def to_simplified(text: str) -> str:
    """OpenCC t2s; cached because a block is converted by several stages (relevance
    scores it, recognition tests headings, the normal form of a short string)."""
    return _t2s().convert(text)


def strip_pinyin(text: str, converter_seen: bool = False) -> tuple[str, list[str]]:
    """Remove converter pinyin; return the text and the annotations removed.

    ``converter_seen``: the document already showed toned annotations elsewhere, so
    toneless syllables after a character are converter output too.
    """
    found = _PINYIN.findall(text)
    if found:
        text = _PINYIN.sub("", text)
    if found or converter_seen:
        toneless = _TONELESS.findall(text)
        if toneless:
            found += toneless
            text = _TONELESS.sub("", text)
    return text, found


def normal_form(text: str) -> str:
    """Simplified script, NFKC, no whitespace and no table-cell separators.

    Equal for the same report in any template: whitespace and the `` | `` between table
    cells are layout, the script is the portal's choice. Short strings (titles, headings,
    lines: recognition and the title rules normalise the same ones again and again) are
    cached.
    """
    if len(text) <= _SHORT:
        return _short_normal_form(text)
    return _normal_form(text)


_SHORT = 256


@lru_cache(maxsize=16384)
def _short_normal_form(text: str) -> str:
    return _normal_form(text)


def _normal_form(text: str) -> str:
    return compact(simplified(text))


def simplified(text: str) -> str:
    """NFKC, then simplified script: :func:`normal_form` with its whitespace and cell
    separators still in (the fingerprint reads it line by line for the spin check, then
    compacts it, instead of converting the text twice). A long text is converted without
    :func:`to_simplified`'s cache: a page's whole text is never asked for again."""
    text = nfkc(text)
    return to_simplified(text) if len(text) <= _SHORT else _t2s().convert(text)


def compact(text: str) -> str:
    """Without whitespace and table-cell separators: the last step of :func:`normal_form`."""
    # _SEPARATORS.sub("", text), three times faster: str.split and the pattern's \s
    # are the same Unicode whitespace (checked over every code point in the tests).
    return "".join(text.split()).replace("|", "")


_NFKC_LUT: Any = None  # code point -> its NFKC where that is one BMP character


def _nfkc_lut() -> Any:
    global _NFKC_LUT
    if _NFKC_LUT is None:
        lut = np.arange(0x10000, dtype=np.uint32)
        for cp in range(0x10000):
            if 0xD800 <= cp < 0xE000:
                continue
            folded = unicodedata.normalize("NFKC", chr(cp))
            if len(folded) == 1:
                lut[cp] = ord(folded)
        _NFKC_LUT = lut
    return _NFKC_LUT


def nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, several times faster on a page's text.

    CPython normalises a string that fails its quick check (any full-width comma does) by
    decomposing and recomposing all of it: 0.4 ms for the 3,000 characters the crawl's
    pre-filter reads, on the reactor's core. Here every BMP character is first replaced by
    its own NFKC where that is one character (full-width forms, ideographic and em spaces,
    circled digits: one table look-up over the code points). Replacing a character by its
    NFKC leaves the string's NFKC unchanged (normalisation is per character, then
    reordering and composition over the whole, and the two have the same decomposition),
    so when the result passes ``unicodedata.is_normalized`` it *is* the NFKC of ``text``;
    otherwise (a "…", "㎡", a combining mark) ``text`` is normalised the usual way.
    """
    if len(text) < 64:
        return unicodedata.normalize("NFKC", text)
    cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    bmp = cp < 0x10000
    folded = np.where(bmp, _nfkc_lut()[np.where(bmp, cp, 0)], cp)
    out = folded.astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")
    if unicodedata.is_normalized("NFKC", out):
        return out
    return unicodedata.normalize("NFKC", text)


def run(doc: Document) -> Document:
    # One search over the blocks joined, not one per block: an annotation holds no line
    # break and must follow a character of its own block. Nearly every page has none.
    seen = bool(_PINYIN.search("\n".join(doc.blocks[:200])))
    if not seen and not _PINYIN.search("\n".join(doc.blocks[200:])):
        # no toned annotation anywhere, so strip_pinyin(block, False) finds nothing
        blocks = list(doc.blocks)
    else:
        blocks = _strip_blocks(doc, seen)
    if any(r.rule == "pinyin-annotation" for r in doc.removed):
        doc.flag("pinyin_garbage")
    doc.blocks = blocks
    if doc.title:
        doc.title, _ = strip_pinyin(doc.title, seen)
    return doc


def _strip_blocks(doc: Document, seen: bool) -> list[str]:
    """The blocks without converter pinyin, each annotation recorded as a removal."""
    blocks: list[str] = []
    for block in doc.blocks:
        fixed, found = strip_pinyin(block, seen)
        for annotation in found:
            doc.remove(STAGE, "pinyin-annotation", annotation)
        blocks.append(fixed)
    return blocks
