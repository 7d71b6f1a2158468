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
    :func:`to_simplified`'s cache: a page's whole text is never asked for again, and it
    is not converted at all when no character of it is one OpenCC would change
    (:func:`_t2s_identity`): most pages are in simplified script already."""
    text, folded = _nfkc_folded(text)
    if len(text) <= _SHORT:
        return to_simplified(text)
    if folded is not None and _t2s_identity(text, folded):
        return text
    return _t2s().convert(text)


# TSPhrases entries (OpenCC's data/dictionary/TSPhrases.txt, Apache-2.0; the same 477
# phrases as OpenCC 1.4.2's TSPhrases.ocd2, each converted as listed) that change a text
# in which no character is changed by OpenCC on its own: 瞭 alone stays 瞭, 瞭解 becomes
# 了解. Every other changing phrase holds a character that changes alone.
# tests/test_fast_paths.py checks both claims against the installed OpenCC.
T2S_PHRASE_ONLY = (
    "一坏 一目瞭然 不瞭解 以免藉口 凌藉 函覆 反反覆覆 反覆 反覆思量 反覆性 回覆 土坏 坏土 坏子 "
    "坏布 墨沈沈 意志消沈 打坏 批覆 找藉口 折戟沈沙 折戟沈河 拉坏 拜覆 捏坏 明瞭 明覆 昏沈 暗沈沈 "
    "毛坏 沈下 沈冤 沈厚 沈吟 沈寂 沈思 沈思往事 沈浮 沈浸 沈湎 沈湎酒色 沈溺 沈甸甸 沈痛 沈痼 "
    "沈睡 沈睡不醒 沈砂池 沈筒 沈船 沈落 沈迷 沈迷不醒 沈醉 沈重 沈降 沈陷 沈香 沈默 沈默寡言 "
    "浮沈 海哩 深沈 深沈不露 滑藉 狐藉虎威 甦生 甦醒 申覆 瞭如 瞭如指掌 瞭然 瞭若指掌 瞭解 "
    "瞭解到 破釜沈舟 示覆 答覆 素藉 耳沈 英哩 茵藉 藉代 藉以 藉助 藉卉 藉口 藉喻 藉寇兵 藉手 "
    "藉故 藉方 藉槁 藉此 藉甚 藉由 藉着 藉端 藉端生事 衹得 覆信 覆呈 覆命 覆墓 覆按 覆文 覆校 "
    "重覆 陶坏 黑沈沈"
).split()
_PHRASE_ONLY = re.compile("|".join(sorted(T2S_PHRASE_ONLY, key=len, reverse=True)))
_CHANGED_ALONE, _IN_A_PHRASE = 1, 2


@lru_cache(maxsize=1)
def t2s_table() -> Any:
    """Per BMP code point: :data:`_CHANGED_ALONE` if OpenCC's t2s changes the character on
    its own, :data:`_IN_A_PHRASE` if a :data:`T2S_PHRASE_ONLY` phrase changes it (瞭, not
    解), else 0. Read off the installed OpenCC (every character converted once, one
    per line: 20 ms), so it is its dictionaries' own answer."""
    start = 0x2E80  # below it (Latin, symbols, kana…) t2s changes nothing; checked in tests
    chars = [chr(cp) for cp in range(start, 0x10000) if not 0xD800 <= cp < 0xE000]
    converted = _t2s().convert("\n".join(chars)).split("\n")
    lut = np.zeros(0x10000, dtype=np.uint8)
    if len(converted) != len(chars):  # never seen; then nothing is skipped
        lut[:] = _CHANGED_ALONE
        return lut
    phrases = _t2s().convert("\n".join(T2S_PHRASE_ONLY)).split("\n")
    for phrase, out in zip(T2S_PHRASE_ONLY, phrases, strict=True):
        same_length = len(out) == len(phrase)
        for i, char in enumerate(phrase):
            if not same_length or char != out[i]:
                lut[ord(char)] = _IN_A_PHRASE
    for char, out in zip(chars, converted, strict=True):
        if char != out:
            lut[ord(char)] = _CHANGED_ALONE
    return lut


def _t2s_identity(text: str, folded: Any) -> bool:
    """Whether OpenCC's t2s leaves ``text`` as it is (``folded``: its code points, all in
    the BMP). OpenCC replaces the longest dictionary entry at each position; an entry that
    changes the text has a character that changes alone, or is a phrase of
    :data:`T2S_PHRASE_ONLY`: with neither in the text, every entry it matches is itself.
    On a county report page's text (7,150 characters) the look takes 0.026 ms, the
    conversion 0.16 (best of nine, 2026-12-03)."""
    marks = t2s_table()[folded]
    if not marks.any():
        return True
    if (marks == _CHANGED_ALONE).any():
        return False
    return _PHRASE_ONLY.search(text) is None


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
    return _nfkc_folded(text)[0]


def _nfkc_folded(text: str) -> tuple[str, Any]:
    """:func:`nfkc`, and the result's code points when the fast path made it and they are
    all in the BMP (else None): what :func:`_t2s_identity` reads."""
    if len(text) < 64:
        return unicodedata.normalize("NFKC", text), None
    cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    bmp = cp < 0x10000
    all_bmp = bool(bmp.all())
    if all_bmp:
        folded = _nfkc_lut()[cp]
    else:
        folded = np.where(bmp, _nfkc_lut()[np.where(bmp, cp, 0)], cp)
    out = folded.astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")
    if unicodedata.is_normalized("NFKC", out):
        return out, folded if all_bmp else None
    return unicodedata.normalize("NFKC", text), None


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
