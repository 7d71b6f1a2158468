"""URL canonicalisation: one page, one address."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nianbao.crawler.urls import canonical, is_attachment, is_binary

_segment = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#"),
    max_size=12,
)
_query_part = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="&#="),
    max_size=10,
)


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP"]))
    host = draw(st.sampled_from(["www.fz.gov.cn", "WWW.FZ.GOV.CN", "127.0.0.1:8080", "x.cn:80"]))
    path = "/".join(draw(st.lists(_segment, max_size=4)))
    session = draw(st.sampled_from(["", ";jsessionid=AB12", ";JSESSIONID=x;foo=1"]))
    pairs = draw(
        st.lists(
            st.tuples(
                st.one_of(_query_part, st.sampled_from(["sid", "print", "page", "utm_source"])),
                _query_part,
            ),
            max_size=4,
        )
    )
    query = "&".join(f"{k}={v}" for k, v in pairs)
    fragment = draw(st.sampled_from(["", "#top", "#年报"]))
    return f"{scheme}://{host}/{path}{session}" + (f"?{query}" if query else "") + fragment


@given(urls())
def test_canonicalisation_is_idempotent(url: str) -> None:
    once = canonical(url)
    assert canonical(once) == once


def test_variants_of_one_page_collapse_to_one_address() -> None:
    base = "http://www.fz.gov.cn/zwgk/ndbg/index.html"
    variants = [
        base,
        "HTTP://WWW.FZ.GOV.CN:80/zwgk/ndbg/index.html",
        "http://www.fz.gov.cn/zwgk/ndbg/index.html;jsessionid=0123ABCD",
        "http://www.fz.gov.cn/zwgk/ndbg/index.html?sid=77",
        "http://www.fz.gov.cn/zwgk/ndbg/index.html?PHPSESSID=e3b0",
        "http://www.fz.gov.cn/zwgk/ndbg/index.html?print=1",
        "http://www.fz.gov.cn/zwgk/ndbg/index.html?share=wechat&utm_source=wx",
        "http://www.fz.gov.cn/zwgk/ndbg/index.html#content",
    ]
    assert {canonical(v) for v in variants} == {base}


def test_meaningful_query_arguments_are_kept_and_sorted() -> None:
    a = canonical("http://x.cn/list.php?page=2&cat=nb")
    b = canonical("http://x.cn/list.php?cat=nb&page=2")
    assert a == b == "http://x.cn/list.php?cat=nb&page=2"
    assert canonical("http://x.cn/list.php?cat=nb&page=3") != a


def test_non_ascii_paths_are_percent_encoded_once() -> None:
    url = canonical("http://x.cn/年报/2023年.html")
    assert url == "http://x.cn/%E5%B9%B4%E6%8A%A5/2023%E5%B9%B4.html"
    assert canonical(url) == url


def test_attachment_and_binary_addresses() -> None:
    assert is_attachment("http://x.cn/uploads/2024/nb.PDF")
    assert is_attachment("http://x.cn/module/download/downfile.jsp?classid=0&filename=9.pdf")
    assert not is_attachment("http://x.cn/show.php?id=3")
    assert is_binary("http://x.cn/images/banner.jpg")
    assert not is_binary("http://x.cn/zwgk/index.html")


@given(
    urls(),
    st.sampled_from([";jsessionid=9F3A", ";JSESSIONID=abc.node1", ";phpsessid=x1"]),
    st.sampled_from(["sid=1", "PHPSESSID=e3b0", "print=1", "share=wx", "utm_source=a"]),
)
def test_session_and_print_variants_never_make_a_new_address(
    url: str, session: str, param: str
) -> None:
    base = canonical(url)
    scheme_host, _, rest = base.partition("://")
    host, _, path_query = rest.partition("/")
    path, sep, query = path_query.partition("?")
    variant = f"{scheme_host}://{host}/{path}{session}?{query + '&' if sep else ''}{param}"
    assert canonical(variant) == base
