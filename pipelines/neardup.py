"""Near-duplicate texts: MinHash signatures, LSH band keys, exact similarity, substitutions.

Exact dedup (the SHA-256 of the normal form) links only byte-identical copies. A farm copy
that was spun (政府 → 当局), cut down, padded with unrelated prose, or an organ's report
republished next year with the dates changed, each has its own hash. Here:

* :func:`shingle_keys` — the ``K``-character shingles of a normal form (no whitespace,
  simplified script, so ``K`` characters are about two Chinese words) as 64-bit keys,
  computed in bulk with numpy (:func:`shingles` is the same set as strings);
* :func:`signature` — a MinHash of those keys, ``NUM_PERM`` 32-bit values: datasketch's
  ``affine32`` scheme (maintained, the reference Python implementation of MinHash/LSH),
  its permutations applied over one numpy matrix;
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
import re
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
    """The shingles as strings: the reference :func:`shingle_keys` is tested against, and
    what the benchmark's SimHash baseline hashes."""
    return {norm_text[i : i + k] for i in range(max(len(norm_text) - k + 1, 0))}


_U64 = np.uint64
_FMIX64 = (_U64(33), _U64(0xFF51AFD7ED558CCD), _U64(0xC4CEB9FE1A85EC53))
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))
_POLY = _U64(0x9E3779B97F4A7C15)  # odd: the rolling hash for shingles of more than 4


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser: a bijection that spreads every input bit (0 → 0)."""
    s, m1, m2 = _FMIX64
    h = h ^ (h >> s)
    h = h * m1
    h = h ^ (h >> s)
    h = h * m2
    return h ^ (h >> s)


def shingle_keys(norm_text: str, k: int = K) -> np.ndarray:
    """The shingles of a normal form as sorted, distinct 64-bit keys, computed in bulk.

    For ``k`` <= 4 a key packs the low 16 bits of each character, so two shingles of the
    Basic Multilingual Plane (every character GB 18030 and the normal form use in practice)
    have equal keys exactly when they are equal: Jaccard and containment over keys are
    those over :func:`shingles`. A shingle with a character beyond U+FFFF gets its planes
    mixed in (a 64-bit pseudo-random offset), as does every shingle when ``k`` > 4.
    """
    if k == 4:
        # Every character in the BMP (the text's UTF-16 has no surrogate pairs): the key
        # of the shingle at i is the big-endian 64-bit word of its four UTF-16 units, one
        # strided view over the encoded text, with no plane to mix in (planes 0 mix in 0).
        raw = norm_text.encode("utf-16-be", "surrogatepass")
        if len(raw) == 2 * len(norm_text):
            n = len(norm_text) - k + 1
            if n <= 0:
                return np.empty(0, dtype=_U64)
            words = np.ndarray((n,), dtype=">u8", buffer=raw, strides=(2,))
            return _distinct(words.astype(_U64))
    cp = np.frombuffer(norm_text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    n = cp.size - k + 1
    if n <= 0:
        return np.empty(0, dtype=_U64)
    cp = cp.astype(_U64)
    key = np.zeros(n, dtype=_U64)
    if k <= 4:
        low, plane = cp & _U64(0xFFFF), cp >> _U64(16)  # plane: 0..16, five bits
        planes = np.zeros(n, dtype=_U64)
        for j in range(k):
            key = (key << _U64(16)) | low[j : j + n]
            planes = (planes << _U64(5)) | plane[j : j + n]
        key ^= _fmix64(planes)
    else:
        for j in range(k):
            key = key * _POLY + cp[j : j + n]
        key = _fmix64(key)
    return _distinct(key)


def _distinct(key: np.ndarray) -> np.ndarray:
    """``np.unique(key)`` for a fresh 1-D array, sorted in place: a sort and one comparison
    of neighbours (``np.unique`` hashes first, then sorts: several times the cost)."""
    key.sort()
    if key.size < 2:
        return key
    keep = np.empty(key.size, dtype=bool)
    keep[0] = True
    np.not_equal(key[1:], key[:-1], out=keep[1:])
    return key[keep]


_PERMUTATIONS: Any = None  # drawn once per process (the seed fixes them)


def _permutations() -> Any:
    """datasketch's ``affine32`` permutations for ``SEED``: drawn here as its
    ``MinHash._init_permutations`` draws them (``RandomState(seed)``, odd ``a``, then ``b``),
    without importing datasketch, whose scipy import cost every cleaning worker 0.45 s.
    Equality with datasketch's own is tested."""
    global _PERMUTATIONS
    if _PERMUTATIONS is None:
        gen = np.random.RandomState(SEED)
        a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
        b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
        _PERMUTATIONS = (a, b)
    return _PERMUTATIONS


def hash32(keys: np.ndarray) -> np.ndarray:
    """The 32-bit values the MinHash permutes: the top half of each key, finalised."""
    return (_fmix64(keys) >> _U64(32)).astype(np.uint32)


_CHUNK = 4096  # keys per block of the permutation matrix (NUM_PERM x 4096 x 4 bytes)


def signature(keys: np.ndarray) -> bytes:
    """The MinHash of a shingle-key set, as ``NUM_PERM`` little-endian uint32 (for storage).

    datasketch's ``affine32`` scheme (its permutations, its finaliser, ``a * h + b`` modulo
    2**32, the minimum per permutation) fed with :func:`hash32` of the keys, computed here
    over preallocated blocks of one matrix: ``MinHash.update_batch`` calls a hash function per item
    and allocates two temporaries of ``len(keys) x NUM_PERM``, five times the whole cost.
    A permutation is a row of the matrix, so each minimum is a reduction over contiguous
    memory (a column of a key-per-row matrix took twice as long).
    The equality with ``MinHash.update_batch`` is tested.
    """
    a, b = _permutations()
    if keys.size == 0:
        return np.full(NUM_PERM, 0xFFFFFFFF, dtype="<u4").tobytes()
    s1, m1, s2, m2 = _FMIX32
    h = hash32(keys)
    h ^= h >> s1
    h *= m1
    h ^= h >> s2
    h *= m2
    h ^= h >> s1
    out = np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    buf = np.empty((NUM_PERM, min(h.size, _CHUNK)), dtype=np.uint32)
    a, b = a[:, None], b[:, None]
    for start in range(0, h.size, _CHUNK):  # a 500k-character PDF stays at 2 MB, not 250
        part = h[start : start + _CHUNK]
        values = buf[:, : part.size]
        np.multiply(a, part, out=values)
        np.add(values, b, out=values)
        np.minimum(out, values.min(axis=1), out=out)
    return out.astype("<u4").tobytes()


def band_keys(sig: bytes) -> list[int]:
    """One signed 63-bit key per band (band number mixed in, so bands never collide)."""
    keys = []
    for band in range(BANDS):
        chunk = sig[band * ROWS * 4 : (band + 1) * ROWS * 4]
        digest = hashlib.blake2b(chunk, digest_size=8, person=struct.pack("<Q", band)).digest()
        keys.append(struct.unpack("<q", digest)[0] >> 1)
    return keys


@dataclass(frozen=True)
class Signed:
    """What the archive stores and compares for one text (:func:`models.neardup.link_version`,
    or :func:`models.neardup.link_pending` for a version a busy writer queued unsigned)."""

    sha256: str  # of the normal form the rest was computed from (a version's sha256)
    keys: np.ndarray  # shingle_keys
    minhash: bytes  # signature(keys)
    bands: list[int]  # band_keys(minhash)


def sign(norm_text: str, sha256: str) -> Signed:
    """The shingle keys, MinHash and LSH band keys of a normal form whose hash is ``sha256``."""
    keys = shingle_keys(norm_text)
    minhash = signature(keys)
    return Signed(sha256, keys, minhash, band_keys(minhash))


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


def _common(small: np.ndarray, large: np.ndarray) -> int:
    """How many keys two sorted, distinct key arrays share.

    Of similar sizes (two versions of a template: the archive writer's every comparison),
    by merging them: a stable sort of the two concatenated runs is one linear merge, after
    which each shared key is a pair of equal neighbours (4× faster than a binary search of
    each key; ``np.intersect1d`` sorts both together from scratch: 3× slower). Otherwise a
    binary search of each of the smaller's keys in the larger."""
    if large.size < 8 * small.size:
        merged = np.concatenate((small, large))
        merged.sort(kind="stable")
        return int(np.count_nonzero(merged[1:] == merged[:-1]))
    at = np.searchsorted(large, small)
    np.minimum(at, large.size - 1, out=at)
    return int(np.count_nonzero(large[at] == small))


def compare(a: np.ndarray | set[str], b: np.ndarray | set[str]) -> Similarity:
    """Exact similarity of two shingle sets: :func:`shingle_keys` (sorted, distinct) or
    :func:`shingles`."""
    if not len(a) or not len(b):
        return Similarity(0.0, 0.0, 0.0)
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        common = _common(a, b) if len(a) <= len(b) else _common(b, a)
    else:
        common = len(set(a) & set(b))
    union = len(a) + len(b) - common
    return Similarity(common / union, common / len(a), common / len(b))


_SENTENCE_END = re.compile(r"(?<=[。；！？;!?])")  # the normal form is NFKC: ；→;


def substitutions(original: str, copy: str, limit: int = 20) -> list[dict[str, Any]]:
    """Replaced character runs (``original`` → ``copy``) of an alignment, most frequent first.

    Only short runs count (a spinner swaps words; a rewritten paragraph is not a
    substitution), and runs that contain a digit are left out (dates and figures differ
    between any two reports). The texts are aligned sentence by sentence first and
    character by character only inside the sentences that differ: one character alignment
    of two whole reports took 0.1–1 s (difflib is quadratic in repeated characters), and
    the pairs found are the same on the benchmark's spun, truncated and padded copies.
    """
    sent_a, sent_b = _SENTENCE_END.split(original), _SENTENCE_END.split(copy)
    pairs: Counter[tuple[str, str]] = Counter()
    blocks = difflib.SequenceMatcher(None, sent_a, sent_b, autojunk=False).get_opcodes()
    for op, s1, s2, t1, t2 in blocks:
        if op != "replace":
            continue
        a, b = "".join(sent_a[s1:s2]), "".join(sent_b[t1:t2])
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if op != "replace" or i2 - i1 > 6 or j2 - j1 > 6:
                continue
            old, new = a[i1:i2], b[j1:j2]
            if any(c.isdigit() for c in old + new):
                continue
            pairs[(old, new)] += 1
    return [{"from": f, "to": t, "count": n} for (f, t), n in pairs.most_common(limit)]
