"""Drop paragraphs that do not belong to an information-disclosure report.

Content farms paste unrelated prose into report text (seed 004 starts with a monthly sales
summary). A small, explainable linear model scores each paragraph:

* **for** it: disclosure vocabulary (信息公开, 依申请, 行政复议 …, weight 2) and the general
  vocabulary of administrative prose (政府, 部门, 制度, 落实, 群众 …, weight 1). Any real
  report paragraph of some length is dense in these; that is the signal that generalises
  to genres nobody listed, because a sports report or a film review simply lacks them.
* **against** it: cues of genres farms paste (first-person business, school, recipes,
  weather, adverts, diaries …, weight 3) and the first-person singular 我 (reports speak as
  我镇/我局/我们, weight 2).

A paragraph is removed only with clear evidence: enough text to judge (``MIN_CJK``), no
report structure (numbered heading, table row, figures with units), no disclosure term at
all, administrative vocabulary sparse (``MIN_DENSITY``), and either the cues against
outweigh the cues for, or the paragraph is long enough for that sparseness to mean
something. Neighbours count: a short line sitting between two removed paragraphs (a pasted
piece's heading) goes with them. A missed junk paragraph costs less than a lost report
sentence, so the thresholds sit well on the safe side of every seed paragraph and of every
real report of ``tests/fixtures/real`` (see tests/test_relevance.py).

The model judges paragraphs *against report prose*, so it runs only on a page that claims
to be a report: its title (or, under a site-name title, its first lines) names the genre,
or its body carries the statutory sections. A news page, a 统计公报 or a notice is another
genre's prose from its first line: judging it against report prose removed real paragraphs
(news leads, a bulletin's paragraphs), so such a page is left whole (recognition rejects
it). Every removal carries its evidence (``Removal.why``): the scores and the words that
decided, which ``nianbao explain`` prints.

Known limits, by design: pasted prose written in administrative language (a company's
annual summary, a school's safety report, a leader's speech, another government
document) reads like a report and is kept; so is a page that is mostly such prose
(``mostly_unrelated`` is flagged instead of gutting it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from nianbao.pipelines import recognize, title
from nianbao.pipelines.document import Document
from nianbao.pipelines.normalize import normal_form, to_simplified

STAGE = "relevance"
MIN_CJK = 20
# Content farms paste a few paragraphs into a report; they never outweigh it.
MAX_SHARE = 0.5
# "Nearly no report vocabulary" is judged only on paragraphs long enough for its absence
# to mean something: short transitions (下一步打算从以下几个方面着手) are kept.
MIN_CJK_OFF_DOMAIN = 40
# Below this density of report vocabulary per CJK character, a long paragraph with no
# disclosure term is not report prose. Seed paragraphs of >= MIN_CJK_OFF_DOMAIN
# characters sit at 0.13 and above; unrelated prose sits at 0.07 and below (the held-back
# genres, never used for tuning, at 0.04 and below).
MIN_DENSITY = 0.08

DISCLOSURE_TERMS = (
    "信息公开 政务公开 政府信息 主动公开 依申请 申请公开 行政复议 行政诉讼 条例 公开 年度报告 "
    "保密审查 政务 答复 监督 行政 法规 规范性文件 政策解读 解读 舆情 公示 公告 办事"
).split()
ADMIN_TERMS = (
    "政府 人民 镇 乡 县 区 市 省 局 部门 单位 机关 机构 工作 制度 机制 管理 服务 群众 社会 "
    "政策 领导 组织 建设 规范 推进 落实 开展 加强 完善 健全 及时 办理 审查 审批 文件 公民 法人 "
    "网站 平台 栏 宣传 培训 考核 责任 情况 措施 问题 要求 原则 程序 事项 信息 公布 发布 目录 "
    "指南 渠道 形式 内容 统计 数据 年度 全年 本年 党 委 会议 依法 法律 权 国家 公共 事业 "
    "资金 财政 预算 项目 村 社区 干部 职能 窗口 中心 改革 发展 安全 执法 许可 处罚 收费 "
    "人大 政协 代表 建议 提案 议案 意见 办结"
).split()
# Genre cues of prose that content farms paste in. Tuned on the [tuned] genres of
# tests/fixtures/gold/unrelated.toml only; the [heldout] genres never informed this list.
GENRE_CUES = (
    "销售 业绩 客户 订单 回款 经销商 竞品 市场调研 营销 产品 提成 "
    "老师 同学 学生 班主任 备课 上课 课堂 考试 学期 作业 大学生 社团 "
    "做法 切块 焯水 翻炒 加盐 少许 食材 出锅 "
    "气温 降雨 小雨 中雨 冷空气 多云 "
    "特惠 折扣 包邮 抢购 下单 满减 客服 返现 代写 "
    "妈妈 家人 想念 心情 男朋友 女朋友"
).split()
# 我 followed by one of these is the report's collective voice (我镇, 我局, 我们 …).
_WE = "镇乡县区市局们国省办单位委院部所校站司厅处科队街村组中心"
_I = re.compile(rf"我(?![{_WE}])")
_CJK = re.compile(r"[\u3400-\u9fff]")
# Report structure: numbered headings/items, table rows, figures with units.
_STRUCTURE = re.compile(
    r"^\s*([（(]?[一二三四五六七八九十]+[）)、.．]|[（(]?\d{1,2}[）)、.．]|第[一二三四五六七八九十百]+[条章节])"
    r"|\||\d+\s*(条|件|次|万元|人次|个|份|篇|项)"
)


def _by_first() -> dict[str, tuple[tuple[str, int], ...]]:
    """Every term of the three vocabularies (0 disclosure, 1 admin, 2 genre) by its first
    character."""
    index: dict[str, list[tuple[str, int]]] = {}
    for kind, terms in enumerate((DISCLOSURE_TERMS, ADMIN_TERMS, GENRE_CUES)):
        for term in terms:
            index.setdefault(term[0], []).append((term, kind))
    return {first: tuple(group) for first, group in index.items()}


# Terms by their first character: a block is searched only for the terms that can occur
# in it (a paragraph holds ~20 of the ~170 first characters), with the same str.count,
# the three vocabularies in one pass.
_BY_FIRST = _by_first()
_FIRSTS = frozenset(_BY_FIRST)
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")


def _counts(block: str) -> list[int]:
    """``sum(block.count(t) for t in terms)`` of each vocabulary: terms whose first
    character is not in the block count 0 and are skipped."""
    n = [0, 0, 0]
    for first in _FIRSTS.intersection(block):
        for term, kind in _BY_FIRST[first]:
            n[kind] += block.count(term)
    return n


@dataclass(frozen=True)
class Features:
    cjk: int
    disclosure: int
    admin: int
    genre: int
    first_person: int

    @property
    def support(self) -> int:
        return 2 * self.disclosure + self.admin

    @property
    def against(self) -> int:
        return 3 * self.genre + 2 * self.first_person

    @property
    def density(self) -> float:
        return self.support / max(self.cjk, 1)


@lru_cache(maxsize=16384)
def features(block: str) -> Features:
    """The block's scores. Cached (the result is frozen): look-alike reports, a county's
    or a farm's, repeat most of their paragraphs word for word, and ``run`` scores every
    block of every page that claims to be a report."""
    block = to_simplified(block)  # the vocabulary is simplified; reports come in both
    disclosure, admin, genre = _counts(block)
    return Features(
        cjk=sum(map(len, _CJK_RUN.findall(block))),
        disclosure=disclosure,
        admin=admin,
        genre=genre,
        first_person=len(_I.findall(block)),
    )


def verdict(block: str, f: Features | None = None) -> str | None:
    """Why ``block`` is unrelated ("genre" or "off-domain"), or None if it may be report.

    The guard comes first: a paragraph that uses any disclosure term, or is as dense in
    administrative vocabulary as report prose, is never unrelated, whatever else it says
    (an education bureau's report speaks of 学生 and 考试, a weather bureau's of 降雨).
    """
    f = f or features(block)
    if f.cjk < MIN_CJK or _STRUCTURE.search(block):
        return None
    if f.disclosure or f.density >= MIN_DENSITY:
        return None
    if f.against > f.support:
        return "genre"
    if f.cjk >= MIN_CJK_OFF_DOMAIN:
        return "off-domain"
    return None


@lru_cache(maxsize=16384)
def _block_verdict(block: str) -> str | None:
    """:func:`verdict` with the block's own features, cached as they are."""
    return verdict(block, features(block))


def evidence(block: str, f: Features | None = None) -> str:
    """The scores behind a verdict, with the words that made them: what explain prints."""
    f = f or features(block)
    simple = to_simplified(block)
    cues = [t for t in GENRE_CUES if t in simple]
    admin = [t for t in ADMIN_TERMS if t in simple]
    parts = [
        f"{f.cjk} CJK",
        f"report vocabulary {f.support} (density {f.density:.3f} < {MIN_DENSITY}"
        + (f": {'、'.join(admin[:8])}" if admin else "")
        + ")",
        "no disclosure term",
    ]
    if f.against:
        parts.append(
            f"against {f.against} (genre cues {'、'.join(cues) or 'none'}; 我 ×{f.first_person})"
        )
    return "; ".join(parts)


def claims_report(doc: Document) -> bool:
    """Does the page present itself as a report (the premise of judging its paragraphs)?

    Its title, meta title or landing title names the genre (or is a farm's copy of it);
    or, when every title is neutral (a site name), its first lines name the genre or its
    opening carries three of the statutory sections.
    """
    landing = title.landing_title(doc)
    verdicts = {title.title_verdict(t) for t in (doc.metadata.get("title"), doc.title, landing)}
    if verdicts & {"report", "copy"}:
        return True
    if verdicts & {"about", "other"}:
        return False
    if any(title.title_verdict(c) == "report" for c in title.heading_candidates(doc.blocks)):
        return True
    head = normal_form("\n".join(doc.blocks)[:3000])
    return sum(bool(p.search(head)) for p in recognize.SECTION_GROUPS.values()) >= 3


def is_unrelated(block: str) -> bool:
    return verdict(block) is not None


def run(doc: Document) -> Document:
    if not claims_report(doc):
        return doc
    feats = [features(b) for b in doc.blocks]
    verdicts = [_block_verdict(b) for b in doc.blocks]
    n = len(verdicts)
    # A short line between removed paragraphs (the heading of a pasted piece) goes too.
    for i in range(n):
        if verdicts[i] is None and 0 < i < n - 1 and verdicts[i - 1] and verdicts[i + 1]:
            if feats[i].cjk < MIN_CJK and not _STRUCTURE.search(doc.blocks[i]):
                verdicts[i] = "between-unrelated"
    flagged = sum(f.cjk for f, why in zip(feats, verdicts, strict=True) if why)
    total = sum(f.cjk for f in feats)
    if flagged > MAX_SHARE * total:
        # Mostly "unrelated": this is not a report with pasted junk but a page of another
        # genre (news, a notice). Judging its paragraphs against report prose is baseless;
        # keep them and let recognition reject the page.
        doc.flag("mostly_unrelated")
        return doc
    kept: list[str] = []
    for i, (block, why) in enumerate(zip(doc.blocks, verdicts, strict=True)):
        if why is None:
            kept.append(block)
        elif why == "between-unrelated":
            doc.remove(STAGE, f"relevance:{why}", block, "a short line between removed paragraphs")
        else:
            doc.remove(STAGE, f"relevance:{why}", block, evidence(block, feats[i]))
    doc.blocks = kept
    return doc
