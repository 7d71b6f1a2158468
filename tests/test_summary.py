"""One run, one set of numbers (issue 17): the progress line, the crawl summary, the run
row, ``runs`` and ``runs --json`` all show :func:`nianbao.models.runs.summarize`.

The regression: one crawl with a dead link showed 7 errors on the progress line (every
retried attempt), 1 in the summary and 8 in ``runs --json`` (attempts plus archive keys).
"""

from __future__ import annotations

import re

import pytest

from nianbao.cli import EXIT_SOURCE_FAILED
from nianbao.crawl import SOURCE_LINES
from nianbao.demo.server import Page, Portal
from nianbao.models.digest import TEXT_ITEMS, as_text
from tests.conftest import FAST, cli, cli_json

NUMBERS = re.compile(
    r"(\d+) pages fetched, (\d+) report captures, (\d+) new reports, (\d+) new versions, "
    r"(\d+) unchanged, .* (\d+) skipped \(robots/budget/traps/size\), (\d+) errors"
)


def _dead_link_portal(county):
    """The county portal, its home page also linking a page on a port nobody listens on."""
    county.set(
        "/",
        Page(
            '<html><body><a href="/zwgk/index.html">政务公开</a>'
            ' <a href="http://127.0.0.1:1/zwgk/ndbg/dead.html">2019年政府信息公开工作年度报告</a>'
            "</body></html>".encode()
        ),
    )
    return county


@pytest.mark.backend("sqlite", "postgresql")
def test_one_crawl_with_errors_shows_the_same_numbers_everywhere(db_url, serve, county):
    server = serve(_dead_link_portal(county))
    settings = [*FAST, "-s", "NIANBAO_PROGRESS_INTERVAL=3600", "-s", "RETRY_TIMES=2"]
    settings += ["-s", "NIANBAO_BACKOFF_BASE=0", "-s", "NIANBAO_BACKOFF_MAX=0"]
    out = cli(db_url, "crawl", "--url", server.url("/"), *settings)
    # Retried attempts are not errors: 3 attempts at the dead page, one failed fetch.
    [line] = [x for x in out.stderr.splitlines() if x.startswith("[")]
    progress = re.fullmatch(
        r"\[(.+)\] (\d+) pages, (\d+) candidates, (\d+) new versions, (\d+) errors", line
    )
    assert progress, out.stderr
    [summary_line] = [x for x in out.stdout.splitlines() if ": ok;" in x]
    crawl_numbers = NUMBERS.search(summary_line).groups()
    pages, errors = crawl_numbers[0], crawl_numbers[-1]
    assert int(errors) >= 1, summary_line
    assert (progress[2], progress[4], progress[5]) == (pages, crawl_numbers[3], errors)

    [run] = cli_json(db_url, "runs")
    s = run["summary"]
    assert [
        str(s[k]) for k in ("pages", "reports", "new_reports", "new_versions", "unchanged")
    ] == list(crawl_numbers[:5])
    assert (str(s["skipped"]), str(s["errors"])) == crawl_numbers[5:]
    assert s["candidates"] == int(progress[3])
    # The run row's errors are the summary's, by kind: they add up to the same number.
    assert sum(v for v in run["errors"].values() if isinstance(v, int)) == s["errors"]
    assert run["errors"] == s["error_kinds"] == {"fetch": int(errors)}

    text = cli(db_url, "runs").stdout
    assert NUMBERS.search(text).groups() == crawl_numbers, text


def test_an_unreachable_source_is_one_clear_line(db_url):
    out = cli(
        db_url, "crawl", "--url", "http://127.0.0.1:1/", *FAST, "-s", "RETRY_TIMES=1", check=False
    )
    assert out.returncode == 3
    assert "Traceback" not in out.stderr and "ERROR" not in out.stderr, out.stderr
    assert out.stderr.splitlines() == [
        "crawling 1 source(s) into " + out.stderr.splitlines()[0].split(" into ", 1)[1],
        "failed entirely: 127.0.0.1-1",
    ], out.stderr
    [line] = [x for x in out.stdout.splitlines() if x.startswith("127.0.0.1-1:")]
    assert "failed (every page failed: fetch error (connection refused) (1))" in line
    assert line.endswith("1 errors")


def test_runs_of_a_source_never_crawled_is_an_error(db_url):
    cli(db_url, "crawl", "--url", "http://127.0.0.1:1/", *FAST, "-s", "RETRY_TIMES=0", check=False)
    proc = cli(db_url, "runs", "--source", "nope", check=False)
    assert proc.returncode == 1 and proc.stderr.strip() == "Error: no such source: 'nope'"


def test_a_crawl_of_many_sources_lists_only_those_that_need_a_look(db_url, serve, tmp_path):
    """Past ``SOURCE_LINES`` sources, the ok ones are counted, not listed: a night of 50,000
    portals printed 50,000 lines. The one that failed keeps its line, and the exit status.
    The progress is one line for the crawl, not one a source."""
    ok = SOURCE_LINES + 1
    portal = Portal()
    for i in range(ok):  # one start page a source
        portal.set(f"/p{i}.html", Page("<html><body><p>政务公开</p></body></html>".encode()))
    server = serve(portal)
    entries = [
        f'[[sources]]\nname = "s{i:02d}"\nstart_urls = ["{server.url(f"/p{i}.html")}"]'
        for i in range(ok)
    ]
    entries.append('[[sources]]\nname = "dead"\nstart_urls = ["http://127.0.0.1:1/"]')
    sources = tmp_path / "sources.toml"
    sources.write_text("\n\n".join(entries) + "\n", encoding="utf-8")
    settings = [*FAST, "-s", "RETRY_TIMES=0", "-s", "NIANBAO_PROGRESS_INTERVAL=0.2"]
    out = cli(db_url, "crawl", "--sources", str(sources), *settings, check=False)
    assert out.returncode == EXIT_SOURCE_FAILED, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert [x.split(":")[0] for x in lines if ": failed" in x and x[0] != " "] == ["dead"]
    assert not [x for x in lines if ": ok;" in x], out.stdout
    assert f"{ok} other source(s) ok or idle without errors, not listed one by one" in out.stdout
    assert f"done: {ok + 1} source(s), 1 failed, 0 new versions" in out.stdout
    # every 0.2 s while it ran (as many as there were), then once at the end
    progress = [x for x in out.stderr.splitlines() if x.startswith("[")]
    each = re.compile(rf"\[\d+ of {ok + 1} sources done, [01] failed, \d+ running\] \d+ pages, .*")
    assert all(each.fullmatch(x) for x in progress), out.stderr
    assert progress[-1] == (
        f"[{ok + 1} of {ok + 1} sources done, 1 failed, 0 running] {ok} pages, 0 candidates, "
        "0 new versions, 1 errors"
    ), out.stderr
    # each one's line is where the message says; the failed ones, by their status
    [run] = cli_json(db_url, "runs", "--source", "s07")
    assert run["status"] == "ok"
    assert [r["source"] for r in cli_json(db_url, "runs", "--status", "failed")] == ["dead"]
    assert len(cli_json(db_url, "runs", "--status", "ok", "--limit", "100")) == ok


def test_the_change_digest_counts_what_it_does_not_list():
    """A first crawl of thousands of portals: the text (the terminal, cron's mail, a
    notification) lists ``TEXT_ITEMS`` of each kind and counts the rest; the withdrawals
    and the sources in trouble still show after them. ``as_text(…, None)``: everything."""
    new = [
        {"report_id": i, "source": "s", "title": f"报告{i}", "url": f"http://a/{i}"}
        for i in range(TEXT_ITEMS + 7)
    ]
    withdrawn = [
        {
            "report_id": 1,
            "source": "s",
            "withdrawn_at": "2026-01-01",
            "reason": "gone (404)",
            "title": "报告1",
            "url": "http://a/1",
        }
    ]
    trouble = [{"source": "t", "status": "failed", "reason": "", "blocked": 0, "errors": 2}]
    digest = {"new_reports": new, "new_versions": [], "withdrawn": withdrawn, "sources": trouble}
    lines = as_text(digest).splitlines()
    assert sum(x.startswith("new report ") for x in lines) == TEXT_ITEMS
    assert lines[TEXT_ITEMS].startswith("… and 7 more new reports (the JSON digest")
    assert lines[TEXT_ITEMS + 1 :] == [
        "report 1 (s) withdrawn 2026-01-01 (gone (404)): 报告1",
        "source t: failed, 2 errors",
    ]
    assert sum(x.startswith("new report ") for x in as_text(digest, None).splitlines()) == len(new)
