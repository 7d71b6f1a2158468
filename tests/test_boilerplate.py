"""Boilerplate rules: chrome lines go (with their rule), report lines that look alike stay."""

from __future__ import annotations

import pytest

from benchmarks import goldset
from nianbao.pipelines.boilerplate import classify, run
from nianbao.pipelines.document import Document


@pytest.mark.parametrize(
    ("block", "rule"),
    [
        ("当前位置：首页 > 政务公开 > 年度报告", "breadcrumb"),
        ("【字体：大 中 小】 【打印本页】 【关闭窗口】", "widgets"),
        ("发布日期：2019-01-15 信息来源：县政府办 【字体：大 中 小】", "dateline"),
        ("【字号：大 中 小】 浏览量：12", "font-widget"),
        ("【我要纠错】 【打印】 【关闭】", "widgets"),
        ("【收藏本页】【打印本页】【关闭窗口】【返回顶部】", "widgets"),
        ("【 发表评论 】【 关闭窗口 】", "widgets"),
        ("分享到：微信 微博 QQ空间", "share"),
        ("阅读次数：867", "counter"),
        ("上一篇：关于开展春季植树活动的通知", "prev-next"),
        ("相关文章", "related"),
        ("版权所有：某县人民政府 黑ICP备05001234号-1", "copyright"),
        ("黑ICP备05001234号-1", "icp"),
        ("黑公网安备23012402000123号", "police-record"),
        ("网站标识码：2301240001", "site-id"),
        ("主办单位：某县人民政府办公室", "sponsor"),
        ("联系电话：0451-57112345", "contact"),
        ("建议使用1920*1080分辨率，IE10以上浏览器", "browser-advice"),
        ("无障碍 | 长者模式 | 繁體", "accessibility"),
        ("本文地址：https://www.example.com/fanwen/1.html", "farm-address"),
        ("开通VIP会员，免费下载全站文档", "farm-download"),
        ("版权声明：此文自动收集于网络，若有来源错误请联系我们删除。", "copyright"),
        ("扫一扫在手机打开当前页", "scan"),
        ("责任编辑：王明", "editor"),
        ("[作者: 刘满仓 责任编辑: 杨丹宇 ]", "editor"),
        ("|<<1234下一页>>|", "pagination"),
        ("2022.01.20 16:31 来源：河南日报客户端", "dateline"),
        ("索引号： | 11230124MB1/2024-0001 | 发布机构： | 某县人民政府", "disclosure-meta"),
        ("文　　号： |  | 有效性： | 有效", "disclosure-meta"),
        ("发布时间：2019-01-20 来源：某县人民政府办公室", "dateline"),
        ("使用帮助 | 联系我们 | 关于我们 |", "contact-links"),
        ("为确保最佳浏览效果，建议您使用以下浏览器版本：IE浏览器9.0版本及以上", "browser-advice"),
        ("分享至：QQ空间", "share"),
        ("2005年08月16日 来源：新华网", "dateline"),
        ("【推荐 |  |  | 】", "widgets"),
        ("振兴东北网版权与免责声明：", "copyright"),
    ],
)
def test_chrome_lines_match_their_rule(block, rule):
    assert classify(block, 0) == rule


@pytest.mark.parametrize(
    "block",
    [
        # Report sentences that share words with chrome.
        "联系电话：                  填报日期：",
        "如對本報告有任何疑問,請聯系:城關鎮人民政府黨政辦,電話:0379-67929191。",
        "2.政府网站公开政府信息数 | 条 | 92",
        "网站点击数 | 次 | 12345",
        "一、主动公开政府信息情况",
        "（二）规范工作流程",
        "白银市平川区王家山镇人民政府",
        "2019年1月2日",
        "中",
        "大力推进政务公开，加强版权保护和知识产权执法信息公开，全年公开行政处罚信息120条，并对网站ICP备案信息进行了核查更新，确保网站规范运行。"
        * 2,
        "日期：2019年1月2日",
        "2019年1月10日",
        "2019年1月10日10:00，县政府召开政务公开工作推进会，部署全年信息公开重点工作任务。",
        "1",
        "2019年12月31日",
        # Words of chrome inside a document's sentence: chrome is the whole line's shape.
        "分享经验做法，组织各部门交流信息公开工作。",
        "群众可通过微信扫一扫关注政务公众号，及时获取政府信息公开内容。",
        "在门户网站设置表格免费下载专区，提供办事表格下载服务。",
    ],
)
def test_report_lines_that_look_like_chrome_are_kept(block):
    assert classify(block, 40) is None


def test_metadata_rows_become_metadata_and_removals_name_their_rule():
    doc = Document(
        url="u",
        body=b"",
        title="某镇2018年政府信息公开工作年度报告",
        blocks=[
            "索引号： | 0001/2019-01 | 发布机构： | 某镇人民政府",
            "某镇2018年政府信息公开",
            "工作年度报告",
            "發布時間:2017-02-24 來源:城關鎮",
            "一、总体情况",
            "分享到：微信",
        ],
    )
    run(doc)
    assert doc.blocks == ["一、总体情况"]
    assert doc.metadata["index_no"] == "0001/2019-01"
    assert doc.metadata["publisher"] == "某镇人民政府"
    assert doc.metadata["published"] == "2017-02-24"
    assert [r.rule for r in doc.removed] == [
        "disclosure-meta",
        "title",
        "title",
        "dateline",
        "share",
    ]


def test_a_lone_weak_metadata_line_in_a_document_is_its_content():
    """A guide's "公开方式：主动公开" is the guide's; beside 索引号 it is the table's row."""
    guide = ["一、主动公开", "（一）公开内容", "本机关主动公开的政府信息。", "（二）公开形式"]
    guide += ["通过门户网站公开。", "通过政务公开栏公开。", "公开方式：主动公开", "（三）公开时限"]
    doc = run(Document(url="u", body=b"", title="某县政府信息公开指南", blocks=list(guide)))
    assert doc.blocks == guide
    meta = ["索引号：0001/2019-01", "公开方式：主动公开", "一、总体情况"]
    doc = run(Document(url="u", body=b"", title="某县报告", blocks=["x"] * 6 + meta))
    assert doc.blocks == ["x"] * 6 + ["一、总体情况"]


def test_no_seed_paragraph_matches_any_rule():
    for seed in goldset.load_seeds().values():
        for i, line in enumerate(seed.truth):
            assert classify(line, i) is None, (seed.key, line)


def test_the_clean_pipeline_counts_removals_and_flags_in_crawl_stats():
    from scrapy.statscollectors import MemoryStatsCollector
    from scrapy.utils.test import get_crawler

    from nianbao.pipelines.derive import STAGES
    from nianbao.pipelines.stage import CleanPipeline

    crawler = get_crawler()
    stats = MemoryStatsCollector(crawler)
    item = type("Item", (), {})()
    item.doc = Document(url="u", body=b"", blocks=["分享到：微信", "一、总体情况", "阅读次数：3"])
    item.doc.done = [name for name, _ in STAGES if name != "boilerplate"]  # this stage alone
    pipeline = CleanPipeline(stats)
    pipeline.process_item(item)
    pipeline.close_spider()  # the counts are added up, then written (every 64 pages, at close)
    assert stats.get_value("clean/removed_blocks") == 2
    assert stats.get_value("clean/removed/share") == 1
    assert stats.get_value("clean/removed/counter") == 1


@pytest.mark.parametrize(
    "heading",
    [
        ["某县2018年度政府信息公开", "工作年度报告"],  # 年度 where the page title says 年
        ["某县人民政府", "2018年政府信息公开工作年度报告"],  # the body names the organ in full
    ],
)
def test_the_documents_own_title_heading_goes_however_it_is_worded(heading):
    doc = Document(
        url="u",
        body=b"",
        title="某县2018年政府信息公开工作年度报告",
        blocks=[*heading, "一、总体情况", "2018年，某县政府信息公开工作……"],
    )
    run(doc)
    assert doc.blocks == ["一、总体情况", "2018年，某县政府信息公开工作……"]
    assert [r.rule for r in doc.removed] == ["title", "title"]


def test_a_heading_of_another_year_is_not_taken_for_the_title():
    doc = Document(
        url="u",
        body=b"",
        title="某县2018年政府信息公开工作年度报告",
        blocks=["某县2017年政府信息公开工作年度报告", "一、总体情况"],
    )
    run(doc)
    assert doc.blocks == ["某县2017年政府信息公开工作年度报告", "一、总体情况"]


def test_the_documents_heading_goes_under_a_site_name_title_with_every_copy_of_it():
    """The page title says nothing (a site name): the heading is found by what it is, every
    copy of it near the top goes, and it becomes the title."""
    body = "根据《中华人民共和国政府信息公开条例》要求，编制本报告。"
    doc = Document(
        url="u",
        body=b"",
        title="平潭综合实验区门户网站",
        blocks=[
            "平潭综合实验区管委会2013年政府信息公开工作年度报告",
            "来源：平潭综合实验区管委会办公室 时间：2014-01-10 00:00",
            "平潭综合实验区",
            "2013年政府信息公开工作年度报告",
            body,
        ],
    )
    run(doc)
    assert doc.blocks == [body]
    assert doc.title == "平潭综合实验区管委会2013年政府信息公开工作年度报告"
    assert [r.rule for r in doc.removed] == ["title", "source-dateline", "title", "title"]


def test_a_notice_keeps_the_report_title_it_quotes():
    doc = Document(
        url="u",
        body=b"",
        title="关于做好2013年政府信息公开工作年度报告编制工作的通知",
        blocks=["2013年政府信息公开工作年度报告", "各乡镇：现将有关事项通知如下。"],
    )
    assert run(doc).blocks == ["2013年政府信息公开工作年度报告", "各乡镇：现将有关事项通知如下。"]


def test_a_chrome_line_above_the_heading_is_not_part_of_the_title():
    doc = Document(
        url="u",
        body=b"",
        title="门户网站",
        blocks=["相关链接：", "平潭综合实验区", "2017年度政府信息公开工作年度报告", "正文。"],
    )
    run(doc)
    assert doc.title == "平潭综合实验区2017年度政府信息公开工作年度报告"
    assert [r.rule for r in doc.removed] == ["related", "title", "title"]


def test_short_lines_after_a_site_footer_line_are_the_footers():
    """A news portal's numbered 免责声明 items follow its 版权 line; a document never goes
    on after its site's footer, and a long paragraph there would stop the rule."""
    report = ["一、总体情况", "全年主动公开政府信息120条。", "某县人民政府办公室", "2019年1月10日"]
    footer = [
        "某某网版权与免责声明：",
        "③ 如因作品内容问题需要同本网联系的，请在30日内进行。",
        "※ 联系电话：010--63070957",
    ]
    doc = run(Document(url="u", body=b"", title="某县报告", blocks=report + footer))
    assert doc.blocks == report
    assert [r.rule for r in doc.removed] == ["copyright", "footer-tail", "footer-tail"]
    long_tail = ["版权所有：某县人民政府", "正文" * 100]
    assert run(Document(url="u", body=b"", blocks=report + long_tail)).blocks == [
        *report,
        "正文" * 100,
    ]


def test_a_heading_with_the_year_in_chinese_numerals_is_the_title():
    doc = Document(
        url="u",
        body=b"",
        title="某县2023年政府信息公开工作年度报告",
        blocks=["某县", "二〇二三年政府信息公开工作年度报告", "根据条例编制本报告。"],
    )
    assert run(doc).blocks == ["根据条例编制本报告。"]


def test_the_heading_is_found_below_a_long_metadata_row():
    """xxgk pages put the 索引号 table above the heading inside the box."""
    doc = Document(
        url="u",
        body=b"",
        title="门户网站",
        blocks=[
            "索引号： | 11350128MB1/2024-00012 | 发布机构： | 平潭综合实验区管理委员会办公室",
            "平潭综合实验区",
            "2023年度政府信息公开工作年度报告",
            "根据条例编制本报告。",
        ],
    )
    assert run(doc).blocks == ["根据条例编制本报告。"]
    assert doc.title == "平潭综合实验区2023年度政府信息公开工作年度报告"


def test_a_heading_over_four_lines_goes_whole():
    lines = ["某某市", "某某区财政局", "2023年政府信息公开", "工作年度报告"]
    doc = Document(url="u", body=b"", title="门户网站", blocks=[*lines, "根据条例编制本报告。"])
    assert run(doc).blocks == ["根据条例编制本报告。"]
    assert doc.title == "某某市某某区财政局2023年政府信息公开工作年度报告"
