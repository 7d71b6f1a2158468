"""What a response is, before anything is done with it: one decision, one place.

The spider's ``parse`` used to decide this inline between the things it does about each
kind; here it is a function of the response alone, testable without a crawl:

* ``not_modified`` — a bare 304 (a conditional request confirmed what the archive holds);
* ``gone`` — 404/410 (withdraws a known report; not a page received);
* ``blocked`` — an anti-bot gateway: 412 (瑞数), 521 (加速乐), or a small page carrying a
  challenge script (``$_ts``, ``__jsluid``, a reload loop, 安全验证 …) whatever its status;
* ``document`` — binary, or PDF/DOC/DOCX bytes under any type (an attachment);
* ``page`` — an HTML page to read.

A copy rebuilt from the archive after a 304 (flag ``cached``) is classified like the page it
is; the spider records the 304 itself separately.
"""

from __future__ import annotations

import re

from scrapy.http import Response, TextResponse

from nianbao.pipelines.attachments import is_document

BLOCKED_STATUS = (412, 521)
# A challenge page is small; a real page may mention 安全验证 in passing.
CHALLENGE_MAX_BYTES = 4096
_CHALLENGE = re.compile(
    r"(\$_ts|__jsluid|__jsl_clearance|window\.location\.reload|challenge-platform|安全验证|访问验证)"
)


def classify(response: Response) -> str:
    """``not_modified``, ``gone``, ``blocked``, ``document`` or ``page``."""
    if response.status == 304:
        return "not_modified"
    if response.status in (404, 410):
        return "gone"
    if response.status in BLOCKED_STATUS or (
        isinstance(response, TextResponse)
        and len(response.body) < CHALLENGE_MAX_BYTES
        and _CHALLENGE.search(response.text)
    ):
        return "blocked"
    if not isinstance(response, TextResponse) or is_document(response.body[:16]):
        return "document"
    return "page"
