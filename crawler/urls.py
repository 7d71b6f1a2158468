"""URL canonicalisation, so one page is fetched once per crawl.

Session ids (``;jsessionid=``, ``?sid=``, ``PHPSESSID``), fragments, tracking parameters
and print/share variants collapse to one address; query parameters are sorted.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_SESSION_PATH = re.compile(r";(jsessionid|phpsessid|sid)=[^/?#]*", re.I)
_DROP_PARAMS = {
    "jsessionid",
    "phpsessid",
    "sid",
    "sessionid",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "from",
    "spm",
    "share",
    "print",
    "isprint",
    "_",
}
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


def canonical(url: str) -> str:
    parts = urlsplit(url)
    path = _SESSION_PATH.sub("", parts.path) or "/"
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in _DROP_PARAMS
    )
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(query), ""))


def extension(url: str) -> str:
    path = urlsplit(url).path.lower()
    dot = path.rfind(".")
    return path[dot:] if dot > path.rfind("/") else ""


def is_attachment(url: str) -> bool:
    return extension(url) in ATTACHMENT_EXT


def is_binary(url: str) -> bool:
    return extension(url) in BINARY_EXT
