"""A page read in the cleaning pool is read as the spider reads it in its own process
(crawler/reading.py): the same links, targets, verdict and CMS lists, and a crawl with a
pool archives what a crawl without one archives."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, JsonResponse, TextResponse

from nianbao.crawler.reading import ReadJob, read, read_job
from nianbao.pipelines import workers
from nianbao.pipelines.decode import charset_of, decode, scrapy_codec
from nianbao.pipelines.document import Sealed
from tests.conftest import cli_json

REAL = Path(__file__).parent / "fixtures" / "real"
CMS = Path(__file__).parent / "fixtures" / "cms"


def _real_pages() -> list[Path]:
    pages = sorted((REAL / "pages").glob("*.html"))
    assert len(pages) >= 10, "the saved real pages are missing"
    return pages


def _in_process(cls: type[TextResponse], url: str, body: bytes, ctype: str, known: bool):
    found = decode(body, charset_of(ctype)).encoding
    response = cls(url=url, body=body, encoding=scrapy_codec(found))
    return read(response, found, None, url, known)


def test_a_real_page_read_in_a_worker_is_read_as_in_the_crawl_process():
    """Real saved pages (their provenance: tests/fixtures/real/manifest.toml), through a real
    worker process: everything the spider acts on is the same, and a candidate comes back
    cleaned."""
    pool = workers.Pool(1)
    jobs = []
    for path in _real_pages():
        url = f"http://www.example.gov.cn/{path.stem}/t20230101_1.html"
        body = path.read_bytes()
        for known in (False, True):
            jobs.append(ReadJob(HtmlResponse, url, 200, body, "text/html", None, url, known, {}))

    async def main():
        return await asyncio.gather(*(pool.submit(read_job, job) for job in jobs))

    try:
        got = asyncio.run(main())
    finally:
        pool.close()
    cleaned = 0
    for job, reading in zip(jobs, got, strict=True):
        here = _in_process(HtmlResponse, job.url, job.body, job.content_type, job.known_report)
        assert reading.encoding == here.encoding, job.url
        assert (reading.title, reading.candidate) == (here.title, here.candidate), job.url
        assert reading.links == here.links, job.url
        assert reading.targets == here.targets, job.url
        assert reading.landing_fields == here.landing_fields, job.url
        assert reading.cms == here.cms, job.url
        if reading.candidate or job.known_report:
            assert isinstance(reading.doc, Sealed) and reading.spent, job.url
            assert set(reading.spent) >= {"extract", "normalize"}
            cleaned += 1
        else:
            assert reading.doc is None
    assert cleaned >= len(jobs) // 2
    assert sum(bool(r.links) for r in got) >= len(got) // 2


def test_cms_lists_are_read_in_a_worker_as_in_the_crawl_process():
    """Recorded real CMS material (tests/fixtures/cms/manifest.toml): a 大汉 column page
    whose records sit in a ``<script type="text/xml">`` datastore (links no parser sees)
    and an Epoint list API's JSON answer, read through a real worker."""
    dingxi = (CMS / "dingxi_col12377_datastore.xml").read_text(encoding="utf-8")
    column = (
        '<html><head><title>年度报告</title></head><body><div id="38486">'
        f'<script type="text/xml">{dingxi}</script></div></body></html>'
    ).encode()
    url = "http://www.dingxi.gov.cn/col/col12377/index.html"
    api = "http://tendering.sinosteel.com/EWB-FRONT/rest/frontAppCustomAction/getPageInfoListNew"
    jobs = [
        ReadJob(HtmlResponse, url, 200, column, "text/html; charset=utf-8", None, url, False, {}),
        ReadJob(
            JsonResponse,
            api,
            200,
            (CMS / "sinosteel_getPageInfoListNew.json").read_bytes(),
            "application/json",
            None,
            api,
            False,
            {},
        ),
    ]
    pool = workers.Pool(1)

    async def main():
        return await asyncio.gather(*(pool.submit(read_job, job) for job in jobs))

    try:
        page, answer = asyncio.run(main())
    finally:
        pool.close()
    here = _in_process(HtmlResponse, url, column, jobs[0].content_type, False)
    assert page.links == here.links and len(page.links) >= 45  # the datastore's records
    assert page.cms == here.cms and page.cms  # its next group
    assert page.doc is None or page.candidate  # a list page is not cleaned unless a candidate
    json_here = _in_process(JsonResponse, api, jobs[1].body, "application/json", False)
    assert answer.json and json_here.json
    assert answer.cms == json_here.cms and answer.doc is None


_RUN = """
import json, sys
from nianbao import crawl
from nianbao.sources import SourceConfig

url, db, workers = sys.argv[1], sys.argv[2], sys.argv[3]
fast = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "LOG_LEVEL": "WARNING",
        "NIANBAO_CLEAN_WORKERS": workers}
(result,) = crawl.run([SourceConfig("county", [url])], db, fast)
keys = ("portal/read_in_pool", "portal/candidates", "downloader/request_count",
        "archive/new_reports", "clean/cpu_ms/extract")
print(json.dumps({k: result.stats.get(k, 0) for k in keys}))
"""


@pytest.mark.backend("sqlite", "postgresql")
def test_a_crawl_reading_in_its_pool_archives_what_one_without_a_pool_does(
    tmp_path, county, serve, db_url
):
    """The county portal (TRS UTF-8, Hanweb GBK, a DOCX attachment found from its landing
    page, look-alike negatives), served gzip: crawled with two cleaning workers (every
    page read there, candidates cleaned there) and with none (read and cleaned in the
    crawl process), the same requests, reports, texts and captures."""
    server = serve(county)
    here = f"sqlite:///{tmp_path / 'here.sqlite'}"
    stats = {}
    for db, n in ((db_url, "2"), (here, "0")):
        proc = subprocess.run(
            [sys.executable, "-c", _RUN, server.url("/"), db, n],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        stats[n] = json.loads(proc.stdout.strip().splitlines()[-1])
    pooled, alone = stats["2"], stats["0"]
    # the pages the spider read went to the pool (not robots.txt, the DOCX, the 404s)
    assert pooled["portal/read_in_pool"] >= pooled["downloader/request_count"] // 2
    assert alone["portal/read_in_pool"] == 0
    for key in ("portal/candidates", "downloader/request_count", "archive/new_reports"):
        assert pooled[key] == alone[key], key
    assert pooled["clean/cpu_ms/extract"] > 0 and alone["clean/cpu_ms/extract"] > 0

    def archive(db: str) -> list[tuple]:
        out = []
        for r in cli_json(db, "reports"):
            shown = cli_json(db, "show", str(r["id"]))
            captures = cli_json(db, "captures", str(r["id"]))
            out.append(
                (
                    r["organ"],
                    r["year"],
                    r["title"],
                    r["url"],
                    shown["text"],
                    sorted((c["url"], c["status"]) for c in captures),
                )
            )
        return sorted(out)

    got = archive(db_url)
    assert len(got) == 3
    assert got == archive(here)


# A script, not ``-c``: a replacement worker started once the crawl has threads is spawned,
# and a spawned worker imports the script (as ``__mp_main__``), so it is patched too.
_CRASH = """
import json, os, sys
import nianbao.crawler.reading as reading

real = reading.read


def read(response, *args, **kwargs):
    # in a cleaning worker only (forked or spawned from the crawl, which set the variable)
    if response.url.endswith("_1001.html") and os.environ["CRASH_CRAWL"] != str(os.getpid()):
        os._exit(3)  # as a crash in a C parser would end it
    return real(response, *args, **kwargs)


reading.read = read

if __name__ == "__main__":
    from nianbao import crawl
    from nianbao.sources import SourceConfig

    os.environ["CRASH_CRAWL"] = str(os.getpid())
    url, db = sys.argv[1], sys.argv[2]
    fast = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "LOG_LEVEL": "WARNING"}
    (result,) = crawl.run([SourceConfig("county", [url])], db, fast)
    keys = ("portal/read_lost", "portal/read_in_pool", "archive/new_reports")
    print(json.dumps({k: result.stats.get(k, 0) for k in keys} | {"status": result.status}))
"""


def test_a_worker_lost_while_reading_a_page_keeps_its_capture_and_the_crawl_goes_on(
    tmp_path, county, serve
):
    """A worker that dies reading one page (a real process ending mid-job): that page's
    bytes are archived as a capture, an error line names it, its links are not followed
    this time; the worker is replaced, the pages it held with it are read again, and the
    other reports are archived."""
    server = serve(county)
    db = tmp_path / "lost.sqlite"
    script = tmp_path / "crash.py"
    script.write_text(_CRASH)
    proc = subprocess.run(
        [sys.executable, str(script), server.url("/"), f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    # Only the page that killed it fails: the pages queued on it with it are tried again,
    # each alone, and the killer, alone, ends a second worker.
    lost = re.findall(r"reading (\S+) failed: the cleaning worker", proc.stderr)
    assert len(lost) == 1 and lost[0].endswith("_1001.html"), proc.stderr[-2000:]
    assert stats["portal/read_lost"] == 1
    # and the crawl's end says what the deaths cost
    assert re.search(
        r"cleaning workers: [12] ended and were started again; \d+ page\(s\)"
        r" they held were tried again alone, 1 lost",
        proc.stderr,
    ), proc.stderr[-2000:]
    assert stats["archive/new_reports"] == 2  # every other report is archived
    assert stats["portal/read_in_pool"] >= 8
    assert stats["status"] != "failed"
    with sqlite3.connect(db) as conn:
        kept = conn.execute(
            "SELECT kind, status, body_sha256 FROM captures WHERE url LIKE '%\\_1001.html' ESCAPE '\\'"
        ).fetchall()
    assert len(kept) == 1 and kept[0][1] == 200 and kept[0][2], kept
