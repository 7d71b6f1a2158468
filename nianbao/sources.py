"""The sources file: which portals to crawl.

```toml
[[sources]]
name = "fangzheng"                      # unique slug
organ = "方正县人民政府"                   # optional
start_urls = ["http://www.fangzheng.gov.cn/"]
allowed_domains = ["fangzheng.gov.cn"]   # optional; default: the hosts of start_urls
max_pages = 500                          # optional per-source page budget
organ_type = "government"                # optional: "government" or "department" (deadlines)
```
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from nianbao.errors import NianbaoError


class SourcesError(NianbaoError, ValueError):
    """The sources file is missing, malformed or inconsistent; the message says where."""


@dataclass
class SourceConfig:
    name: str
    start_urls: list[str]
    organ: str | None = None
    allowed_domains: list[str] = field(default_factory=list)
    max_pages: int | None = None
    organ_type: str | None = None  # "government" / "department": report deadlines

    def domains(self) -> list[str]:
        if self.allowed_domains:
            return self.allowed_domains
        hosts = [urlsplit(u).hostname or "" for u in self.start_urls]
        return sorted({h for h in hosts if h})


_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def from_url(url: str) -> SourceConfig:
    """An ad-hoc source for ``nianbao crawl --url``: named after its host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourcesError(f"not an http(s) URL: {url!r}")
    name = parts.hostname + (f"-{parts.port}" if parts.port else "")
    return SourceConfig(name=name, start_urls=[url])


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` (1 ≤ K ≤ N) as ``(K, N)``; a :class:`SourcesError` saying what is wrong."""
    k, sep, n = text.partition("/")
    if not sep or not k.strip().isdigit() or not n.strip().isdigit():
        raise SourcesError(f"--shard expects K/N, e.g. 3/10, got {text!r}")
    shard, shards = int(k), int(n)
    if not 1 <= shard <= shards:
        raise SourcesError(f"--shard {text}: K must be between 1 and N")
    return shard, shards


def shard_of(name: str, shards: int) -> int:
    """Which of ``shards`` (1-based) a source belongs to: from its name alone (SHA-256),
    so that every worker given the same list and N splits it the same way, whatever the
    order of the file, and a source keeps its shard as others are added or removed."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big") % shards + 1


def in_shard(sources: list[SourceConfig], shard: int, shards: int) -> list[SourceConfig]:
    """The sources of shard ``shard`` of ``shards``: the N shards of a list are disjoint
    and together hold every source once."""
    return [s for s in sources if shard_of(s.name, shards) == shard]


def load(path: str | Path) -> list[SourceConfig]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourcesError(f"{path}: no such sources file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SourcesError(f"{path}: not valid TOML: {exc}") from None
    entries = data.get("sources")
    if not isinstance(entries, list) or not entries:
        raise SourcesError(f"{path}: expected one or more [[sources]] tables")
    out: list[SourceConfig] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries, 1):
        where = f"{path}: [[sources]] #{i}"
        if not isinstance(entry, dict):
            raise SourcesError(f"{where}: expected a table ([[sources]] with keys), got {entry!r}")
        name = entry.get("name")
        if not isinstance(name, str) or not _SLUG.match(name):
            raise SourcesError(
                f"{where}: 'name' must be a slug (letters, digits, - _ .), got {name!r}"
            )
        if name in seen:
            raise SourcesError(f"{where}: duplicate name {name!r}")
        seen.add(name)
        urls = entry.get("start_urls")
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise SourcesError(f"{where} ({name}): 'start_urls' must be a non-empty list of URLs")
        for u in urls:
            if urlsplit(u).scheme not in ("http", "https"):
                raise SourcesError(f"{where} ({name}): not an http(s) URL: {u!r}")
        domains = entry.get("allowed_domains", [])
        if not isinstance(domains, list) or not all(isinstance(d, str) and d for d in domains):
            raise SourcesError(f"{where} ({name}): 'allowed_domains' must be a list of host names")
        organ = entry.get("organ")
        if organ is not None and not isinstance(organ, str):
            raise SourcesError(f"{where} ({name}): 'organ' must be a string, got {organ!r}")
        max_pages = entry.get("max_pages")
        if max_pages is not None and (not isinstance(max_pages, int) or max_pages < 1):
            raise SourcesError(f"{where} ({name}): 'max_pages' must be a positive integer")
        organ_type = entry.get("organ_type")
        if organ_type is not None and organ_type not in ("government", "department"):
            raise SourcesError(
                f'{where} ({name}): \'organ_type\' must be "government" or "department", '
                f"got {organ_type!r}"
            )
        unknown = set(entry) - {
            "name",
            "organ",
            "organ_type",
            "start_urls",
            "allowed_domains",
            "max_pages",
        }
        if unknown:
            raise SourcesError(f"{where} ({name}): unknown keys {sorted(unknown)}")
        out.append(
            SourceConfig(
                name=name,
                start_urls=urls,
                organ=organ,
                allowed_domains=domains,
                max_pages=max_pages,
                organ_type=organ_type,
            )
        )
    return out


def load_notify(path: str | Path) -> list[str]:
    """The file's top-level ``notify = ["json://…", "mailto://…"]``: Apprise URLs that
    receive the change digest after each crawl (empty when absent)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourcesError(f"{path}: no such sources file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SourcesError(f"{path}: not valid TOML: {exc}") from None
    urls = data.get("notify", [])
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, list) or not all(isinstance(u, str) and u for u in urls):
        raise SourcesError(f"{path}: 'notify' must be a list of notification URLs")
    return urls
