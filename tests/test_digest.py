"""The change digest after a crawl (issue 17): printed, written as JSON, sent via Apprise.

The notification goes to a webhook receiver the test starts on 127.0.0.1: a crawl that
finds a changed report sends exactly one notification, and it names the change.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nianbao.demo.portalgen import Report, county_portal
from nianbao.models.digest import char_changes, describe
from tests.conftest import FAST, cli


def test_char_changes_name_the_corrected_figure():
    old = "一、概述\n全年主动公开各类政务信息4395条。其中，政府网站公开972条。\n二、其他"
    new = old.replace("4395", "4396").replace("972条", "973条")
    got = char_changes(old, new)
    assert got["chars_added"] == 2 and got["chars_removed"] == 2
    assert [describe(c) for c in got["changes"]] == [
        "…全年主动公开各类政务信息「4395」→「4396」",
        "…5条。其中，政府网站公开「972」→「973」",
    ]


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook():
    _Hook.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], _Hook.received
    server.shutdown()
    server.server_close()


def _portal(seeds, figure: str):
    title, lines = seeds["002"]
    lines = [line.replace("政务信息4395条", f"政务信息{figure}条") for line in lines]
    _t0, l0 = seeds["000"]
    return county_portal(
        [
            Report("1001", title, lines, "2015-01-20", "trs"),
            Report("1002", _t0, l0, "2014-03-05", "hanweb"),
        ],
        "方正县",
    )


@pytest.mark.backend("sqlite", "postgresql")
def test_a_crawl_finding_a_changed_report_sends_one_notification(
    db_url, serve, seeds, webhook, tmp_path
):
    port, received = webhook
    portal = _portal(seeds, "4395")
    server = serve(portal)
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f'notify = ["json://127.0.0.1:{port}/hook"]\n'
        f'[[sources]]\nname = "fz"\nstart_urls = ["{server.url("/")}"]\n',
        encoding="utf-8",
    )
    first = cli(db_url, "crawl", "--sources", str(sources), *FAST)
    assert "new report" in first.stdout
    assert len(received) == 1 and "2 new report(s)" in received[0]["title"]

    received.clear()
    for path, page in _portal(seeds, "4396")._pages.items():
        portal.set(path, page)
    digest_file = tmp_path / "digest.json"
    second = cli(db_url, "crawl", "--sources", str(sources), *FAST, "--digest", str(digest_file))
    assert "「4395」→「4396」" in second.stdout, second.stdout
    assert len(received) == 1, received
    [note] = received
    assert note["title"] == "nianbao: 1 changed report(s)"
    assert "changed, version 2" in note["message"] and "「4395」→「4396」" in note["message"]
    digest = json.loads(digest_file.read_text(encoding="utf-8"))
    assert digest["new_reports"] == [] and digest["withdrawn"] == []
    [version] = digest["new_versions"]
    assert version["version"] == 2 and version["changes"][0]["new"] == "4396"

    received.clear()
    third = cli(db_url, "crawl", "--sources", str(sources), *FAST)
    assert "changes:" not in third.stdout and received == []  # nothing changed: silence


def test_a_bad_notification_url_is_refused_before_crawling(db_url):
    proc = cli(db_url, "crawl", "--url", "http://127.0.0.1:1/", "--notify", "nope://x", check=False)
    assert proc.returncode == 1 and "not a notification URL" in proc.stderr
    assert "Traceback" not in proc.stderr
