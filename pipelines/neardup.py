"""Near-duplicate texts: MinHash signatures, LSH band keys, exact similarity, substitutions.

Exact dedup (the SHA-256 of the normal form) links only byte-identical copies. A farm copy
that was spun (政府 → 当局), cut down, padded with unrelated prose, or an organ's report
republished next year with the dates changed, each has its own hash. Here:

* :func:`shingles` — the set of ``K``-character shingles of a normal form (no whitespace,
  simplified script, so ``K`` characters are about two Chinese words);
* :func:`signature` — a MinHash of those shingles (datasketch: maintained, numpy-backed
  ``update_batch``, the reference Python implementation of MinHash/LSH), ``NUM_PERM``
  32-bit values;
* :func:`band_keys` — LSH: ``BANDS`` keys of ``ROWS`` values each. Two texts share at least
  one key with probability ``1 - (1 - J**ROWS)**BANDS`` (J = Jaccard): ~0.5 at J = 0.29,
  0.996 at J = 0.5. The keys live in the archive, so candidates are one indexed look-up;
* :func:`compare` — the exact Jaccard and both containments over the shingle sets, which
  confirm a candidate and give every link its numbers;
* :func:`substitutions` — what a spinner changed: a character alignment (difflib) and the
  replaced pairs, most frequent first.

The thresholds come from ``benchmarks/neardup.py`` (see the README).
"""

from __future__ import annotations

import difflib
import hashlib
import struct
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

K = 4  # shingle size, characters (benchmark: 3 lets boilerplate through, 5 loses spun copies)
NUM_PERM = 126
ROWS = 3
BANDS = NUM_PERM // ROWS  # 42
SEED = 18
# A candidate is a near-duplicate when either measure reaches its threshold.
MIN_JACCARD = 0.5
MIN_CONTAINMENT = 0.7
MIN_SHINGLES = 40  # below this a text is too short to call anything a copy of it


def shingles(norm_text: str, k: int = K) -> set[str]:
    return {norm_text[i : i + k] for i in range(max(len(norm_text) - k + 1, 0))}


_PERMUTATIONS: Any = None  # drawn once per process (the seed fixes them)


def _minhash(items: set[str]) -> Any:
    global _PERMUTATIONS
    from datasketch import MinHash  # imported on first use: numpy/scipy stay out of start-up

    if _PERMUTATIONS is None:
        first = MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32")
        _PERMUTATIONS = first.permutations
    m = MinHash(num_perm=NUM_PERM, seed=SEED, permutations=_PERMUTATIONS, scheme="affine32")
    m.update_batch([s.encode("utf-8") for s in items])
    return m


def signature(items: set[str]) -> bytes:
    """The MinHash of a shingle set, as ``NUM_PERM`` little-endian uint32 (for storage)."""
    values = _minhash(items).hashvalues.astype("<u4")
    return values.tobytes()


def band_keys(sig: bytes) -> list[int]:
    """One signed 63-bit key per band (band number mixed in, so bands never collide)."""
    keys = []
    for band in range(BANDS):
        chunk = sig[band * ROWS * 4 : (band + 1) * ROWS * 4]
        digest = hashlib.blake2b(chunk, digest_size=8, person=struct.pack("<Q", band)).digest()
        keys.append(struct.unpack("<q", digest)[0] >> 1)
    return keys


def estimate(sig_a: bytes, sig_b: bytes) -> float:
    """Jaccard estimated from two stored signatures (used only by the benchmark)."""
    a, b = np.frombuffer(sig_a, "<u4"), np.frombuffer(sig_b, "<u4")
    return float(np.count_nonzero(a == b)) / len(a)


@dataclass(frozen=True)
class Similarity:
    jaccard: float
    contained_a: float  # share of a's shingles found in b
    contained_b: float  # share of b's shingles found in a

    @property
    def containment(self) -> float:
        return max(self.contained_a, self.contained_b)

    @property
    def score(self) -> float:
        """The similarity a link is listed and filtered by: the larger of the two measures."""
        return max(self.jaccard, self.containment)

    def is_near_duplicate(self) -> bool:
        return self.jaccard >= MIN_JACCARD or self.containment >= MIN_CONTAINMENT


def compare(a: set[str], b: set[str]) -> Similarity:
    if not a or not b:
        return Similarity(0.0, 0.0, 0.0)
    common = len(a & b)
    return Similarity(common / len(a | b), common / len(a), common / len(b))


def substitutions(original: str, copy: str, limit: int = 20) -> list[dict[str, Any]]:
    """Replaced character runs (``original`` → ``copy``) of an alignment, most frequent first.

    Only short runs count (a spinner swaps words; a rewritten paragraph is not a
    substitution), and runs that contain a digit are left out (dates and figures differ
    between any two reports).
    """
    matcher = difflib.SequenceMatcher(None, original, copy, autojunk=False)
    pairs: Counter[tuple[str, str]] = Counter()
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "replace" or i2 - i1 > 6 or j2 - j1 > 6:
            continue
        old, new = original[i1:i2], copy[j1:j2]
        if any(c.isdigit() for c in old + new):
            continue
        pairs[(old, new)] += 1
    return [{"from": f, "to": t, "count": n} for (f, t), n in pairs.most_common(limit)]
