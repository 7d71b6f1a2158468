"""What counts as a link when judging whether a report is still listed (crawler/linkwatch.py)."""

from __future__ import annotations

from scrapy.http import HtmlResponse, TextResponse

from nianbao.crawler.linkwatch import links


def test_links_in_html_in_cdata_and_in_json_apis():
    body = (
        "<a href=\"t1.html\">x</a> <a href='/y/t2.html?a=1&amp;b=2'>y</a>"
        '<a href=javascript:void(0)>z</a> <a href="#top">top</a>'
        '<record><![CDATA[<a href="/z/t3.html">报告</a>]]></record>'
    )
    page = HtmlResponse("http://a.gov.cn/x/list.html", body=body.encode(), encoding="utf-8")
    assert links(page) == {
        "http://a.gov.cn/x/t1.html",
        "http://a.gov.cn/y/t2.html?a=1&b=2",
        "http://a.gov.cn/z/t3.html",
    }
    api = TextResponse(
        "http://a.gov.cn/gkmlpt/api/all/5?page=1",
        body=b'{"articles":[{"url":"http:\\/\\/a.gov.cn\\/content\\/post_4.html"}]}',
        encoding="utf-8",
    )
    assert links(api) == {"http://a.gov.cn/content/post_4.html"}


def test_a_malformed_href_is_skipped_not_fatal():
    body = b'<a href="http://[broken">x</a><a href="/ok.html">ok</a>'
    page = HtmlResponse("http://a.gov.cn/", body=body, encoding="utf-8")
    assert "http://a.gov.cn/ok.html" in links(page)
