"""Scrapy settings for nianbao: the only place crawl behaviour is configured.

`nianbao crawl -s NAME=VALUE` and `scrapy crawl portal -s NAME=VALUE` override any of these
for one run. Defaults are polite: robots.txt obeyed, two requests at a time per site,
AutoThrottle, retries that back off (and honour Retry-After), size limits, a named
User-Agent with a contact URL.
"""

from scrapy.settings import default_settings as _default

BOT_NAME = "nianbao"
SPIDER_MODULES = ["nianbao.crawler.spiders"]
NEWSPIDER_MODULE = "nianbao.crawler.spiders"

# --- Politeness -------------------------------------------------------------------------
USER_AGENT = "nianbao/0.1 (+https://github.com/nianbao/nianbao; archive of government information-disclosure annual reports)"
ROBOTSTXT_OBEY = True
# One crawler per source, so the total is per portal too. Keep it equal to the per-domain
# limit: Scrapy moves up to CONCURRENT_REQUESTS requests from the (priority) scheduler
# into a first-in-first-out download slot queue, so a larger total would make the
# report-column-first priorities meaningless. Many sources still run in parallel.
CONCURRENT_REQUESTS = 2
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# Scrapy 2.13+ starts this many asyncio tasks for *every* response to work off what the
# callback yielded (scrapy.utils.asyncio._parallel_asyncio), whether it yielded 1 or 100
# things. A page here yields one item and a few requests; at the default 100, creating and
# ending the idle tasks was 15 % of a crawl's CPU (30 portals × 40 reports, bare Scrapy
# 14.9 → 12.6 s). Items are still processed concurrently across responses.
CONCURRENT_ITEMS = 8
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Retries wait: Retry-After when the server sends one, else BASE * 2**(n-1) s; never more
# than MAX s; on 429/503 the whole source pauses meanwhile
# (crawler.middlewares.BackoffRetryMiddleware replaces Scrapy's RetryMiddleware).
NIANBAO_BACKOFF_BASE = 2.0
NIANBAO_BACKOFF_MAX = 60.0
# Seconds one URL may take across all its attempts (DOWNLOAD_TIMEOUT cuts one attempt,
# body included): a page trickling 12 bytes/s is given up after this, logged and counted
# as portal/skipped/timeout. 0: no total limit.
NIANBAO_MAX_DOWNLOAD_SECONDS = 60.0
# Size limits: an HTML page larger than NIANBAO_MAX_PAGE_BYTES, an attachment larger than
# DOWNLOAD_MAXSIZE is cancelled (before reading, when Content-Length says so), logged and
# counted as portal/skipped/too_large. A binary served as text/html is stopped after its
# first bytes by crawler.middlewares.BinaryGuard.
NIANBAO_MAX_PAGE_BYTES = 10 * 1024 * 1024
DOWNLOAD_MAXSIZE = 30 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
NIANBAO_BINARY_GUARD_ENABLED = True
REDIRECT_MAX_TIMES = 5
# 404/410 mark a report withdrawn; 412/521 are anti-bot gateways: the spider must see them.
HTTPERROR_ALLOWED_CODES = [304, 404, 410, 412, 521]
COOKIES_ENABLED = True
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19 starts an HTTP server in every crawl (RemoteControl, on by default) that runs
# Python code sent to it, and writes its port and token to the user's profile. An
# unattended archive crawl has no use for a remote shell into its process.
REMOTE_CONTROL_ENABLED = False

# The exchange as it crossed the network (request head, response head, peer, body before
# content decoding) is recorded for every capture: crawler/wire.py.
DOWNLOAD_HANDLERS = {
    "http": "nianbao.crawler.wire.WireDownloadHandler",
    "https": "nianbao.crawler.wire.WireDownloadHandler",
}

DOWNLOADER_MIDDLEWARES = {
    # Content-Encoding undone where Scrapy's HttpCompressionMiddleware would do it, keeping
    # the body as received for the archive (gzip, deflate, br, zstd; bounded by
    # DOWNLOAD_MAXSIZE after decoding)
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "nianbao.crawler.wire.ContentDecoding": 590,
    # robots.txt answering 5xx means "disallow all" for that host (RFC 9309 §2.3.1.4)
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "nianbao.crawler.robots.RobotsTxt": 100,
    # after RobotsTxtMiddleware (100): a forbidden URL spends no budget
    "nianbao.crawler.middlewares.PageBudgetMiddleware": 120,
    # new downloads wait while the cleaning workers are far behind (NIANBAO_CLEAN_BACKLOG)
    "nianbao.crawler.middlewares.CleaningBackpressure": 130,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "nianbao.crawler.middlewares.BackoffRetryMiddleware": 550,
    # If-None-Match / If-Modified-Since for report URLs the archive holds (NIANBAO_CONDITIONAL_*)
    "nianbao.crawler.conditional.ConditionalRequests": 560,
    # sees 3xx before RedirectMiddleware (600) does
    "nianbao.crawler.middlewares.RedirectLoopMiddleware": 650,
    # a refresh to javascript: keeps its page instead of failing it ("Missing scheme")
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "nianbao.crawler.middlewares.HttpMetaRefresh": 580,
    # the Public Suffix List read from tldextract's snapshot, never downloaded (crawler/cookies.py)
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
    "nianbao.crawler.cookies.CookiesMiddleware": 700,
}

# --- Discovery (crawler/links.py, crawler/traps.py, crawler/sitemaps.py) -----------------
# Requests per source per crawl, spent in priority order; sources.toml max_pages overrides.
NIANBAO_MAX_PAGES = 2000
# At most this many times the budget is queued (bounds memory on huge sitemaps).
NIANBAO_QUEUE_FACTOR = 5
# Links followed from a start URL; pagination does not count (crawler/spiders/portal.py).
NIANBAO_MAX_DEPTH = 6
# The fallback crawl (links with nothing promising about them) starts only when the
# promising frontier is exhausted, in batches, and stops this many links away from the
# last promising page.
NIANBAO_MAX_COLD_HOPS = 3
NIANBAO_FALLBACK_BATCH = 20
# released as soon as the source's requests are done, not when its items are archived too
SPIDER_MIDDLEWARES = {"nianbao.crawler.fallback.FrontierWatch": 10}
# Calendars and date archives: fetches per address pattern (digits collapsed) per crawl.
NIANBAO_TRAP_MAX_PER_PATTERN = 12
# Pagination: a list's pager is no longer followed once this many consecutive pages of it
# brought no link not seen before (an endless ?page=N), counted as portal/trap/empty_pages.
# 0: no limit.
NIANBAO_TRAP_MAX_EMPTY_PAGES = 5
# Read robots.txt Sitemap: lines (else /sitemap.xml) and queue the pages they list.
# Set by nianbao.crawl when a --jobdir crawl continues after a graceful stop.
NIANBAO_RESUMED = False
NIANBAO_SITEMAPS = True
# Scrapy's own depth counts every hop, pagination included: a ceiling for pathological
# sites only, well above NIANBAO_MAX_DEPTH plus a long paginated column.
DEPTH_LIMIT = 60
DEPTH_PRIORITY = 0

# --- Archive ----------------------------------------------------------------------------
# SQLAlchemy URL or a SQLite path; empty means $NIANBAO_DB (read when the crawl opens the
# archive, not when this module is imported), else the per-user default file.
NIANBAO_DB = ""

# --- Incremental recrawls ----------------------------------------------------------------
# Report URLs the archive holds are requested with If-None-Match / If-Modified-Since from
# their latest capture; a 304 is archived as "seen again, unchanged" (crawler/conditional.py).
NIANBAO_CONDITIONAL_ENABLED = True  # (crawler.conditional in DOWNLOADER_MIDDLEWARES above)
# Revisit schedule of report URLs (models.incremental.Revisit): asked again this many hours
# after their last check, the wait doubling with each unchanged check up to the maximum;
# 0 asks every report every crawl (``nianbao crawl --recheck``). Lists are asked every crawl.
NIANBAO_REVISIT_MIN = 20.0
NIANBAO_REVISIT_MAX = 168.0
# After a complete crawl, reports no page links to any more are marked withdrawn
# ("unlinked"); see crawler/linkwatch.py for what "complete" means.
NIANBAO_LINKWATCH_ENABLED = True

# --- Shared frontier (Redis) -------------------------------------------------------------
# A Redis URL (or $NIANBAO_REDIS; `nianbao crawl --redis URL`) makes every crawler process
# pointed at it share one request queue and duplicate filter per source (scrapy-redis, see
# crawler/frontier.py and the README's "Scaling out"). Empty: Scrapy's in-process scheduler.
NIANBAO_REDIS_URL = ""  # empty: $NIANBAO_REDIS when the crawler starts, else no Redis
NIANBAO_REDIS_PREFIX = "nianbao"  # keys: <prefix>:<source>:requests|dupefilter|budget|workers
NIANBAO_REDIS_WORKER_TIMEOUT = 600  # s without taking a request before a worker counts as dead
NIANBAO_REDIS_IDLE_POLL = 0.5  # s between an idle worker's looks at the shared queue
# False: Redis keeps only the politeness below, each worker crawling sources of its own
# (`nianbao crawl --shard K/N` sets it: a source is crawled by one worker, start to end).
NIANBAO_REDIS_FRONTIER = True
# With Redis, each host's concurrency (CONCURRENT_REQUESTS_PER_DOMAIN) and delay
# (DOWNLOAD_DELAY) hold for all workers together, not for each (crawler/polite.py): a fetch
# starts under a lease on its host kept in Redis. Set CONCURRENT_REQUESTS_PER_IP (Scrapy's
# setting; 0 = off) to key by the host's resolved IP instead, with that concurrency, so the
# sources of one shared platform share one allowance.
NIANBAO_POLITE_SHARED = True
NIANBAO_POLITE_POLL = 0.1  # s between looks while a host's concurrency is taken
NIANBAO_POLITE_LEASE_MARGIN = 15.0  # a dead worker's lease expires after timeout + this
ADDONS = {
    "nianbao.crawler.frontier.RedisFrontier": 100,
    # CONCURRENT_REQUESTS_PER_IP with a scheduler queue that accepts it (crawler/polite.py)
    "nianbao.crawler.polite.PerIpQueue": 110,
}

# --- Pipelines: the data path, in order ---------------------------------------------------
ITEM_PIPELINES = {
    # extract → normalize → boilerplate → relevance → fingerprint → recognize
    # (pipelines.derive.STAGES), in the cleaning pool (NIANBAO_CLEAN_WORKERS)
    "nianbao.pipelines.stage.CleanPipeline": 100,
    "nianbao.crawler.store.StorePipeline": 900,
}

# --- Engine -----------------------------------------------------------------------------
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
# Scrapy checks every callback for "a generator that returns a value" by parsing its source
# (inspect + ast) on every response: its cache is keyed by weak references to bound methods,
# which die at once, so it never hits (11–16 % of the reactor's CPU on a recrawl). A
# development aid, off: tests/test_settings.py runs the check once over the spider.
WARN_ON_GENERATOR_RETURN_VALUE = False
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
LOGSTATS_INTERVAL = 30.0

# --- Operator output --------------------------------------------------------------------
EXTENSIONS = {
    # stops a binary body served as text/html after its first bytes (NIANBAO_BINARY_GUARD_*)
    "nianbao.crawler.middlewares.BinaryGuard": 100,
    "nianbao.crawler.progress.Progress": 500,
    "nianbao.crawler.linkwatch.LinkWatch": 510,
}
# Scrapy's own extensions, less the two that are off anyway (TELNETCONSOLE_ENABLED and
# REMOTE_CONTROL_ENABLED above) and cost start-up just to be loaded and told so: RemoteControl
# imports aiohttp (0.25-0.4 s of every crawl process), TelnetConsole twisted.conch. Taken
# out of the base, not set to None in EXTENSIONS: Scrapy imports every key of EXTENSIONS to
# normalise it, None or not (scrapy/settings/__init__.py, normalize_key).
EXTENSIONS_BASE = {
    name: order
    for name, order in _default.EXTENSIONS_BASE.items()
    if name
    not in (
        "scrapy.extensions.remote_control.RemoteControl",
        "scrapy.extensions.telnet.TelnetConsole",
    )
}
NIANBAO_PROGRESS_INTERVAL = 10.0

# --- Cleaning ---------------------------------------------------------------------------
# Processes that run the cleaning stages off the reactor thread (pipelines/stage.py), one
# pool per crawl process shared by all its sources; 0 cleans in the reactor thread.
NIANBAO_CLEAN_WORKERS = 2
# Pages waiting for those processes, in all of the crawl's sources together, at which new
# downloads wait (until half are cleaned); 0: never. ~90 KB a page in the crawl process.
NIANBAO_CLEAN_BACKLOG = 1000
# Downloads on the wire at once in one crawl process, all sources together (Scrapy's limits
# are per source): past what the process can answer, requests wait for their answers to be
# read until they time out (crawler/inflight.py, taken by the download handler). 0: no cap.
NIANBAO_MAX_IN_FLIGHT = 512
# Sources crawled at once by one process, the next starting as one ends (0: all at once).
# Each is a Scrapy crawler with its own engine, queue and downloader: 1,000 local portals
# × 10 reports took 127.7 s and 745 MB all at once, 104.8 s and 430 MB 250 at a time,
# 94.8 s and 383 MB 100 at a time (2026-12-01); 300 × 40: 94.3 s all, 92.3 s 250 at a
# time. On the real web a source's politeness delay (≈ 1 request/s) makes 250 sources
# about one core's work, which fewer would leave idle.
NIANBAO_MAX_SOURCES_AT_ONCE = 250
