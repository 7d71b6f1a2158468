"""Real report attachments (PDF, DOCX …) from public repositories, when this machine has them.

The files live in ``../shared/realdocs`` beside the repository (provenance in its README.md)
and are never committed, so this test skips on a user's clone. Where the folder is present,
every file must be read without a crash or an ``unparsable`` flag, every file the README
marks as a report must be recognised as one, and, when poppler's ``pdftotext`` is installed,
our PDF text must hold what that independent reader finds (page numbers aside).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from benchmarks.realdocs import CONTENT_TYPES, SUFFIXES, char_prf, reference_text
from nianbao.pipelines.derive import derive

ROOT = Path(__file__).resolve().parents[2] / "shared" / "realdocs"
FILES = sorted(p for p in ROOT.glob("*") if p.suffix.lower() in SUFFIXES) if ROOT.is_dir() else []

pytestmark = pytest.mark.skipif(
    not FILES, reason=f"{ROOT} is absent: real attachments are not in the repository"
)


def _reports() -> set[str]:
    """Files the README's table marks ``yes`` in its report column."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| ([^|]+?) \| [^|]+ \| yes \|", readme, re.M))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_a_real_attachment_is_read_and_recognised(path: Path) -> None:
    doc = derive(
        path.read_bytes(), f"http://example.gov.cn/{path.name}", CONTENT_TYPES[path.suffix.lower()]
    )
    assert "unparsable" not in doc.flags, doc.errors
    assert len(doc.text) > 500, doc.text
    if path.name in _reports():
        assert "report" in doc.flags, doc.text[:300]
    if path.suffix.lower() == ".pdf" and shutil.which("pdftotext"):
        ref = reference_text(path)
        assert ref is not None
        precision, recall, _ = char_prf(doc.text, ref[1])
        assert recall >= 0.98 and precision >= 0.98, (precision, recall)
