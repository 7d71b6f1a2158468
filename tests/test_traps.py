"""Trap detection: refused links and bounded date patterns."""

from __future__ import annotations

import pytest

from nianbao.crawler.traps import TrapGuard, is_date_like, pattern, trap_reason


@pytest.mark.parametrize(
    ("url", "text", "reason"),
    [
        ("http://x.cn/search/search.jsp?searchword=年报", "", "search"),
        ("http://x.cn/jsearch/index.do", "", "search"),
        ("http://x.cn/list.php?keyword=年度报告&page=2", "", "search"),
        ("http://x.cn/zwgk/print/t20240105_1.html", "", "print_or_share"),
        ("http://x.cn/share.jsp?url=/a.html", "", "print_or_share"),
        ("http://x.cn/zwgk/a.html", "【打印本页】", "print_or_share"),
        ("http://x.cn/zwgk/a.html", "分享到", "print_or_share"),
        ("http://x.cn/a/b/a/b/a/b/c.html", "", "repeating_path"),
        ("http://x.cn/zwgk/index.html", "繁體", "mirror"),
        ("http://x.cn/zwgk/index.html", "长者模式", "mirror"),
        ("http://big5.x.cn/zwgk/ndbg/index.html", "", "mirror"),
        ("http://x.cn/big5/zwgk/ndbg/index.html", "", "mirror"),
        ("http://wza.x.cn/zwgk/", "", "mirror"),
        ("http://x.cn/" + "x" * 700, "", "url_too_long"),
    ],
)
def test_refused_links(url: str, text: str, reason: str) -> None:
    assert trap_reason(url, text) == reason


@pytest.mark.parametrize(
    "url",
    [
        "http://x.cn/zwgk/ndbg/index_3.html",
        "http://x.cn/art/2024/1/15/art_105_9001.html",  # Hanweb article
        "http://x.cn/zwgk/ndbg/202401/t20240105_7001.html",  # TRS article
        "http://x.cn/list.php?cat=nb&page=2",
        "http://x.cn/content/post_3001.html",
        "http://x.cn/zwgk/so_far.html",
    ],
)
def test_report_addresses_are_not_traps(url: str) -> None:
    assert trap_reason(url, "2023年政府信息公开工作年度报告") is None
    assert not is_date_like(url)


def test_calendar_addresses_are_bounded_per_pattern() -> None:
    guard = TrapGuard(max_per_pattern=5)
    days = [f"http://x.cn/zwgk/rili/index.jsp?date=2024-01-{d:02d}" for d in range(1, 29)]
    allowed = [u for u in days if guard.check(u) is None]
    assert allowed == days[:5]
    # Another pattern has its own allowance; ordinary pages are never counted.
    assert guard.check("http://x.cn/hdjl/calendar/2024/02/") is None
    for n in range(50):
        assert guard.check(f"http://x.cn/zwgk/ndbg/index_{n}.html") is None


def test_date_archives_are_date_like() -> None:
    assert is_date_like("http://x.cn/2024/01/")
    assert is_date_like("http://x.cn/news/archives/2023-12.html")
    assert is_date_like("http://x.cn/list.jsp?ym=202401")
    assert is_date_like("http://x.cn/list.jsp?d=20240105")
    assert is_date_like("http://x.cn/hdjl/rili_2024.html")


@pytest.mark.parametrize(
    "url",
    [
        "http://x.cn/show.php?id=123456",
        "http://x.cn/show.php?docid=20240105",
        "http://x.cn/art.jsp?articleId=202401",
        "http://x.cn/archives/1234.html",
        "http://x.cn/list.php?n=999999",
    ],
)
def test_numeric_identifiers_are_not_dates(url: str) -> None:
    assert not is_date_like(url)
    assert pattern("http://x.cn/a/2024/01/05/?d=2024-01-05") == "x.cn/a/0/0/0/?d"
