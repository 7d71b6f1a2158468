"""One benchmark crawl in a process of its own (Scrapy's reactor starts once per process).

``python -m benchmarks.crawlrun DB URL bare|full [NAME=VALUE ...]`` runs the same code path as
``nianbao crawl --url URL --db DB`` (``nianbao.crawl.run``), with politeness off so the
software is measured rather than the delays, and prints the crawl's numbers as JSON.
``bare`` removes every item pipeline: the spider still parses and follows every page,
but nothing is extracted, cleaned or stored. ``NAME=VALUE`` arguments are further Scrapy
settings (``NIANBAO_CONDITIONAL_ENABLED=False`` to measure the page cache's cost).
"""

from __future__ import annotations

import json
import sys

from nianbao import crawl
from nianbao.sources import from_url

FAST = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "NIANBAO_MAX_PAGES": "100000",
    "NIANBAO_PROGRESS_INTERVAL": "0",
    "LOG_LEVEL": "WARNING",
}


def main(argv: list[str]) -> None:
    db, url, mode, *extra = argv
    overrides = dict(FAST) | dict(arg.split("=", 1) for arg in extra)
    if mode == "bare":
        overrides["ITEM_PIPELINES"] = "{}"
    [result] = crawl.run([from_url(url)], db, overrides)
    stats = result.stats
    print(
        json.dumps(
            {
                "status": result.status,
                "seconds": float(stats.get("elapsed_time_seconds", 0.0)),
                "responses": int(stats.get("downloader/response_count", 0)),
                "requests": int(stats.get("downloader/request_count", 0)),
                "response_bytes": int(stats.get("downloader/response_bytes", 0)),
                "new_reports": result.new_reports,
                "new_versions": result.new_versions,
                "unchanged": result.unchanged,
                "not_modified": result.not_modified,
                "cached_pages": result.cached_pages,
                "errors": result.errors,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
