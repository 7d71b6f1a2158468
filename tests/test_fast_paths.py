"""The cleaning stages' fast paths give what the plain code they replaced gave.

Each fast path (one alternation before the chrome rules, the relevance vocabularies counted
in one pass, NFKC by a folding table, shingle keys from a strided view of the UTF-16,
headings searched joined) is checked here against the plain version, kept below as the
reference, over the blocks, texts and normal forms of real pages and a county portal's
look-alike reports, and over every code point where the claim is about Unicode.
``python -m benchmarks.stages --save/--check`` compares every output field of the whole
chain before and after a change; this keeps the parts honest after it.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from benchmarks.smallportals import make_portal
from nianbao.demo.portalgen import seed_reports
from nianbao.pipelines import chrome, neardup, normalize, recognize, relevance
from nianbao.pipelines.decode import charset_of
from nianbao.pipelines.derive import derive
from nianbao.pipelines.document import Document
from nianbao.pipelines.normalize import _SEPARATORS, nfkc, normal_form, to_simplified
from nianbao.pipelines.title import prep

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def docs():
    out = []
    manifest = tomllib.loads((FIXTURES / "real" / "manifest.toml").read_text(encoding="utf-8"))
    for entry in manifest["pages"]:
        body = (FIXTURES / "real" / "pages" / f"{entry['name']}.html").read_bytes()
        out.append(derive(body, entry["url"]))
    portal = make_portal(7, 12, seed_reports(FIXTURES / "seeds"))
    for path in portal.paths():
        page = portal.get(path)
        if path.startswith("/zwgk/") and page is not None:
            ctype = page.content_type
            out.append(derive(page.body, f"http://127.0.0.1{path}", ctype, charset_of(ctype)))
    return out


@pytest.fixture(scope="module")
def lines(docs):
    """Kept blocks and removed lines (the chrome the rules matched), and the page lines."""
    seen: dict[str, None] = {}
    for doc in docs:
        for line in [*doc.blocks, *(r.text for r in doc.removed), *doc.page_lines]:
            seen.setdefault(line, None)
    return list(seen)


# --- references: the plain code the fast paths replaced ---------------------------------


def reference_classify(block: str, index: int) -> str | None:
    head = chrome._SPACE.sub("", block[:16]) + block[16:]
    if chrome._meta_block().match(head):
        return "disclosure-meta"
    if (
        chrome._DATELINE.match(head)
        and len(block) < 80
        and (index < 5 or chrome._DATELINE_MORE.search(block))
    ):
        return "dateline"
    if chrome._STAMP.match(block.strip()):
        return "dateline"
    if chrome._is_widget_strip(block):
        return "widgets"
    for name, pattern in chrome.RULES:
        if pattern.search(head):
            if name in chrome._SHORT_RULES and len(block) > 120:
                continue
            if name in chrome._LINE_RULES and len(block) > chrome.LINE_MAX:
                continue
            return name
    return None


def reference_features(block: str) -> relevance.Features:
    block = to_simplified(block)
    return relevance.Features(
        cjk=len(re.findall(r"[\u3400-\u9fff]", block)),
        disclosure=sum(block.count(t) for t in relevance.DISCLOSURE_TERMS),
        admin=sum(block.count(t) for t in relevance.ADMIN_TERMS),
        genre=sum(block.count(t) for t in relevance.GENRE_CUES),
        first_person=len(relevance._I.findall(block)),
    )


def reference_shingle_keys(norm_text: str, k: int = neardup.K) -> np.ndarray:
    u64 = np.uint64
    cp = np.frombuffer(norm_text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    n = cp.size - k + 1
    if n <= 0:
        return np.empty(0, dtype=u64)
    cp = cp.astype(u64)
    key = np.zeros(n, dtype=u64)
    low, plane = cp & u64(0xFFFF), cp >> u64(16)
    planes = np.zeros(n, dtype=u64)
    for j in range(k):
        key = (key << u64(16)) | low[j : j + n]
        planes = (planes << u64(5)) | plane[j : j + n]
    key ^= neardup._fmix64(planes)
    return np.unique(key)


def reference_normal_form(text: str) -> str:
    return _SEPARATORS.sub("", to_simplified(unicodedata.normalize("NFKC", text)))


# --- the checks ---------------------------------------------------------------------------


def test_chrome_rules_alternation_and_cache_are_the_rule_loop(lines):
    matched = 0
    for line in lines:
        for index in (0, 4, 5, 99):
            rule = chrome.classify(line, index)
            assert rule == reference_classify(line, index), (line, index)
            matched += rule is not None
    assert matched > 100  # the removed chrome is in the set: the rules are exercised


def test_relevance_features_are_the_plain_counts(lines):
    for line in lines:
        assert relevance.features(line) == reference_features(line), line
    # every kind of term, overlapping ones (信息公开 / 公开 / 信息) and a self-overlapping one
    text = "妈妈妈妈我们的信息公开政务公开销售客户我喜欢气温"
    assert relevance.features(text) == reference_features(text)


def test_nfkc_is_unicodedata_over_every_bmp_code_point():
    cps = [cp for cp in range(0x10000) if not 0xD800 <= cp < 0xE000]
    for start in range(0, len(cps), 97):
        chunk = "".join(chr(cp) for cp in cps[start : start + 97])
        for text in (chunk, "政府，" + chunk + "𠀀\u0301", "\u0301".join(chunk)):
            assert nfkc(text) == unicodedata.normalize("NFKC", text), repr(text[:20])
    for text in ("\ud800依申请公开，" * 20, "e\u0301，" * 40, "，\u0301" * 40, "ﬁ㎡…①" * 30):
        assert nfkc(text) == unicodedata.normalize("NFKC", text)


def test_normal_form_is_the_plain_one(docs, lines):
    for text in [*lines, *(doc.text for doc in docs), *(" ".join(d.page_lines) for d in docs)]:
        assert normal_form(text) == reference_normal_form(text)
    # str.split's whitespace is the pattern's \s, code point by code point
    for cp in range(0x110000):
        c = chr(cp)
        assert (c.split() == []) == bool(re.fullmatch(r"\s", c)), hex(cp)


def test_text_by_xpath_is_itertext():
    """htmltree.text collects what itertext() yields: texts and tails, not comments or
    processing instructions, in document order; over the real pages and odd markup."""
    from nianbao.pipelines import htmltree

    manifest = tomllib.loads((FIXTURES / "real" / "manifest.toml").read_text(encoding="utf-8"))
    pages = [
        (FIXTURES / "real" / "pages" / f"{e['name']}.html").read_text("utf-8", "replace")
        for e in manifest["pages"]
    ]
    pages += [
        "<p>a<!-- c -->b<?pi x?>c<b>d<i>e</i>f</b>g</p>tail<script>s()</script>t",
        "<div>\u3000<ruby>汉<rt>han</rt></ruby>字<br/>\n<span></span>&amp;&nbsp;</div>",
        "",
        "text only",
        "<table><tr><td>1<td>2</table>后",
    ]
    for html in pages:
        soup = htmltree.parse(html)
        for node in [soup, *soup.iter()]:
            if htmltree.is_tag(node):
                for sep in ("", "\n"):
                    assert htmltree.text(node, sep) == sep.join(node.itertext())


def test_clean_line_fast_path_is_the_substitution(docs, lines):
    """A printable text without two spaces in a row is only stripped: checked over real
    blocks and with every code point inside, at either end and doubled."""
    from nianbao.pipelines import extract

    def reference(text: str) -> str:
        return extract._WS.sub(" ", text).strip()

    # The claim it rests on: a printable character that is whitespace, or that the
    # substitution collapses, is the space itself.
    for cp in range(0x110000):
        c = chr(cp)
        if c.isprintable() and c != " ":
            assert not c.isspace() and not extract._WS.match(c), hex(cp)
    texts = [*lines, *(doc.text for doc in docs), *(doc.html[:3000] for doc in docs if doc.html)]
    for c in " \t\r\n\f\v\xa0\u3000\u2002\u200b\x1c\x85\u2028":
        texts += [f"政府{c}信息", f"{c}公开 年报{c}", f"a{c}{c}b", f"x {c} y", f"{c}"]
    for text in texts:
        assert extract._clean_line(text) == reference(text), repr(text[:30])
    # the fast path is the common one on real blocks
    assert sum(line.isprintable() and "  " not in line for line in lines) > len(lines) // 2


def test_a_text_opencc_would_not_change_is_not_converted_and_every_other_is(docs, lines):
    """``simplified`` skips OpenCC only where OpenCC gives the text back unchanged."""
    t2s = normalize._t2s().convert
    # Below U+2E80 (where the lookup table starts) t2s changes no character.
    low = [chr(cp) for cp in range(0x2E80) if chr(cp) not in "\n\r"]
    assert t2s("\n".join(low)).split("\n") == low
    # Each listed phrase is converted (by a character that does not change alone), and
    # a changing character of each is marked in the table.
    lut = normalize.t2s_table()
    for phrase in normalize.T2S_PHRASE_ONLY:
        assert t2s(phrase) != phrase, phrase
        assert all(t2s(c) == c for c in phrase), phrase
        assert any(lut[ord(c)] == normalize._IN_A_PHRASE for c in phrase), phrase
    filler = "本机关年度报告全文如下" * 30  # long enough for the table's path
    texts = [*lines, *(doc.text for doc in docs)]
    texts += [filler + p + filler for p in normalize.T2S_PHRASE_ONLY]
    texts += [filler + "瞭望" + filler, filler + "坏事" + filler, filler + "覆盖" + filler]
    texts += [filler + "𠀀" + filler, filler + "ﬁ㎡" + filler]  # beyond the BMP; not NFKC-stable
    cps = [cp for cp in range(0x2E80, 0x10000) if not 0xD800 <= cp < 0xE000]
    texts += [filler + chr(cp) + filler for cp in cps[::7]]
    skipped = 0
    for text in texts:
        folded_text, folded = normalize._nfkc_folded(text)
        expected = t2s(folded_text)
        assert normalize.simplified(text) == expected, text[:40]
        if folded is not None and len(folded_text) > normalize._SHORT:
            skipped += normalize._t2s_identity(folded_text, folded)
            assert normalize._t2s_identity(folded_text, folded) == (expected == folded_text)
    assert skipped > 1000  # the skip is taken, not only the conversion


def test_shingle_keys_fast_path_is_the_general_formula(docs):
    texts = [doc.norm_text for doc in docs if doc.norm_text]
    texts += ["", "a", "ab", "abc", "abcd", "政府信息公开", "\ud800依申请公开\udc00", "本𠀀机关"]
    for text in texts:
        for k in (3, 4, 5):
            got = neardup.shingle_keys(text, k)
            if k == 4:
                want = reference_shingle_keys(text, k)
                assert got.dtype == want.dtype and np.array_equal(got, want), text[:20]
            assert len(got) == len(neardup.shingles(text, k))


def test_section_evidence_joined_is_one_search_per_heading(docs):
    for doc in docs:
        body = doc.norm_text
        headings = [
            prep(b) for b in doc.blocks if len(b) <= 60 and recognize._ENUM.match(b.strip())
        ]
        score, found = 0.0, []
        for name, pattern in recognize.SECTION_GROUPS.items():
            if any(pattern.search(h) for h in headings):
                score += 1.0
                found.append(f"{name}(heading)")
            elif pattern.search(body):
                score += 0.5
                found.append(name)
        assert recognize._section_evidence(doc.blocks, body) == (min(score, 5.0), found)


def reference_strip(doc: Document) -> Document:
    seen = any(normalize._PINYIN.search(b) for b in doc.blocks[:200])
    blocks: list[str] = []
    for block in doc.blocks:
        fixed, found = normalize.strip_pinyin(block, seen)
        for annotation in found:
            doc.remove(normalize.STAGE, "pinyin-annotation", annotation)
        blocks.append(fixed)
    if any(r.rule == "pinyin-annotation" for r in doc.removed):
        doc.flag("pinyin_garbage")
    doc.blocks = blocks
    if doc.title:
        doc.title, _ = normalize.strip_pinyin(doc.title, seen)
    return doc


PINYIN = ["城關鎮(zhèn)人民政府", "主動公開(kāi)信息的(de)情況", "附件(a)", "孟政辦〔2016〕32號"]
PINYIN += ["(zhèn)", "a(zhèn)", "鎮（fā）", "鎮(fā", "鎮((fā))", "鎮(zhuāngzhèn)", "鎮\n(fā)"]


def test_pinyin_pattern_is_the_look_behind_first_one(lines):
    toned = normalize._TONED
    reference = re.compile(
        rf"(?<=[\u3400-\u9fff])[(（](?=[a-zü{toned}]*[{toned}])[a-zü{toned}]{{1,7}}[)）]"
    )
    for text in [*lines, *PINYIN, "".join(PINYIN)]:
        assert normalize._PINYIN.findall(text) == reference.findall(text)
        assert normalize._PINYIN.sub("", text) == reference.sub("", text)
    assert len(reference.findall("".join(PINYIN))) == 4


def test_pinyin_repair_searched_joined_is_the_block_loop(lines):
    pinyin = PINYIN[:4]
    cases = [lines[:150], lines[150:450], ["前言", *lines[:220], pinyin[0]], pinyin, pinyin[2:]]
    for blocks in cases:
        for title in (None, "城關鎮(zhèn)的(de)報告"):
            fast = normalize.run(Document("u", b"", blocks=list(blocks), title=title))
            slow = reference_strip(Document("u", b"", blocks=list(blocks), title=title))
            assert (fast.blocks, fast.title, fast.removed, fast.flags) == (
                slow.blocks,
                slow.title,
                slow.removed,
                slow.flags,
            )
    assert normalize.run(Document("u", b"", blocks=pinyin)).flags == ["pinyin_garbage"]
