"""Near-duplicate detection: precision/recall and cost (``python -m benchmarks.neardup``).

Originals: the seed reports (and seed 004's 2020 report). Positives, per original: a spun
copy (the spinner's substitutions), truncated (first 60 %), padded (30 % unrelated prose
pasted after it), re-dated (every year + 1). Negatives: every variant against every *other*
original — reports of the same format that share the 条例's wording and headings.
A pair is predicted a near-duplicate when the LSH band keys meet and the exact shingle
similarity confirms it (``pipelines.neardup``); the baseline is a 64-bit SimHash over the
same shingles with a Hamming-distance threshold.
"""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from nianbao.demo.portalgen import Report, seed_reports, trs_page
from nianbao.pipelines import neardup as nd
from nianbao.pipelines.derive import derive
from nianbao.pipelines.normalize import normal_form

SEEDS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "seeds"
SPIN = [("政府", "当局"), ("情况", "环境"), ("建设", "扶植"), ("创新", "立异"), ("丰富", "富厚")]


def originals() -> dict[str, str]:
    seeds = seed_reports(SEEDS)
    out = {k: "".join(lines) for k, (_t, lines) in seeds.items() if k != "004"}
    l4 = seeds["004"][1]
    i = next(i for i, line in enumerate(l4) if line.startswith("2020年,我镇政府信息公开"))
    out["004-2020"] = "".join(l4[i:])
    return {k: normal_form(v) for k, v in out.items()}


def prose() -> str:
    lines = seed_reports(SEEDS)["004"][1]
    return normal_form("".join(line for line in lines[:40] if "政府" not in line))


def variants(text: str, filler: str) -> dict[str, str]:
    spun = text
    for old, new in SPIN:
        spun = spun.replace(old, new)
    redated = text
    for year in range(2025, 2005, -1):
        redated = redated.replace(str(year), str(year + 1))
    return {
        "spun": spun,
        "truncated": text[: int(len(text) * 0.6)],
        "padded": text + filler[: int(len(text) * 0.3)],
        "redated": redated,
    }


def simhash(items: set[str]) -> int:
    weights = [0] * 64
    for s in items:
        h = int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little")
        for bit in range(64):
            weights[bit] += 1 if h >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if weights[bit] > 0)


def scores(pred: list[bool], truth: list[bool]) -> tuple[float, float]:
    tp = sum(p and t for p, t in zip(pred, truth, strict=True))
    fp = sum(p and not t for p, t in zip(pred, truth, strict=True))
    fn = sum(t and not p for p, t in zip(pred, truth, strict=True))
    return tp / ((tp + fp) or 1), tp / ((tp + fn) or 1)


def quality() -> None:
    texts, filler = originals(), prose()
    pairs: list[tuple[str, str, bool]] = []
    for name, text in texts.items():
        for _kind, v in variants(text, filler).items():
            for other_name, other in texts.items():
                pairs.append((v, other, other_name == name))
    print(
        f"{len(pairs)} pairs: {sum(t for *_, t in pairs)} near-duplicates, "
        f"{sum(not t for *_, t in pairs)} different reports"
    )
    truth = [t for *_, t in pairs]
    for k in (3, 4, 5):
        pred, confirmed = [], 0
        for a, b, t in pairs:
            sa, sb = nd.shingle_keys(a, k), nd.shingle_keys(b, k)
            ka, kb = nd.band_keys(nd.signature(sa)), nd.band_keys(nd.signature(sb))
            met = any(x == y for x, y in zip(ka, kb, strict=True))
            confirmed += met and not t
            pred.append(met and nd.compare(sa, sb).is_near_duplicate())
        p, r = scores(pred, truth)
        mark = "  <- chosen" if k == nd.K else ""
        print(
            f"MinHash LSH + exact confirm, k={k}: precision {p:.3f} recall {r:.3f}{mark} "
            f"({confirmed} different pairs met in a band, left to the exact confirmation)"
        )
    hashes = [(simhash(nd.shingles(a)), simhash(nd.shingles(b))) for a, b, _t in pairs]
    for dist in (3, 6, 10, 16):
        pred = [bin(x ^ y).count("1") <= dist for x, y in hashes]
        p, r = scores(pred, truth)
        print(f"SimHash (64 bits, k={nd.K}), Hamming <= {dist}: precision {p:.3f} recall {r:.3f}")


def sha1_signature(text: str) -> bytes:
    """The signing before scheme ``-u16``: SHA-1 of each shingle, ``MinHash.update_batch``."""
    from datasketch import MinHash

    a, b = nd._permutations()
    m = MinHash(num_perm=nd.NUM_PERM, seed=nd.SEED, permutations=(a, b), scheme="affine32")
    m.update_batch([s.encode("utf-8") for s in nd.shingles(text)])
    return m.hashvalues.astype("<u4").tobytes()


def cost() -> None:
    seeds = seed_reports(SEEDS)
    title, lines = seeds["002"]
    page = trs_page(Report("1001", title, lines, "2015-01-20"), "方正县")
    url = "http://www.example.gov.cn/zwgk/ndbg/201501/t20150120_1001.html"
    derive(page, url, "text/html", "utf-8")
    nd.signature(nd.shingle_keys("预热" * 50))
    other = originals()["000"]
    clean, sign, confirm, before = [], [], [], []
    for _ in range(20):
        t0 = time.perf_counter()
        doc = derive(page, url, "text/html", "utf-8")
        t1 = time.perf_counter()
        mine = nd.shingle_keys(doc.norm_text)
        nd.band_keys(nd.signature(mine))
        t2 = time.perf_counter()
        nd.compare(mine, nd.shingle_keys(other)).is_near_duplicate()
        t3 = time.perf_counter()
        nd.band_keys(sha1_signature(doc.norm_text))
        t4 = time.perf_counter()
        clean.append(t1 - t0)
        sign.append(t2 - t1)
        confirm.append(t3 - t2)
        before.append(t4 - t3)
    c, s = statistics.median(clean), statistics.median(sign)
    print(
        f"cleaning a report page {c * 1000:.1f} ms; signing its version (shingle keys, "
        f"MinHash, band keys) {s * 1000:.2f} ms = {s / c:.0%} of it "
        f"({len(doc.norm_text)} characters; SHA-1 per shingle as before: "
        f"{statistics.median(before) * 1000:.2f} ms); confirming one candidate "
        f"{statistics.median(confirm) * 1000:.2f} ms"
    )
    texts, filler = originals(), prose()
    spent = []
    for text in texts.values():
        for copy in (variants(text, filler)["spun"], variants(text, filler)["spun"] + filler):
            t0 = time.perf_counter()
            nd.substitutions(text, copy)
            spent.append(time.perf_counter() - t0)
    print(
        f"listing a spun copy's substitutions: median {statistics.median(spent) * 1000:.1f} ms, "
        f"max {max(spent) * 1000:.1f} ms ({len(spent)} copies, plain and padded)"
    )


def lsh_at_scale(n: int = 100_000) -> None:
    rng = random.Random(18)
    path = Path(tempfile.mkdtemp()) / "bands.sqlite"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE version_bands (version_id INTEGER, band INTEGER, key BIGINT, "
        "PRIMARY KEY (version_id, band))"
    )
    t0 = time.perf_counter()
    queries = []
    for start in range(0, n, 10_000):
        rows = []
        for vid in range(start, start + 10_000):
            sig = rng.randbytes(nd.NUM_PERM * 4)
            keys = nd.band_keys(sig)
            if vid % 1000 == 0:
                queries.append(keys)
            rows.extend((vid, b, k) for b, k in enumerate(keys))
        db.executemany("INSERT INTO version_bands VALUES (?, ?, ?)", rows)
    db.execute("CREATE INDEX ix_version_bands_key ON version_bands (key)")
    db.commit()
    print(
        f"{n} signatures generated and stored in {time.perf_counter() - t0:.0f} s "
        f"({os.path.getsize(path) / 1e6:.0f} MB of band keys)"
    )
    times = []
    for keys in queries:
        t = time.perf_counter()
        marks = ",".join("?" * len(keys))
        db.execute(
            f"SELECT DISTINCT version_id FROM version_bands WHERE key IN ({marks})", keys
        ).fetchall()
        times.append(time.perf_counter() - t)
    times.sort()
    print(
        f"LSH candidate query at {n} versions: median {statistics.median(times) * 1000:.2f} ms, "
        f"max {times[-1] * 1000:.2f} ms ({len(times)} queries)"
    )


if __name__ == "__main__":
    quality()
    cost()
    lsh_at_scale()
