"""Near-duplicates through real crawls: spun, partial and re-dated copies link to their
originals with a similarity; different reports of the same format do not link."""

from __future__ import annotations

import html

import pytest

from nianbao.demo import demo_portals
from nianbao.demo.portalgen import Report, county_portal
from nianbao.demo.server import Page, Portal
from nianbao.pipelines import neardup as nd
from tests.conftest import SEEDS, cli, cli_json, crawl
from tests.pagegen import new_format_lines
from tests.test_versions import farm_page

SPIN = [("政府信息公开", "当局信息公开"), ("情况", "环境"), ("建设", "扶植"), ("创新", "立异")]


def spun(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        for old, new in SPIN:
            line = line.replace(old, new)
        out.append(line)
    return out


def redated(lines: list[str], year: int) -> list[str]:
    """Last year's report republished: every year mentioned moved on by one."""
    return [
        line.replace(str(year + 1), str(year + 2)).replace(str(year), str(year + 1))
        for line in lines
    ]


def report_ids(db: str) -> dict[str, int]:
    return {r["url"].rsplit("/", 1)[1]: r["id"] for r in cli_json(db, "reports")}


def _store(
    session, title: str, source: str, organ: str | None, year: int, body: list[str], n: int
) -> int:
    """A report page of ``body`` lines archived for ``source`` (cleaned as a crawl cleans
    it, committed); its version's id."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from nianbao.models import archive
    from nianbao.models.tables import Version
    from nianbao.pipelines.derive import derive

    url = f"http://{source}.gov.cn/{n}.html"
    page = "".join(f"<p>{html.escape(line)}</p>" for line in body)
    raw = f"<html><head><title>{title}</title></head><body>{page}</body></html>".encode()
    cap = archive.CaptureIn(source, url, 200, datetime(2024, 3, 1, tzinfo=UTC), body=raw)
    stored = archive.record_report(
        session,
        cap,
        derive(raw, url),
        organ=organ,
        year=year,
        published=None,
        cleaner_version="t",
    )
    session.commit()
    return session.scalar(select(Version.id).where(Version.report_id == stored.report_id))


@pytest.mark.backend("sqlite", "postgresql")
def test_copies_link_to_their_originals_and_lookalikes_do_not(db_url, seeds, serve):
    t2, l2 = seeds["002"]
    t0, l0 = seeds["000"]
    _t1, l1 = seeds["001"]
    _t4, l4 = seeds["004"]
    i2020 = next(i for i, line in enumerate(l4) if line.startswith("2020年,我镇政府信息公开"))
    county = county_portal(
        [
            Report("1001", t2, l2, "2015-01-20", "trs"),
            Report("1002", t0, l0, "2014-03-05", "hanweb"),
            Report("1003", "王家山镇2018年政府信息公开工作年度报告", l1[2:], "2019-01-15"),
            # last year's report again, the dates moved on: 内容雷同 across years
            Report("1005", t2.replace("2014", "2015"), redated(l2, 2014), "2016-01-20", "trs"),
            # two organs filling the same template with the same wording: a copied report
            Report(
                "1006",
                "方正县教育局2021年政府信息公开工作年度报告",
                new_format_lines("方正县教育局", 2021, 5),
                "2022-01-25",
            ),
            Report(
                "1007",
                "方正县卫生健康局2021年政府信息公开工作年度报告",
                new_format_lines("方正县卫生健康局", 2021, 9),
                "2022-01-26",
            ),
        ],
        "方正县",
    )
    baqiao = county_portal(
        [Report("2001", "八桥镇2020年度政务公开工作年度报告", l4[i2020:], "2021-01-28", "hanweb")],
        "八桥镇",
    )
    _demo_county, demo_farm = demo_portals(SEEDS)  # seed 004 with prose pasted around it
    farm = Portal()
    half = l1[2 : 2 + len(l1) // 2]
    farm.set(
        "/",
        Page(
            '<html><head><meta charset="utf-8"><title>范文</title></head><body>'
            f'<a href="/a/1.html">{html.escape(t2)}</a> <a href="/a/2.html">王家山镇年度报告</a>'
            "</body></html>".encode()
        ),
    )
    farm.set("/a/1.html", Page(farm_page(t2.replace("政府", "当局"), spun(l2))))
    farm.set("/a/2.html", Page(farm_page("王家山镇2018年政府信息公开工作年度报告", half)))
    for portal in (county, baqiao, farm, demo_farm):
        crawl(db_url, serve(portal).url("/"))

    ids = report_ids(db_url)
    official, redate = ids["t20150120_1001.html"], ids["t20160120_1005.html"]
    farm_spun, farm_half, wangjia = ids["1.html"], ids["2.html"], ids["t20190115_1003.html"]
    demo_copy, baqiao_2020 = ids["nianbao.html"], ids["t20210128_2001.html"]

    links = cli_json(db_url, "similar", str(official), "--min", "0.5")
    by_report = {link["report_id"]: link for link in links}
    spin_link = by_report[farm_spun]
    assert spin_link["kind"] == "copy_elsewhere" and spin_link["similarity"] >= 0.5
    pairs = {(s["from"], s["to"]) for s in spin_link["substitutions"]}
    assert {("政府", "当局"), ("情况", "环境")} <= pairs, spin_link["substitutions"]
    assert by_report[redate]["kind"] == "same_organ" and by_report[redate]["jaccard"] >= 0.9

    half_link = {x["report_id"]: x for x in cli_json(db_url, "similar", str(farm_half))}[wangjia]
    assert half_link["kind"] == "copy_elsewhere" and half_link["contained"] >= 0.9
    assert half_link["similarity"] == half_link["contained"]

    demo_link = {x["report_id"]: x for x in cli_json(db_url, "similar", str(baqiao_2020))}
    assert demo_link[demo_copy]["contained"] >= 0.9, demo_link

    # Another organ's report filled in from the same wording: linked as such.
    edu, health = ids["t20220125_1006.html"], ids["t20220126_1007.html"]
    [copied] = cli_json(db_url, "similar", str(edu))
    assert copied["report_id"] == health and copied["kind"] == "other_organ"

    # Different reports of the same format (the seeds share the 2008 条例's wording and
    # headings): never linked, even listing every stored link.
    sanhe = ids["t20140305_1002.html"]
    assert {x["report_id"] for x in cli_json(db_url, "similar", str(official), "--min", "0")} == {
        farm_spun,
        redate,
    }
    assert cli_json(db_url, "similar", str(sanhe), "--min", "0") == []
    assert {x["report_id"] for x in cli_json(db_url, "similar", str(wangjia), "--min", "0")} == {
        farm_half
    }

    # versions --json carries the links beside the exact ones (existing keys kept).
    v1 = cli_json(db_url, "versions", str(farm_spun))[0]
    assert "same_text_elsewhere" in v1 and official in {x["report_id"] for x in v1["similar"]}

    years = cli_json(db_url, "similar", "--cross-year", "--min", "0.9")
    assert [(r["organ"], r["year"], r["report_id"], r["previous_report_id"]) for r in years] == [
        ("方正县", 2015, redate, official)
    ]
    text = cli(db_url, "similar", str(official)).stdout
    assert "substituted: 政府→当局" in text and "same organ, other year" in text


def test_reprocess_signs_an_archive_made_before_signatures(db_url, seeds, serve):
    t2, l2 = seeds["002"]
    county = county_portal(
        [
            Report("1001", t2, l2, "2015-01-20"),
            Report("1005", t2.replace("2014", "2015"), redated(l2, 2014), "2016-01-20"),
        ],
        "方正县",
    )
    crawl(db_url, serve(county).url("/"))
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    with engine.begin() as conn:  # as an archive migrated to 0008 but never signed
        for table in (
            "version_links",
            "version_links_pending",
            "version_bands",
            "version_signatures",
        ):
            conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
    assert cli_json(db_url, "similar", "--cross-year") == []
    out = cli_json(db_url, "reprocess")
    assert out["signed"] == 2
    assert len(cli_json(db_url, "similar", "--cross-year")) == 1
    assert cli_json(db_url, "reprocess")["signed"] == 0  # idempotent


def test_similarity_measures():
    a = nd.shingles("本机关全年主动公开政府信息一百二十条其中规范性文件三件")
    assert nd.compare(a, a).jaccard == 1.0
    part = nd.shingles("本机关全年主动公开政府信息一百二十条")
    sim = nd.compare(part, a)
    assert sim.contained_a == 1.0 and sim.jaccard < 1.0
    assert nd.substitutions("推进政府信息公开情况", "推进当局信息公开环境") == [
        {"from": "政府", "to": "当局", "count": 1},
        {"from": "情况", "to": "环境", "count": 1},
    ]


def test_shingle_keys_are_the_shingles_and_the_signature_is_datasketchs(seeds):
    from datasketch import MinHash

    from nianbao.pipelines.normalize import normal_form

    texts = [normal_form("".join(lines)) for _title, lines in seeds.values()]
    # beyond U+FFFF (CJK Extension B), and a lone surrogate left by damaged input
    texts.append("本机关𠀀全年主动公开政府信息𠀁一百二十条" * 3 + "\ud800依申请公开")
    texts.append("".join(texts))  # more keys than one block of the permutation matrix
    assert len(nd.shingle_keys(texts[-1])) > nd._CHUNK
    for text in texts:
        for k in (3, 4, 5):
            assert len(nd.shingle_keys(text, k)) == len(nd.shingles(text, k))
        keys = nd.shingle_keys(text)
        reference = MinHash(num_perm=nd.NUM_PERM, seed=nd.SEED, scheme="affine32", hashfunc=int)
        reference.update_batch(nd.hash32(keys).tolist())
        assert nd.signature(keys) == reference.hashvalues.astype("<u4").tobytes()
    for a in texts:  # the exact measures over keys are those over the shingles themselves
        for b in texts:
            assert nd.compare(nd.shingle_keys(a), nd.shingle_keys(b)) == nd.compare(
                nd.shingles(a), nd.shingles(b)
            )
    assert nd.signature(nd.shingle_keys("abc")) == b"\xff" * 4 * nd.NUM_PERM  # no shingles


@pytest.mark.backend("sqlite", "postgresql")
def test_reprocess_signs_again_what_an_older_scheme_signed(db_url, seeds, serve):
    t2, l2 = seeds["002"]
    county = county_portal(
        [
            Report("1001", t2, l2, "2015-01-20"),
            Report("1005", t2.replace("2014", "2015"), redated(l2, 2014), "2016-01-20"),
        ],
        "方正县",
    )
    crawl(db_url, serve(county).url("/"))
    cli(db_url, "index")  # a busy writer left them queued unsigned: signed and compared now
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    with engine.begin() as conn:  # signed before "-u16": other band keys, no links yet
        conn.execute(text("DELETE FROM version_links"))
        conn.execute(text("UPDATE version_bands SET key = key / 2"))
        conn.execute(text("UPDATE version_signatures SET scheme = 'minhash-k4-p126-r3'"))
    engine.dispose()
    assert cli_json(db_url, "similar", "--cross-year") == []
    assert cli_json(db_url, "reprocess")["signed"] == 2
    assert len(cli_json(db_url, "similar", "--cross-year")) == 1
    assert cli_json(db_url, "reprocess")["signed"] == 0


def test_substitutions_of_a_spun_report_are_those_of_one_whole_alignment(seeds):
    import difflib
    from collections import Counter

    from nianbao.pipelines.normalize import normal_form

    original = normal_form("".join(seeds["002"][1]))
    copy = normal_form("".join(spun(seeds["002"][1])))[:2000] + "本文来源于网络，仅供参考。"
    whole: Counter[tuple[str, str]] = Counter()  # the alignment before: all characters at once
    matcher = difflib.SequenceMatcher(None, original, copy, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        old, new = original[i1:i2], copy[j1:j2]
        if op == "replace" and len(old) <= 6 and len(new) <= 6:
            if not any(c.isdigit() for c in old + new):
                whole[(old, new)] += 1
    found = nd.substitutions(original, copy)
    assert {(s["from"], s["to"]): s["count"] for s in found} == dict(whole)
    assert found[0] == {"from": "政府", "to": "当局", "count": whole[("政府", "当局")]}


def test_a_shared_template_links_every_relevant_version_and_the_nearest_other_organs(
    session, seeds
):
    """A county's template filled in by many organs: the new report's link to its own organ's
    other year and to a copy elsewhere are always found; of the other organs' look-alikes,
    the NEAREST_OTHER_ORGAN nearest are linked, not the farther ones (also near-duplicates)."""
    from sqlalchemy import select

    from nianbao.models.neardup import NEAREST_OTHER_ORGAN
    from nianbao.models.tables import Version, VersionLink

    title, lines = seeds["002"]
    far_lines = lines[: len(lines) * 3 // 5]

    def store(source: str, organ: str | None, year: int, body: list[str], n: int) -> int:
        return _store(session, title, source, organ, year, body, n)

    near = [store("a", f"{i}号局", 2021, [f"本报告由{i}号局编制。", *lines], i) for i in range(22)]
    far = [store("a", f"{i}号局", 2021, far_lines, i) for i in range(22, 27)]
    same_organ = store("a", "甲局", 2020, ["本报告由甲局编制。", *lines], 30)
    elsewhere = store("farm", None, 2021, ["转载。", *lines], 31)
    new = store("a", "甲局", 2021, ["本报告由甲局编制。", *lines], 32)

    mine = nd.shingle_keys(session.get(Version, new).norm_text)
    for vid in far:  # near-duplicates (containment), linked when every candidate was confirmed
        assert nd.compare(
            mine, nd.shingle_keys(session.get(Version, vid).norm_text)
        ).is_near_duplicate()
    links = {
        link.other_id: link.kind
        for link in session.scalars(select(VersionLink).where(VersionLink.version_id == new))
    }
    assert links[same_organ] == "same_organ" and links[elsewhere] == "copy_elsewhere"
    other = {vid for vid, kind in links.items() if kind == "other_organ"}
    assert len(other) == NEAREST_OTHER_ORGAN < len(near) + len(far)
    assert other <= set(near)


@pytest.mark.backend("sqlite", "postgresql")
def test_more_lookalikes_than_max_candidates_link_nothing_and_as_many_do(
    session, seeds, monkeypatch
):
    """A text sharing bands with more than MAX_CANDIDATES other reports' versions is
    boilerplate-only: no links. At exactly MAX_CANDIDATES it is linked to all of them. (The
    first band alone decides "too many" when it is shared that widely; the boundary is the
    same as counting every band's versions.)"""
    from sqlalchemy import func, select

    from nianbao.models import neardup as mnd
    from nianbao.models.tables import VersionLink

    monkeypatch.setattr(mnd, "MAX_CANDIDATES", 4)
    monkeypatch.setattr(mnd, "NEAREST_OTHER_ORGAN", 10)
    title, lines = seeds["002"]

    def store(organ: str, n: int) -> int:
        return _store(session, title, "a", organ, 2021, lines, n)

    def links_of(vid: int) -> int:
        query = select(func.count()).where(VersionLink.version_id == vid)
        return session.scalar(query.select_from(VersionLink))

    for i in range(4):
        store(f"{i}号局", i)
    fifth = store("4号局", 4)  # 4 candidates: as many as allowed, every one linked
    assert links_of(fifth) == 4
    sixth = store("5号局", 5)  # 5 candidates: boilerplate-only
    assert links_of(sixth) == 0


@pytest.mark.backend("sqlite", "postgresql")
def test_comparisons_a_busy_writer_put_off_find_the_links_found_at_once(
    db_url, seeds, monkeypatch, request, tmp_path
):
    """A writer behind the crawl stores a new version's signature and queues its comparison
    (migration 0014). The same writes into two archives, one comparing at once and one
    queueing every comparison (a few worked off midway, when newer versions exist already):
    while queued, readers show the links they will have; once worked off, the stored links
    are the same rows (pairs, kinds, numbers, substitutions). Covers a template cluster past
    MAX_CANDIDATES, the nearest other organs, the same organ's other year, a spun farm copy
    and a report's second version."""
    from contextlib import ExitStack

    from sqlalchemy import select

    from nianbao.models import neardup as mnd
    from nianbao.models.db import open_archive, sessionmaker_for
    from nianbao.models.tables import VersionLink
    from tests.conftest import pg_database

    monkeypatch.setattr(mnd, "MAX_CANDIDATES", 6)
    monkeypatch.setattr(mnd, "NEAREST_OTHER_ORGAN", 3)
    title, template = seeds["002"]
    _t, original = seeds["001"]
    _t, other = seeds["000"]
    writes: list[tuple[str, str | None, int, list[str], int]] = [
        ("b", "乙局", 2021, original, 1),
        ("a", "甲局", 2020, ["本报告由甲局编制。", *template], 2),
        *[("a", f"{i}号局", 2021, [f"本报告由{i}号局编制。", *template], 10 + i) for i in range(4)],
        ("farm", None, 2021, ["转载。", *spun(original)], 3),
        ("c", "丙局", 2021, other, 4),
        ("a", "甲局", 2021, ["本报告由甲局编制。", *template], 5),
        *[
            ("a", f"{i}号局", 2021, [f"本报告由{i}号局编制。", *template], 10 + i)
            for i in range(4, 9)
        ],
        ("b", "乙局", 2021, [*original, "附：更正说明。"], 1),  # the report's second version
        ("farm", None, 2020, ["转载。", *original], 6),
    ]

    def archive(url: str, defer: bool) -> tuple[list[dict], list[dict], list[tuple], int]:
        engine = open_archive(url)
        with sessionmaker_for(engine)() as session:
            session.info[mnd.DEFER] = defer
            for i, (source, organ, year, body, n) in enumerate(writes):
                _store(session, title, source, organ, year, body, n)
                if defer and i == len(writes) // 2:
                    assert mnd.link_pending(session, 2) == 2
                    session.commit()
            queued = mnd.pending(session)
            rids = sorted({int(r) for r in session.scalars(select(Version.report_id))})
            shown = [mnd.links_of(session, rid) for rid in rids]
            years = mnd.cross_year(session, 0.5)
            session.commit()
            while mnd.link_pending(session, 3):
                session.commit()
            session.commit()
            stored = sorted(
                (
                    link.version_id,
                    link.other_id,
                    link.kind,
                    link.jaccard,
                    link.contained,
                    link.other_contained,
                    str(link.substitutions),
                )
                for link in session.scalars(select(VersionLink))
            )
            assert mnd.pending(session) == 0
        engine.dispose()
        return shown, years, stored, queued

    from nianbao.models.tables import Version

    with ExitStack() as stack:
        if db_url.startswith("sqlite"):
            second = f"sqlite:///{tmp_path / 'queued.sqlite'}"
        else:
            second = stack.enter_context(pg_database(request.getfixturevalue("pg_server")))
        at_once = archive(db_url, defer=False)
        put_off = archive(second, defer=True)
    assert at_once[3] == 0 and put_off[3] == len(writes) - 2
    shown, years, stored, _ = at_once
    assert stored and any(kind == "copy_elsewhere" for _v, _o, kind, *_ in stored)
    assert any(kind == "same_organ" for _v, _o, kind, *_ in stored) and years
    assert any("items': [{" in subs for *_, subs in stored)  # the spun copy's substitutions
    assert put_off[0] == shown  # readers, while queued
    assert put_off[1] == years
    assert put_off[2] == stored  # the rows, once worked off


def test_nianbao_index_stores_the_queued_comparisons_and_similar_shows_them_meanwhile(
    db_url, seeds
):
    """What a busy writer queued: ``similar`` shows the links before ``nianbao index``
    stores them, the same after; ``index`` says what it did, and nothing the second time."""
    from nianbao.models import neardup as mnd
    from nianbao.models.db import open_archive, sessionmaker_for
    from nianbao.models.tables import Version

    title, lines = seeds["002"]
    engine = open_archive(db_url)
    with sessionmaker_for(engine)() as session:
        session.info[mnd.DEFER] = True
        first = _store(session, title, "a", "甲局", 2021, ["本报告由甲局编制。", *lines], 1)
        for n, organ in enumerate(("乙局", "丙局"), 2):
            _store(session, title, "a", organ, 2021, [f"本报告由{organ}编制。", *lines], n)
        report = session.get(Version, first).report_id
        assert mnd.pending(session) == 3
    engine.dispose()
    before = cli_json(db_url, "similar", str(report))
    assert {x["organ"] for x in before} == {"乙局", "丙局"}
    assert "near-duplicates: 3 versions compared" in cli(db_url, "index").stdout
    assert cli_json(db_url, "similar", str(report)) == before
    assert "near-duplicates: 0 versions compared" in cli(db_url, "index").stdout
