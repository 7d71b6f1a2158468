"""The change digest after a crawl: printed, written as JSON, sent through Apprise.

:func:`nianbao.models.digest.run_changes` finds what the crawl's runs changed; this
writes it where the operator asked and sends it to every configured Apprise URL
(``notify = [...]`` in the sources file, ``--notify URL``, or ``$NIANBAO_NOTIFY``,
space-separated): mail (``mailto://``), chat (``dingtalk://``, ``wecombot://``,
``tgram://`` …) or a webhook (``json://host/path``). A crawl that changed nothing
sends nothing.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from nianbao.errors import NianbaoError
from nianbao.models import digest as digest_mod
from nianbao.models.db import open_reader, sessionmaker_for

logger = logging.getLogger(__name__)


class NotifyError(NianbaoError):
    """A notification URL Apprise does not understand."""


def crawl_digest(db_url: str, run_ids: list[int]) -> dict[str, Any]:
    engine = open_reader(db_url)
    try:
        with sessionmaker_for(engine)() as session:
            return digest_mod.run_changes(session, run_ids)
    finally:
        engine.dispose()


def write(digest: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(digest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def title(digest: dict[str, Any]) -> str:
    parts = [
        (len(digest["new_reports"]), "new report(s)"),
        (len(digest["new_versions"]), "changed report(s)"),
        (len(digest["withdrawn"]), "withdrawal(s)"),
        (len(digest["sources"]), "source(s) in trouble"),
    ]
    return "nianbao: " + ", ".join(f"{n} {what}" for n, what in parts if n)


def check(urls: list[str]) -> None:
    """Refuse, before crawling, a URL Apprise does not understand."""
    if not urls:
        return
    import apprise

    for url in urls:
        if not apprise.Apprise().add(url):
            raise NotifyError(f"not a notification URL Apprise understands: {url!r}")


def notify(urls: list[str], digest: dict[str, Any]) -> bool:
    """Send the digest to every URL (one notification per URL); False if any failed.

    Nothing is sent for an empty digest.
    """
    if not urls or digest_mod.is_empty(digest):
        return True
    import apprise

    sender = apprise.Apprise()
    for url in urls:
        if not sender.add(url):
            raise NotifyError(f"not a notification URL Apprise understands: {url!r}")
    failed = not sender.notify(
        title=title(digest), body=digest_mod.as_text(digest), body_format=apprise.NotifyFormat.TEXT
    )
    if failed:
        logger.warning("a change notification could not be sent")
    return not failed
