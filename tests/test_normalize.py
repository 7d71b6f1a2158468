"""Script repair and the normal form: pinyin garbage, spinning, hash invariance (Hypothesis)."""

from __future__ import annotations

import html

import opencc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks import goldset
from nianbao.pipelines import spin
from nianbao.pipelines.derive import derive
from nianbao.pipelines.document import Document
from nianbao.pipelines.fingerprint import content_hash
from nianbao.pipelines.normalize import normal_form, run, strip_pinyin

SEEDS = goldset.load_seeds()
PARAGRAPHS = [line for s in SEEDS.values() for line in s.truth if len(line) > 10][:400]
S2T = opencc.OpenCC("s2t")


def test_converter_pinyin_is_removed_and_recorded():
    doc = Document(
        url="u", body=b"", blocks=["城關鎮(zhèn)2016年政府信息公開", "發(fā)布時間", "統(tǒng)計"]
    )
    run(doc)
    assert doc.blocks == ["城關鎮2016年政府信息公開", "發布時間", "統計"]
    assert [r.text for r in doc.removed] == ["(zhèn)", "(fā)", "(tǒng)"]
    assert {r.rule for r in doc.removed} == {"pinyin-annotation"}
    assert "pinyin_garbage" in doc.flags


def test_real_parentheses_are_untouched():
    for text in [
        "(孟政辦〔2016〕32號)",
        "(張道祿)",
        "網站(http://www.mjcgz.gov.cn/)給予公布",
        "第(一)项",
        "重量(kg)",
        "附件(a)",
        "（以下简称《条例》）",
    ]:
        assert strip_pinyin(text, converter_seen=True)[0] == text


def test_toneless_syllables_only_with_evidence_of_a_converter():
    assert strip_pinyin("我們的(de)工作")[0] == "我們的(de)工作"
    assert strip_pinyin("我們的(de)工作", converter_seen=True)[0] == "我們的工作"
    assert strip_pinyin("鎮（zhèn）")[0] == "鎮"


def test_normal_form_folds_script_width_whitespace_and_cell_separators():
    assert normal_form("政府信息公開 ２０１９年\n\u3000統計") == normal_form(
        "政府信息公开2019年统计"
    )
    assert normal_form("统计指标 | 单位 | 统计数") == normal_form("统计指标\n单位\n统计数")


def test_spinning_is_flagged_with_lines_not_deleted():
    lines = [
        "一、总体情况",
        "我镇在市当局的正确领导下，规范当局信息公开内容，立异公开形式。",
        "正常段落。",
    ]
    doc = spin.run(Document(url="u", body=b""), lines)
    assert "spun_text" in doc.flags and doc.metadata["spun_lines"] == "2"
    clean = spin.run(Document(url="u", body=b""), ["香港特别行政区当局发布公告。", "政府信息公开"])
    assert "spun_text" not in clean.flags
    many = spin.run(
        Document(url="u", body=b""),
        ["正常段落。", "當局信息公开", "", "县当局", "匆匆进和扶植", "正常。", "行政复讲"],
    )
    assert many.metadata["spun_lines"] == "2,4-5,7"  # traditional script too


def test_the_spin_check_reads_the_fingerprints_simplified_text_as_it_reads_the_lines():
    """The fingerprint hands the spin check its simplified text (converted once a page);
    the lines found are those the check finds converting line by line, and a text whose
    line breaks do not match the lines (a block with a line break of its own) is not used."""
    from nianbao.pipelines import fingerprint
    from nianbao.pipelines.normalize import simplified

    lines = ["正常段落。", "當局信息公开", "", "縣當局", "匆匆进和扶植", "正常。", "行政复讲"]
    by_line = spin.run(Document(url="u", body=b""), lines)
    given = spin.run(Document(url="u", body=b""), lines, simplified("\n".join(lines)))
    assert given.metadata["spun_lines"] == by_line.metadata["spun_lines"] == "2,4-5,7"
    # one line break too many in what was given: converted line by line instead
    odd = spin.run(Document(url="u", body=b""), lines, "\n" + simplified("\n".join(lines)))
    assert odd.metadata["spun_lines"] == "2,4-5,7"
    doc = fingerprint.run(Document(url="u", body=b"", blocks=lines))
    assert doc.metadata["spun_lines"] == "2,4-5,7"
    # both ways read NFKC as the normal form does: a Kangxi radical (⾏, U+2F8F, as PDF
    # text has it) is 行 for the check whether the text was given or each line converted
    radical = [*lines[:6], "\u2f8f政复讲"]
    given_radical = spin.run(Document(url="u", body=b""), radical, simplified("\n".join(radical)))
    each_radical = spin.run(Document(url="u", body=b""), radical)
    assert given_radical.metadata["spun_lines"] == each_radical.metadata["spun_lines"] == "2,4-5,7"
    assert doc.norm_text == normal_form(doc.text)
    assert doc.sha256 == fingerprint.content_hash(doc.text)


def test_the_spin_lookahead_names_every_first_character_of_a_mark():
    """Each alternative of the mark pattern starts with a character of spin._FIRST (the
    look-ahead would otherwise hide its marks)."""
    import re

    firsts: set[str] = set()
    for alternative in re.split(r"\|(?![^(]*\))", spin._ALTERNATIVES):
        head = alternative[0]
        if head == "[":
            firsts |= set(alternative[1 : alternative.index("]")])
        elif head == "(":
            group = alternative[alternative.index(":") + 1 : alternative.index(")")]
            firsts |= {option[0] for option in group.split("|")}
        else:
            firsts.add(head)
    assert firsts == set(spin._FIRST)


def _page(paragraphs: list[str], indent: str, breaks: bool) -> bytes:
    def para(text: str) -> str:
        text = html.escape(text)
        if breaks and len(text) > 12:  # a source line break between two characters
            text = text[:6] + "\n      " + text[6:]
        return f"<p>{indent}{text}</p>"

    body = "\n".join(para(p) for p in paragraphs)
    return (
        f"<html><head><meta charset='utf-8'><title>某镇年度报告</title></head><body>"
        f"<div class='nav'><a href='/'>首页</a></div><div id='zoom'>{body}</div>"
        f"<p>版权所有：某县人民政府</p></body></html>"
    ).encode()


@settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    st.lists(st.sampled_from(PARAGRAPHS), min_size=3, max_size=8, unique=True),
    st.sampled_from(["", "&nbsp;&nbsp;", "\u3000\u3000", "    "]),
    st.booleans(),
    st.booleans(),
)
def test_hash_ignores_whitespace_template_and_script(paragraphs, indent, breaks, traditional):
    plain = derive(_page(paragraphs, "", False), "http://a/1.html")
    shown = [S2T.convert(p) for p in paragraphs] if traditional else paragraphs
    variant = derive(_page(shown, indent, breaks), "http://a/2.html")
    assert variant.sha256 == plain.sha256
    assert plain.sha256 == content_hash("\n".join(paragraphs))


@settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.lists(st.sampled_from(PARAGRAPHS), min_size=2, max_size=8, unique=True), st.booleans())
def test_cleaning_cleaned_text_changes_nothing(paragraphs, traditional):
    if traditional:
        paragraphs = [S2T.convert(p) for p in paragraphs]
    once = derive(_page(paragraphs, "\u3000\u3000", True), "http://a/1.html")
    twice = derive(once.text.encode("utf-8"), "http://a/1.txt", "text/plain; charset=utf-8")
    assert twice.text == once.text
    assert twice.sha256 == once.sha256
    assert not [r for r in twice.removed if r.stage != "extract"]


def _expansions(items) -> list[str]:
    """Every string a regex without repeats matches (literals, sets, groups, branches)."""
    from re import _constants as c  # type: ignore[attr-defined]

    out = [""]
    for op, av in items:
        if op is c.LITERAL:
            options = [chr(av)]
        elif op is c.IN:
            assert all(kind is c.LITERAL for kind, _ in av), av
            options = [chr(code) for _, code in av]
        elif op is c.SUBPATTERN:
            options = _expansions(av[-1])
        elif op is c.BRANCH:
            options = [s for branch in av[1] for s in _expansions(branch)]
        else:
            raise AssertionError(f"unexpected {op} in the mark pattern")
        out = [head + tail for head in out for tail in options]
    return out


def test_every_mark_holds_one_of_the_anchors_the_spin_check_looks_for_first():
    from re import _parser  # type: ignore[attr-defined]

    marks = _expansions(_parser.parse(spin._ALTERNATIVES))
    assert len(marks) > 20 and "当局信息" in marks and "执行环境" in marks
    for mark in marks:
        assert any(anchor in mark for anchor in spin._ANCHORS), mark
        filler = "本机关依法公开政府信息。营商环境持续优化。\n" * 3
        doc = spin.run(Document(url="u", body=b""), [filler + mark * 3])
        assert doc.flags == ["spun_text"], mark
