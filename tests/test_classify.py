"""What a response is (crawler/classify.py), decided from the response alone."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse, Response

from nianbao.crawler.classify import classify

URL = "http://www.example.gov.cn/zwgk/ndbg/t1.html"


def html(body: str, status: int = 200) -> HtmlResponse:
    return HtmlResponse(URL, status=status, body=body.encode(), encoding="utf-8")


@pytest.mark.parametrize(
    "response, kind",
    [
        (Response(URL, status=304), "not_modified"),
        (html("<h1>404</h1>", 404), "gone"),
        (html("<h1>gone</h1>", 410), "gone"),
        (html("<script>$_ts=window['$_ts'];</script>", 412), "blocked"),
        (html("<script>document.cookie='__jsl_clearance_s=1'</script>", 521), "blocked"),
        (html("<title>安全验证</title><script>window.location.reload()</script>"), "blocked"),
        (Response(URL, body=b"%PDF-1.7\n..."), "document"),
        (html("%PDF-1.4 text-looking pdf"), "document"),
        (
            html("<title>2019年政府信息公开工作年度报告</title><p>安全验证</p>" + "一" * 5000),
            "page",
        ),
        (html("<title>政务公开</title><ul><li>年度报告</li></ul>"), "page"),
    ],
)
def test_classify(response, kind):
    assert classify(response) == kind
