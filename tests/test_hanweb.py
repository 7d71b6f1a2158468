"""Hanweb jpage lists: the dataproxy POSTs that page a column."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from nianbao.crawler.cms.hanweb import first_group, next_group

PAGE = """<div id="4521"><script type="text/xml"><datastore>
<nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&amp;appid=1&amp;webid=12&amp;path=/&amp;columnid=105&amp;unitid=4521&amp;permissiontype=0"></a>]]></nextgroup>
<recordset>{records}</recordset></datastore></script></div>
<script>$('#4521').jpage({{perPage: 15, totalRecord: {total}}});</script>"""
RECORD = "<record><![CDATA[<li><a href='/art/2024/1/{n}/art_105_{n}.html'>x</a></li>]]></record>"


def records(first: int, last: int) -> str:
    return "".join(RECORD.format(n=n) for n in range(first, last + 1))


def test_first_group_continues_after_the_inline_records() -> None:
    page = PAGE.format(records=records(1, 45), total=100)
    group = first_group(page, "http://x.cn/col/col105/index.html")
    assert group is not None
    parts = urlsplit(group.url)
    assert parts.netloc == "x.cn" and parts.path == "/module/web/jpage/dataproxy.jsp"
    assert dict(parse_qsl(parts.query)) == {"startrecord": "46", "endrecord": "90", "perpage": "15"}
    assert group.formdata["columnid"] == "105" and group.formdata["unitid"] == "4521"
    assert group.formdata["webid"] == "12" and "page" not in group.formdata
    # The last group stops at the announced total, and nothing follows it.
    second = next_group(
        group, "<datastore><recordset>" + records(46, 90) + "</recordset></datastore>"
    )
    assert second is not None and (second.start, second.end) == (91, 100)
    assert (
        next_group(second, "<datastore><recordset>" + records(91, 100) + "</recordset></datastore>")
        is None
    )


def test_no_group_when_everything_is_inline_or_the_page_is_not_hanweb() -> None:
    assert first_group(PAGE.format(records=records(1, 7), total=7), "http://x.cn/c/") is None
    assert first_group("<html><a href='/a.html'>a</a></html>", "http://x.cn/") is None


def test_a_short_or_empty_answer_ends_the_column() -> None:
    group = first_group(PAGE.format(records=records(1, 10), total=""), "http://x.cn/c/")
    assert group is not None and group.total is None
    assert (
        next_group(group, "<datastore><recordset>" + records(11, 14) + "</recordset></datastore>")
        is None
    )
    assert next_group(group, "<datastore><recordset></recordset></datastore>") is None


def test_the_hanweb_adapter_walks_its_groups_through_the_cms_protocol() -> None:
    """The spider only knows crawler/cms's protocol: the adapter hands back its own state
    with each list page and is asked again with it for the next one."""
    from nianbao.crawler import cms

    adapter = cms.adapter("hanweb")
    assert adapter is not None and adapter in cms.ADAPTERS
    page = PAGE.format(records=records(1, 45), total=100)
    (first,) = adapter.next_lists(page, "http://x.cn/col/col105/index.html", None)
    assert first.formdata and first.formdata["columnid"] == "105"
    answer = "<datastore><recordset>" + records(46, 90) + "</recordset></datastore>"
    (second,) = adapter.next_lists(answer, first.url, first.state)
    assert (second.state.start, second.state.end) == (91, 100)
    last = "<datastore><recordset>" + records(91, 100) + "</recordset></datastore>"
    assert list(adapter.next_lists(last, second.url, second.state)) == []
    assert list(adapter.next_lists("<html>no hanweb</html>", "http://x.cn/", None)) == []
