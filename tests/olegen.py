"""Build Word 97 (.doc/.wps) files for the tests: a minimal OLE2 compound file writer.

olefile reads compound files but cannot create them, and no office suite is available to
the test suite, so the tests write the bytes themselves, following [MS-CFB] (version 3,
512-byte sectors, every stream padded past the 4096-byte mini-stream cutoff so no mini
FAT is needed) and [MS-DOC] (a FIB with the Clx offset, a piece table of one 8-bit and one
UTF-16 piece, as Word writes after fast saves).
"""

from __future__ import annotations

import struct

ENDOFCHAIN, FREESECT, FATSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
SECTOR = 512


def _dir_entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
    encoded = (name + "\0").encode("utf-16-le") if name else b""
    return (
        encoded.ljust(64, b"\0")
        + struct.pack("<HBB", len(encoded), kind, 1)
        + struct.pack("<III", NOSTREAM, right, child)
        + b"\0" * 16
        + struct.pack("<I", 0)
        + b"\0" * 16
        + struct.pack("<IQ", start, size)
    )


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A compound file holding ``streams`` (name → bytes) under the root storage."""
    body = bytearray()
    fat: list[int] = []
    starts: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for name, data in streams.items():
        # Declared sizes below 4096 would put the stream in the mini stream: pad instead.
        data = data.ljust(max(4096, -(-len(data) // SECTOR) * SECTOR), b"\0")
        sizes[name] = len(data)
        first = len(fat)
        count = len(data) // SECTOR
        fat.extend(range(first + 1, first + count))
        fat.append(ENDOFCHAIN)
        starts[name] = first
        body += data
    names = list(streams)
    entries = [_dir_entry("Root Entry", 5, 1, NOSTREAM, ENDOFCHAIN, 0)]
    for i, name in enumerate(names):
        right = i + 2 if i + 1 < len(names) else NOSTREAM
        entries.append(_dir_entry(name, 2, NOSTREAM, right, starts[name], sizes[name]))
    directory = b"".join(entries)
    directory = directory.ljust(-(-len(directory) // SECTOR) * SECTOR, b"\0")
    dir_start = len(fat)
    dir_count = len(directory) // SECTOR
    fat.extend(range(dir_start + 1, dir_start + dir_count))
    fat.append(ENDOFCHAIN)
    body += directory
    fat_start = len(fat)
    fat.append(FATSECT)  # one FAT sector holds 128 entries: plenty here
    assert len(fat) <= 128
    body += struct.pack(f"<{128}I", *(fat + [FREESECT] * (128 - len(fat))))
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, 1, dir_start, 0, 4096, ENDOFCHAIN, 0, ENDOFCHAIN, 0)
        + struct.pack("<109I", fat_start, *([FREESECT] * 108))
    )
    assert len(header) == SECTOR
    return bytes(header + body)


def word_doc(
    paragraphs: list[str], ascii_prefix: str = "", flags: int = 0x0200, nfib: int = 0x00C1
) -> bytes:
    """A Word 97 document: ``ascii_prefix`` as an 8-bit piece, the paragraphs as UTF-16."""
    wide = "\r".join(paragraphs) + "\r"
    text_fc = 0x800
    narrow = ascii_prefix.encode("cp1252")
    wide_fc = text_fc + len(narrow)
    wide_fc += wide_fc % 2
    wd = bytearray(max(0x1000, wide_fc + 2 * len(wide)))
    struct.pack_into("<HH", wd, 0, 0xA5EC, nfib)
    struct.pack_into("<H", wd, 0x0A, flags)  # 0x0200 fWhichTblStm: the table stream is 1Table
    struct.pack_into("<H", wd, 0x20, 14)
    struct.pack_into("<H", wd, 0x3E, 22)
    struct.pack_into("<I", wd, 0x4C, len(ascii_prefix) + len(wide))  # ccpText
    struct.pack_into("<H", wd, 0x98, 0x5D)
    wd[text_fc : text_fc + len(narrow)] = narrow
    encoded = wide.encode("utf-16-le")
    wd[wide_fc : wide_fc + len(encoded)] = encoded
    cps = [0, len(ascii_prefix), len(ascii_prefix) + len(wide)]
    pcds = struct.pack("<HIH", 0, (text_fc * 2) | 0x40000000, 0) + struct.pack(
        "<HIH", 0, wide_fc, 0
    )
    plc = struct.pack("<3I", *cps) + pcds
    clx = b"\x02" + struct.pack("<I", len(plc)) + plc
    table = b"\0" * 16 + clx  # the Clx need not start the stream
    struct.pack_into("<II", wd, 0x1A2, 16, len(clx))
    return compound_file({"WordDocument": bytes(wd), "1Table": table})
