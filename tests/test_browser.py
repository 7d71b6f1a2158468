"""A real browser on the web view (issue 13): Chromium from Debian's packages, driven by
Playwright, clicks list → report → diff → replay; archived scripts never run.

Needs ``apt-get install chromium`` (no browser download: Playwright is pointed at that
binary, or at ``$NIANBAO_CHROMIUM``). Screenshots go to ``$NIANBAO_TEST_ARTIFACTS``
(default: the test's temporary directory).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import NIANBAO
from tests.test_web import archive  # noqa: F401  (the fixture: a portal archived with XSS)

CHROMIUM = os.environ.get("NIANBAO_CHROMIUM") or shutil.which("chromium")
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(
    not CHROMIUM, reason="needs Debian's chromium (apt-get install chromium)"
)


@pytest.fixture
def served(archive, tmp_path):  # noqa: F811
    _client, report, url, db = archive
    proc = subprocess.Popen(
        [*NIANBAO, "serve", "--db", db, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    port = re.search(r"read-only on http://127\.0\.0\.1:(\d+)/", line).group(1)
    yield f"http://127.0.0.1:{port}", report
    proc.terminate()
    proc.communicate(timeout=30)


def test_click_through_and_nothing_archived_runs(served, tmp_path):
    base, report = served
    shots = Path(os.environ.get("NIANBAO_TEST_ARTIFACTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    dialogs: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(base + "/")
        page.screenshot(path=shots / "1-reports.png", full_page=True)
        page.click(f'a[href="/reports/{report["id"]}"]')
        page.wait_for_load_state()
        assert page.url.endswith(f"/reports/{report['id']}")
        page.screenshot(path=shots / "2-report.png", full_page=True)
        page.click("text=diff with 1")
        page.wait_for_load_state()
        assert "/diff?a=1&b=2" in page.url
        assert page.locator("ins", has_text="检").count() >= 1
        page.screenshot(path=shots / "3-diff.png", full_page=True)
        page.click("text=first change")
        page.screenshot(path=shots / "3-diff-first-change.png")  # the README's picture
        page.goto(base + f"/reports/{report['id']}")
        page.click("text=headers & replay >> nth=-1")
        page.wait_for_load_state()
        frame = page.frame_locator("iframe")
        frame.locator("text=第九条 监督检查。").wait_for()  # the original, rendered, sandboxed
        page.screenshot(path=shots / "4-replay.png", full_page=True)
        # no archived script ran, in the page or in the frame; the app origin has no scripts
        assert dialogs == []
        assert page.evaluate("document.scripts.length") == 0
        browser.close()
    assert all(
        (shots / f).stat().st_size > 0 for f in ("1-reports.png", "3-diff.png", "4-replay.png")
    )
