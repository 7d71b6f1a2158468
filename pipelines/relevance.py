"""Drop paragraphs that do not belong to an information-disclosure report.

Content farms paste unrelated prose (a monthly sales summary, adverts) around report
text. A paragraph is judged with its neighbours: domain vocabulary of disclosure reports
scores for it, first-person business/school/personal genres and adverts against it.
Only leading and trailing runs of clearly unrelated paragraphs are removed by default,
because losing a real report sentence costs more than keeping a junk one.
"""

from __future__ import annotations

import re

from pipelines.document import Document
from pipelines.stage import StagePipeline

STAGE = "relevance"

DOMAIN_TERMS = [
    "政府信息",
    "信息公开",
    "政务公开",
    "公开",
    "依申请",
    "主动公开",
    "行政复议",
    "行政诉讼",
    "条例",
    "政府",
    "年度报告",
    "网站",
    "政务",
    "申请",
    "办理",
    "答复",
    "统计",
    "镇",
    "县",
    "区",
    "局",
    "部门",
    "制度",
    "机制",
    "工作",
    "举报",
    "投诉",
    "收费",
    "减免",
    "保密审查",
    "公示",
    "政策",
    "解读",
    "规范性文件",
    "年",
    "人民",
    "群众",
    "领导小组",
]
OFF_TOPIC = [
    "销售",
    "业绩",
    "客户",
    "市场调研",
    "竞品",
    "营销",
    "我这个月",
    "这个月我",
    "本月我",
    "老师",
    "同学",
    "学生",
    "课堂",
    "考试",
    "菜谱",
    "食材",
    "加盐",
    "天气",
    "气温",
    "降雨",
    "优惠",
    "折扣",
    "促销",
    "购买",
    "下单",
    "包邮",
    "减肥",
    "恋爱",
    "男朋友",
    "女朋友",
    "游戏",
    "明星",
    "股票",
    "基金",
    "月工作总结",
    "自我",
    "不断提升自我",
]
_CJK = re.compile(r"[\u3400-\u9fff]")


def score(block: str) -> float:
    """>0: looks like report prose; <0: looks unrelated."""
    pos = sum(block.count(t) for t in DOMAIN_TERMS)
    neg = sum(block.count(t) for t in OFF_TOPIC)
    n = max(len(_CJK.findall(block)), 1)
    return (pos - 3 * neg) / (n**0.5)


def is_unrelated(block: str) -> bool:
    return score(block) < -0.2


def run(doc: Document) -> Document:
    blocks = doc.blocks
    start, end = 0, len(blocks)
    while start < end and is_unrelated(blocks[start]):
        doc.remove(STAGE, "leading-unrelated", blocks[start])
        start += 1
    while end > start and is_unrelated(blocks[end - 1]):
        doc.remove(STAGE, "trailing-unrelated", blocks[end - 1])
        end -= 1
    doc.blocks = blocks[start:end]
    return doc


class RelevancePipeline(StagePipeline):
    stage = staticmethod(run)
