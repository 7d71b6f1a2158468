"""The shared frontier queues requests as JSON: a pickle pushed onto it never runs."""

from __future__ import annotations

import os
import pickle
import secrets

import pytest
from scrapy import Request, Spider
from scrapy.settings import Settings

from nianbao.crawler import serializer
from nianbao.crawler.cms.hanweb import Group
from nianbao.crawler.frontier import RedisFrontier
from tests.conftest import REDIS_ENV


class _Spider(Spider):
    name = "portal"

    def parse(self, response):  # pragma: no cover - never called
        return None

    def parse_report(self, response):  # pragma: no cover - never called
        return None


def _request() -> Request:
    return Request(
        "http://a.gov.cn/xxgk/ndbg/index_1.html?page=2",
        callback=_Spider().parse_report,
        method="POST",
        body=b"col=1&\xff\x00",
        headers={"If-None-Match": '"abc"', "X-Bytes": b"\xe5\xb9\xb4"},
        meta={"hanweb_group": Group("http://a.gov.cn/d.jsp", {"col": "1"}, 1, 45),
              "known_report": True, "pair": (1, "a")},
        priority=30,
    )  # fmt: skip


class _Evil:
    """Unpickling this would create a file: the proof that a pickle ran."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_request_survives_the_json_round_trip():
    spider = _Spider()
    original = _request()
    data = serializer.dumps(original.to_dict(spider=spider))
    assert data.startswith(b"{") and b"pickle" not in data
    from scrapy.utils.request import request_from_dict

    back = request_from_dict(serializer.loads(data), spider=spider)
    assert (back.url, back.method, back.body, back.priority) == (
        original.url, original.method, original.body, original.priority)  # fmt: skip
    assert back.headers.getlist("X-Bytes") == [b"\xe5\xb9\xb4"]
    assert back.meta["hanweb_group"] == original.meta["hanweb_group"]
    assert back.meta["pair"] == (1, "a")
    assert back.callback == spider.parse_report


def test_a_pickle_or_an_unknown_type_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    with pytest.raises(ValueError, match="not JSON"):
        serializer.loads(pickle.dumps({"url": _Evil(str(marker))}))
    with pytest.raises(ValueError, match="unknown type"):
        serializer.loads(b'{"meta": {"x": {"__dataclass__": "os.system", "fields": {}}}}')
    assert not marker.exists()


def test_the_frontier_add_on_sets_the_json_serializer():
    settings = Settings({"NIANBAO_REDIS_URL": "redis://127.0.0.1:6379/0"})
    try:
        RedisFrontier().update_settings(settings)
    except Exception as exc:  # check() may refuse an unreachable Redis
        pytest.skip(f"no Redis for the add-on's check: {exc}")
    assert settings.get("SCHEDULER_SERIALIZER") == "nianbao.crawler.serializer"


def test_a_pickle_pushed_onto_the_real_queue_is_not_executed(tmp_path):
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set")
    import redis
    from scrapy_redis.queue import PriorityQueue

    client = redis.Redis.from_url(url)
    key = f"nianbao_test_{os.getpid()}_{secrets.token_hex(4)}:requests"
    spider = _Spider()
    queue = PriorityQueue(client, spider, key, serializer=serializer)
    marker = tmp_path / "pwned"
    try:
        client.zadd(key, {pickle.dumps(_Evil(str(marker))): 0})  # what an attacker pushes
        queue.push(_request())
        popped = []
        for _ in range(2):
            try:
                popped.append(queue.pop())
            except ValueError:
                popped.append("refused")
        assert "refused" in popped and not marker.exists()
        assert any(isinstance(p, Request) and p.url.endswith("page=2") for p in popped)
    finally:
        client.delete(key)
        client.close()
