"""URL canonicalisation, so one page is fetched once per crawl.

w3lib's ``canonicalize_url`` (what Scrapy's own fingerprints use) does the general work:
sorted query arguments, normalised percent-encoding, no fragment. On top of it we drop
what makes one page look like many on Chinese government portals: session ids in the
path (``;jsessionid=``) or the query (``?sid=``, ``PHPSESSID``), tracking parameters,
print/share toggles (``?print=1``, ``&share=wx``) and the default port. (``sid`` is kept on
gkmlpt's list API, where it is the site id.)
"""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

_SESSION_PATH = re.compile(
    r";\s*(jsessionid|phpsessid|sid|sessionid|aspsessionid\w*)=[^/?#;]*", re.I
)
DROP_PARAMS = frozenset(
    {
        "jsessionid",
        "phpsessid",
        "aspsessionid",
        "sid",
        "sessionid",
        "session_id",
        "token",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "from",
        "spm",
        "share",
        "sharefrom",
        "print",
        "isprint",
        "printable",
        "_",
        "timestamp",
        "random",
        "rnd",
    }
)
# Where ``sid`` names the site, not a session: Guangdong's gkmlpt list API
# (``/gkmlpt/api/all/<column>?page=&sid=<site id>``, crawler/cms/gkmlpt.py).
_SITE_ID_PATH = re.compile(r"/gkmlpt/api/", re.I)
_DROP_BUT_SID = DROP_PARAMS - {"sid"}
_DEFAULT_PORT = {"http": 80, "https": 443}
ATTACHMENT_EXT = (".pdf", ".doc", ".docx", ".wps", ".txt")
BINARY_EXT = (
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".bmp",
    ".webp",
    ".svg",
    ".ico",
    ".zip",
    ".rar",
    ".7z",
    ".gz",
    ".tar",
    ".exe",
    ".apk",
    ".mp3",
    ".mp4",
    ".avi",
    ".flv",
    ".wmv",
    ".xls",
    ".xlsx",
    ".ppt",
    ".pptx",
    ".css",
    ".js",
    ".swf",
    ".iso",
    ".dmg",
)


# Every page of a portal repeats its navigation: the same few dozen links, canonicalized on
# every page by the spider, linkwatch and the scheduler (≈ 28 calls a page). A pure
# function of its argument, so remembered; an address that raises is not remembered.
@functools.lru_cache(maxsize=32768)
def canonical(url: str) -> str:
    """The one address a page is fetched under; ``canonical(canonical(u)) == canonical(u)``."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    path = _SESSION_PATH.sub("", parts.path) or "/"
    drop = _DROP_BUT_SID if _SITE_ID_PATH.search(path) else DROP_PARAMS
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.strip().lower() not in drop
        ],
        quote_via=quote,
    )
    netloc = parts.netloc.lower()
    if parts.port is not None and parts.port == _DEFAULT_PORT.get(scheme):
        netloc = netloc.rsplit(":", 1)[0]
    return canonicalize_url(urlunsplit((scheme, netloc, path, query, "")))


def extension(url: str) -> str:
    path = urlsplit(url).path.lower()
    dot = path.rfind(".")
    return path[dot:] if dot > path.rfind("/") else ""


def is_attachment(url: str) -> bool:
    """A report attachment by its address: ``.pdf`` in the path, or in a download query
    (``downfile.jsp?filename=abc.pdf``, the Hanweb way)."""
    if extension(url) in ATTACHMENT_EXT:
        return True
    query = urlsplit(url).query.lower()
    return bool(query) and bool(re.search(r"\.(pdf|docx?|wps)(&|$)", query))


def is_binary(url: str) -> bool:
    return extension(url) in BINARY_EXT
