"""Scrapy settings for nianbao: the only place crawl behaviour is configured.

`nianbao crawl -s NAME=VALUE` and `scrapy crawl portal -s NAME=VALUE` override any of these
for one run. Defaults are polite: robots.txt obeyed, two requests at a time per site,
AutoThrottle, a named User-Agent with a contact URL.
"""

import os

BOT_NAME = "nianbao"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# --- Politeness -------------------------------------------------------------------------
USER_AGENT = "nianbao/0.1 (+https://github.com/nianbao/nianbao; archive of 政府信息公开年报)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# A 50 MB "page" or a binary served as text/html is cut off, not read into memory whole.
DOWNLOAD_MAXSIZE = 30 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
REDIRECT_MAX_TIMES = 5
# 404/410 mark a report withdrawn; 412/521 are anti-bot gateways: the spider must see them.
HTTPERROR_ALLOWED_CODES = [304, 404, 410, 412, 521]
COOKIES_ENABLED = True
TELNETCONSOLE_ENABLED = False

DOWNLOADER_MIDDLEWARES = {
    # If-None-Match / If-Modified-Since for report URLs the archive holds (NIANBAO_CONDITIONAL_*)
    "crawler.conditional.ConditionalRequests": 560,
}

# --- Discovery budget (a source in sources.toml may override per portal) -------------------
NIANBAO_MAX_PAGES = 2000  # requests per source per crawl
NIANBAO_MAX_DEPTH = 6
DEPTH_LIMIT = 8
DEPTH_PRIORITY = 0

# --- Archive ----------------------------------------------------------------------------
# SQLAlchemy URL or a SQLite path; empty means $NIANBAO_DB, else the per-user default file.
NIANBAO_DB = os.environ.get("NIANBAO_DB", "")

# --- Incremental recrawls ----------------------------------------------------------------
# Report URLs the archive holds are requested with If-None-Match / If-Modified-Since from
# their latest capture; a 304 is archived as "seen again, unchanged" (crawler/conditional.py).
NIANBAO_CONDITIONAL_ENABLED = True  # (crawler.conditional in DOWNLOADER_MIDDLEWARES above)
# After a complete crawl, reports no page links to any more are marked withdrawn
# ("unlinked"); see crawler/linkwatch.py for what "complete" means.
NIANBAO_LINKWATCH_ENABLED = True

# --- Shared frontier (Redis) -------------------------------------------------------------
# A Redis URL (or $NIANBAO_REDIS; `nianbao crawl --redis URL`) makes every crawler process
# pointed at it share one request queue and duplicate filter per source (scrapy-redis, see
# crawler/frontier.py and the README's "Scaling out"). Empty: Scrapy's in-process scheduler.
NIANBAO_REDIS_URL = os.environ.get("NIANBAO_REDIS", "")
NIANBAO_REDIS_PREFIX = "nianbao"  # keys: <prefix>:<source>:requests|dupefilter|budget|workers
NIANBAO_REDIS_WORKER_TIMEOUT = 600  # s without taking a request before a worker counts as dead
NIANBAO_REDIS_IDLE_POLL = 0.5  # s between an idle worker's looks at the shared queue
ADDONS = {"crawler.frontier.RedisFrontier": 100}

# --- Pipelines: the data path, in order ---------------------------------------------------
ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.normalize.NormalizePipeline": 200,
    "pipelines.boilerplate.BoilerplatePipeline": 300,
    "pipelines.relevance.RelevancePipeline": 400,
    "pipelines.fingerprint.FingerprintPipeline": 500,
    "pipelines.recognize.RecognizePipeline": 600,
    "pipelines.store.StorePipeline": 900,
}

# --- Engine -----------------------------------------------------------------------------
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
LOGSTATS_INTERVAL = 30.0

# --- Operator output --------------------------------------------------------------------
EXTENSIONS = {"crawler.progress.Progress": 500, "crawler.linkwatch.LinkWatch": 510}
NIANBAO_PROGRESS_INTERVAL = 10.0
