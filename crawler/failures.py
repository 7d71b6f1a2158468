"""Why a request of the portal spider produced nothing, logged and counted.

Every refusal or failure lands in one ``portal/skipped/<reason>`` counter (stored with the
crawl run), so an operator can tell a polite crawl (robots.txt, budget, traps) from a
broken one (errors), and see oversized or binary answers that were deliberately dropped.
"""

from __future__ import annotations

import logging

from scrapy.exceptions import DownloadCancelledError, IgnoreRequest, StopDownload
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.statscollectors import StatsCollector
from twisted.python.failure import Failure

from nianbao.crawler.middlewares import BudgetExhausted, DownloadTimeLimit, RedirectLoop
from nianbao.crawler.robots import RobotsUnavailable


def record(failure: Failure, stats: StatsCollector, logger: logging.LoggerAdapter) -> str:  # type: ignore[type-arg]
    """Count ``failure`` under ``portal/skipped/<reason>``, log it; return the reason."""
    request = failure.request  # type: ignore[attr-defined]
    if failure.check(BudgetExhausted):
        reason = "budget"
    elif failure.check(DownloadTimeLimit):
        reason = "timeout"  # logged by BackoffRetryMiddleware, with the attempts
    elif failure.check(RedirectLoop):
        reason = "redirect_loop"  # logged by the middleware, with the chain
    elif failure.check(RobotsUnavailable):
        reason = "robots_unavailable"  # logged once per host by crawler.robots
    elif failure.check(IgnoreRequest) and "robots.txt" in str(failure.value):
        reason = "robots"
        logger.info("robots.txt forbids %s; not fetched", request.url)
    elif failure.check(DownloadCancelledError):
        reason = "too_large"
        logger.warning(
            "skipped %s: larger than the size limit (%s bytes); not archived",
            request.url,
            request.meta.get("download_maxsize"),
        )
    elif failure.check(StopDownload):
        reason = "binary_as_text"  # logged by BinaryGuard, with the first bytes
    elif failure.check(HttpError):
        status = failure.value.response.status  # type: ignore[union-attr]
        reason = f"http_{status}"
        logger.info("HTTP %s at %s; nothing archived", status, request.url)
    else:
        reason = "error"
        logger.warning("fetching %s failed: %s", request.url, failure.getErrorMessage())
    stats.inc_value(f"portal/skipped/{reason}")
    return reason
