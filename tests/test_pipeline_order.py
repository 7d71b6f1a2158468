"""The crawl cleans with one item pipeline that runs reprocess's STAGES, in their order."""

from __future__ import annotations

from nianbao.crawler import settings
from nianbao.pipelines.derive import STAGES


def test_the_crawl_cleans_with_derives_stages_then_stores():
    ordered = [path for path, _ in sorted(settings.ITEM_PIPELINES.items(), key=lambda kv: kv[1])]
    assert ordered == [
        "nianbao.pipelines.stage.CleanPipeline",
        "nianbao.crawler.store.StorePipeline",
    ]


def test_the_clean_pipeline_runs_every_stage_once_in_order():
    from scrapy.statscollectors import MemoryStatsCollector
    from scrapy.utils.test import get_crawler

    from nianbao.pipelines.derive import document_for
    from nianbao.pipelines.stage import CleanPipeline

    body = "<html><head><title>某局2023年政府信息公开工作年度报告</title></head><body><p>一、总体情况</p></body></html>"
    item = type("Item", (), {})()
    item.doc = document_for(body.encode(), "http://x.gov.cn/a.html", "text/html")
    stats = MemoryStatsCollector(get_crawler())
    pipeline = CleanPipeline(stats)
    assert pipeline.process_item(item) is item
    assert item.doc.done == [name for name, _ in STAGES]
    pipeline.close_spider()
    assert set(stats.get_stats()) >= {f"clean/cpu_ms/{name}" for name, _ in STAGES}
    done = list(item.doc.done)
    pipeline.process_item(item)  # nothing left to do
    assert item.doc.done == done


def test_the_clean_pipeline_writes_its_counts_every_so_many_pages_and_at_close():
    """The clean/ counts are added up in the pipeline (a stats call per removal cost the
    reactor's thread 51 µs a page) and reach the stats every STATS_EVERY pages and when the
    source closes, with nothing lost or counted twice."""
    from scrapy.statscollectors import MemoryStatsCollector
    from scrapy.utils.test import get_crawler

    from nianbao.pipelines.derive import document_for
    from nianbao.pipelines.stage import STATS_EVERY, CleanPipeline

    body = (
        "<html><head><title>某局2023年政府信息公开工作年度报告</title></head><body>"
        "<p>一、总体情况</p><p>分享到：微信</p></body></html>"
    ).encode()
    stats = MemoryStatsCollector(get_crawler())
    pipeline = CleanPipeline(stats)

    def clean_one() -> None:
        item = type("Item", (), {})()
        item.doc = document_for(body, "http://x.gov.cn/a.html", "text/html")
        pipeline.process_item(item)

    for _ in range(STATS_EVERY - 1):
        clean_one()
    assert stats.get_value("clean/removed/share") is None  # added up, not yet written
    clean_one()
    assert stats.get_value("clean/removed/share") == STATS_EVERY
    assert stats.get_value("clean/cpu_ms/extract") > 0
    for _ in range(3):
        clean_one()
    pipeline.close_spider()
    assert stats.get_value("clean/removed/share") == STATS_EVERY + 3
    assert stats.get_value("clean/removed_blocks") == STATS_EVERY + 3
    pipeline.close_spider()  # a second close adds nothing
    assert stats.get_value("clean/removed/share") == STATS_EVERY + 3
