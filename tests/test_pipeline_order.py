"""The crawl's ITEM_PIPELINES and reprocess's STAGES run the same stages in the same order."""

from __future__ import annotations

from nianbao.crawler import settings
from nianbao.pipelines.derive import STAGES


def test_item_pipelines_match_derive_stages():
    ordered = [path for path, _ in sorted(settings.ITEM_PIPELINES.items(), key=lambda kv: kv[1])]
    modules = [path.rsplit(".", 2)[1] for path in ordered if not path.endswith("StorePipeline")]
    assert modules == [name for name, _ in STAGES]
