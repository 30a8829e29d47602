"""Mutators: a valid input's bytes in, a damaged copy out. Deterministic for a given ``random.Random``.

Generic byte damage (truncation, bit flips, interesting values, deletions, duplications, splices) applies to
every format; structure-aware damage targets what readers trust: BLF object sizes, types and container
compression (inside the inflated containers too, recompressed so the damage reaches the object parser), truncation
at BLF container and MDF block boundaries, MDF 4 block lengths, links and data-section integers, MDF 3 block
sizes, links, record sizes, cycle counts and channel bit offsets and counts, blocks and objects swapped, text lines
reordered, cut, duplicated and with tokens replaced, headers garbled, gzip streams cut, and TOML documents with
values of the wrong type, removed keys and odd numbers. Structural bombs: BLF containers and gzip streams that
inflate to 16-32 MiB, fields and lines of 5 kB to 1 MB, a line repeated up to 100,000 times (2 MB),
60,000 blank lines.
"""

from __future__ import annotations

import copy
import gzip
import random
import re
import struct
import tomllib
import zlib
from collections.abc import Callable
from datetime import datetime

__all__ = ["mutate", "MUTATORS"]

Mutator = Callable[[bytes, random.Random], bytes]

INTERESTING_8 = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0x10, 0x40)
INTERESTING_32 = (0, 1, 7, 15, 16, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFF, 0x10000, 144, 32)
GARBAGE_TOKENS = (b"", b"nan", b"inf", b"-inf", b"-1", b"1e400", b"-0", b"0x", b"FFFFFFFFFFFFFFFFFF", b"#", b"##",
                  b"9" * 40, b"\xff\xfe", b"\x00", b"0.0.0", b"+", b"1e-400", b"x", b"R", b"d", b"15", b"64",
                  b"99999999999", b"-99999999999", b"\t", b"ZZ", b"1.5", b"=", b",,,", b";", b"(", b")")


# -- generic byte damage ---------------------------------------------------------------------------------------
def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(0, max(1, len(data)))]


def flip_bits(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def interesting_bytes(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        out[rng.randrange(len(out))] = rng.choice(INTERESTING_8)
    return bytes(out)


def interesting_word(data: bytes, rng: random.Random) -> bytes:
    if len(data) < 4:
        return data
    i = rng.randrange(len(data) - 3)
    return data[:i] + struct.pack("<I", rng.choice(INTERESTING_32)) + data[i + 4:]


def delete_range(data: bytes, rng: random.Random) -> bytes:
    if len(data) < 2:
        return data
    i = rng.randrange(len(data))
    return data[:i] + data[i + rng.randint(1, min(256, len(data) - i)):]


def duplicate_range(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    n = rng.randint(1, min(512, len(data) - i))
    return data[:i] + data[i:i + n] * rng.randint(2, 4) + data[i + n:]


def splice(data: bytes, rng: random.Random) -> bytes:
    if len(data) < 8:
        return data
    src = rng.randrange(len(data))
    piece = data[src:src + rng.randint(1, 64)]
    dst = rng.randrange(len(data))
    return data[:dst] + piece + data[dst + len(piece):]


def append_garbage(data: bytes, rng: random.Random) -> bytes:
    return data + rng.randbytes(rng.randint(1, 300))


def zero_fill(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    n = rng.randint(1, min(1024, len(data) - i))
    return data[:i] + b"\0" * n + data[i + n:]


def swap_chunks(data: bytes, rng: random.Random) -> bytes:
    """Two ranges of one length (8 bytes to 4 KiB) exchanged: blocks, objects or lines out of order."""
    if len(data) < 32:
        return data
    n = rng.randint(8, max(8, min(4096, len(data) // 3)))
    i, j = sorted(rng.sample(range(len(data) - n + 1), 2)) if len(data) - n + 1 >= 2 else (0, 0)
    if j - i < n:
        return data
    return data[:i] + data[j:j + n] + data[i + n:j] + data[i:i + n] + data[j + n:]


GENERIC: tuple[Mutator, ...] = (truncate, flip_bits, interesting_bytes, interesting_word, delete_range,
                                duplicate_range, splice, append_garbage, zero_fill, swap_chunks)

#: sizes of the structural bombs: big enough to show a quadratic step or an unbounded allocation, small enough
#: that a linear reader takes well under the per-input time
HUGE = (5_000, 20_000, 100_000, 100_000, 1_000_000)
BOMB_BYTES = (16 << 20, 16 << 20, 32 << 20)


# -- BLF -----------------------------------------------------------------------------------------------------------
def _blf_objects(data: bytes) -> list[tuple[int, int, int]]:
    """(offset, size, type) of the top-level objects, as far as they chain."""
    out = []
    if len(data) < 144 or data[:4] != b"LOGG":
        return out
    pos = struct.unpack_from("<L", data, 4)[0] or 144
    while pos + 16 <= len(data) and data[pos:pos + 4] == b"LOBJ":
        size, otype = struct.unpack_from("<LL", data, pos + 8)
        out.append((pos, size, otype))
        if size < 16:
            break
        pos += size + size % 4
    return out


def blf_truncate_boundary(data: bytes, rng: random.Random) -> bytes:
    objs = _blf_objects(data)
    if not objs:
        return truncate(data, rng)
    off, size, _ = rng.choice(objs)
    cut = rng.choice((off, off + 16, off + 32, off + size, off + size - 1, off + rng.randrange(max(1, size)),
                      off + rng.randint(1, 40)))
    return data[:max(0, cut)]


def blf_object_size(data: bytes, rng: random.Random) -> bytes:
    objs = _blf_objects(data)
    if not objs:
        return interesting_word(data, rng)
    off, size, _ = rng.choice(objs)
    new = rng.choice((0, 1, 15, 16, 17, size - 1, size + 1, size + 4, size * 2, 0xFFFFFFFF, 0x7FFFFFFF))
    return data[:off + 8] + struct.pack("<L", new & 0xFFFFFFFF) + data[off + 12:]


def blf_object_field(data: bytes, rng: random.Random) -> bytes:
    """Object type, header size/version, container compression method or uncompressed size."""
    objs = _blf_objects(data)
    if not objs:
        return interesting_word(data, rng)
    off, _, _ = rng.choice(objs)
    field = rng.choice(("type", "hsize", "hversion", "method", "usize", "sig"))
    if field == "type":
        return data[:off + 12] + struct.pack("<L", rng.choice((0, 1, 10, 86, 100, 101, 115, 200, 0xFFFFFFFF)))\
            + data[off + 16:]
    if field == "hsize":
        return data[:off + 4] + struct.pack("<H", rng.choice((0, 16, 32, 40, 0xFFFF))) + data[off + 6:]
    if field == "hversion":
        return data[:off + 6] + struct.pack("<H", rng.choice((0, 1, 2, 3, 0xFFFF))) + data[off + 8:]
    if field == "method":
        return data[:off + 16] + struct.pack("<H", rng.choice((0, 1, 2, 3, 0xFFFF))) + data[off + 18:]
    if field == "usize":
        return data[:off + 24] + struct.pack("<L", rng.choice(INTERESTING_32)) + data[off + 28:]
    return data[:off] + rng.choice((b"LOBX", b"\0\0\0\0", b"LOGG")) + data[off + 4:]


def blf_header(data: bytes, rng: random.Random) -> bytes:
    if len(data) < 144:
        return flip_bits(data, rng)
    field = rng.choice((4, 24, 32, 40, 44, 48, 64, 72))
    if field == 4:
        return data[:4] + struct.pack("<L", rng.choice((0, 16, 143, 145, 1000, 0xFFFFFFFF))) + data[8:]
    if field in (24, 32):
        return data[:field] + struct.pack("<Q", rng.choice((0, 1, 2**63, 2**64 - 1))) + data[field + 8:]
    if field == 40:
        return data[:40] + struct.pack("<L", rng.choice(INTERESTING_32)) + data[44:]
    # SYSTEMTIME start/stop fields: odd dates
    i = field + 2 * rng.randrange(8)
    return data[:i] + struct.pack("<H", rng.choice((0, 13, 32, 60, 0xFFFF, 1601, 9999))) + data[i + 2:]


def _inner_mutation(inner: bytes, rng: random.Random) -> bytes:
    """Damage the object stream inside a container: an object's size, type, header size or payload."""
    starts = [m.start() for m in re.finditer(b"LOBJ", inner)]
    if not starts:
        return flip_bits(inner, rng)
    pos = rng.choice(starts)
    what = rng.choice(("size0", "size", "type", "hsize", "hversion", "dlc", "valid", "channel", "tflags",
                       "cut", "generic"))
    if what == "size0":
        return inner[:pos + 8] + b"\0\0\0\0" + inner[pos + 12:]
    if what == "size":
        return inner[:pos + 8] + struct.pack("<L", rng.choice(INTERESTING_32)) + inner[pos + 12:]
    if what == "type":
        return inner[:pos + 12] + struct.pack("<L", rng.choice((1, 10, 73, 86, 100, 101, 115, 65, 0xFFFF))) \
            + inner[pos + 16:]
    if what == "hsize":
        return inner[:pos + 4] + struct.pack("<H", rng.choice((0, 16, 24, 40, 200, 0xFFFF))) + inner[pos + 6:]
    if what == "hversion":
        return inner[:pos + 6] + struct.pack("<H", rng.choice((0, 2, 3, 0xFFFF))) + inner[pos + 8:]
    if what in ("dlc", "valid", "channel"):
        at = pos + 32 + {"dlc": 3, "valid": 14, "channel": 0}[what]
        if at + 2 <= len(inner):
            value = rng.choice((0, 8, 9, 15, 64, 65, 255)) if what != "channel" else rng.choice((0, 256, 0xFFFF))
            return inner[:at] + struct.pack("<H" if what == "channel" else "<B", value) + \
                inner[at + (2 if what == "channel" else 1):]
        return inner
    if what == "tflags":
        return inner[:pos + 16] + struct.pack("<L", rng.choice((0, 1, 2, 3, 0xFFFFFFFF))) + inner[pos + 20:]
    if what == "cut":
        return inner[: pos + rng.randrange(1, 48)]
    return rng.choice(GENERIC)(inner, rng)


def blf_inner(data: bytes, rng: random.Random) -> bytes:
    """Inflate a log container, damage its objects, deflate it again with consistent container fields."""
    containers = [o for o in _blf_objects(data) if o[2] == 10 and o[1] >= 32 and o[0] + 32 <= len(data)]
    if not containers:
        return blf_object_size(data, rng)
    off, size, _ = rng.choice(containers)
    method = struct.unpack_from("<H", data, off + 16)[0]
    payload = data[off + 32: off + size]
    try:
        inner = zlib.decompress(payload) if method == 2 else payload
    except zlib.error:
        return flip_bits(data, rng)
    inner = _inner_mutation(inner, rng)
    packed = zlib.compress(inner) if method == 2 else inner
    new_size = 32 + len(packed)
    obj = struct.pack("<4sHHLL", b"LOBJ", 16, 1, new_size, 10) + struct.pack("<H6xL4x", method, len(inner)) + packed
    return data[:off] + obj + b"\0" * (new_size % 4) + data[off + size + size % 4:]


def blf_swap_objects(data: bytes, rng: random.Random) -> bytes:
    """Two top-level objects (containers) exchanged, each whole."""
    objs = [o for o in _blf_objects(data) if o[1] >= 16]
    if len(objs) < 2:
        return swap_chunks(data, rng)
    (a, sa, _), (b, sb, _) = sorted(rng.sample(objs, 2))
    la, lb = sa + sa % 4, sb + sb % 4
    return data[:a] + data[b:b + lb] + data[a + la:b] + data[a:a + la] + data[b + lb:]


def blf_container_bomb(data: bytes, rng: random.Random) -> bytes:
    """A log container of 16-32 MiB of zeros (or of repeated object headers) that deflates to a few KiB, its
    uncompressed size declared truly, too small or 4 GiB."""
    objs = _blf_objects(data)
    if not objs:
        return blf_object_size(data, rng)
    off = rng.choice(objs)[0]
    n = rng.choice(BOMB_BYTES)
    piece = rng.choice((b"\0", struct.pack("<4sHHLL", b"LOBJ", 16, 1, 48, 1) + bytes(32)))
    inner = piece * (n // len(piece))
    packed = zlib.compress(inner, 9)
    usize = rng.choice((len(inner), len(inner) // 2, 0xFFFFFFFF))
    new_size = 32 + len(packed)
    obj = struct.pack("<4sHHLL", b"LOBJ", 16, 1, new_size, 10) + struct.pack("<H6xL4x", 2, usize) + packed
    return data[:off] + obj + b"\0" * (new_size % 4) + data[off:]


BLF: tuple[Mutator, ...] = (blf_truncate_boundary, blf_object_size, blf_object_field, blf_header, blf_inner,
                            blf_inner, blf_inner, blf_swap_objects, blf_container_bomb)


# -- MDF -----------------------------------------------------------------------------------------------------------
_BLOCK = re.compile(rb"##(?:ID|HD|DG|CG|CN|CC|TX|MD|DT|DZ|DL|HL|SI|SR|SD|FH|CH|AT|EV|RD|RV|DI|LD|CA)")


def _mdf_blocks(data: bytes) -> list[int]:
    return [m.start() for m in _BLOCK.finditer(data) if m.start() % 8 == 0]


def mdf_truncate_boundary(data: bytes, rng: random.Random) -> bytes:
    blocks = _mdf_blocks(data)
    if not blocks:
        return truncate(data, rng)
    b = rng.choice(blocks)
    return data[: b + rng.choice((0, 4, 8, 16, 24, rng.randint(0, 200)))]


def mdf_block_length(data: bytes, rng: random.Random) -> bytes:
    blocks = _mdf_blocks(data)
    if not blocks:
        return interesting_word(data, rng)
    b = rng.choice(blocks)
    value = rng.choice((0, 1, 24, 23, 2**31, 2**63 - 1, 2**64 - 1, len(data) * 2))
    return data[:b + 8] + struct.pack("<Q", value) + data[b + 16:]


def _block_and_links(data: bytes, blocks: list[int], rng: random.Random) -> tuple[int, int] | None:
    """One of ``blocks`` and its link count, or None when its header is cut off."""
    b = rng.choice(blocks)
    if b + 24 > len(data):
        return None
    return b, struct.unpack_from("<Q", data, b + 16)[0]


def mdf_link(data: bytes, rng: random.Random) -> bytes:
    """A link (an absolute file offset) of a block pointed elsewhere: 0, itself, past the end, misaligned."""
    blocks = _mdf_blocks(data)
    if not blocks:
        return interesting_word(data, rng)
    picked = _block_and_links(data, blocks, rng)
    if picked is None:
        return data
    b, links = picked
    if not 0 < links < 64 or b + 24 + 8 * links > len(data):
        return data
    i = b + 24 + 8 * rng.randrange(links)
    value = rng.choice((0, b, 1, len(data) + 8, 2**63, rng.choice(blocks) + 3, rng.choice(blocks)))
    return data[:i] + struct.pack("<Q", value) + data[i + 8:]


def mdf_block_body(data: bytes, rng: random.Random) -> bytes:
    """Damage inside one block (its data section), leaving the others intact."""
    blocks = _mdf_blocks(data)
    if not blocks:
        return flip_bits(data, rng)
    b = rng.choice(blocks)
    end = min(len(data), b + max(24, struct.unpack_from("<Q", data, b + 8)[0] if b + 16 <= len(data) else 24))
    body = data[b + 24:end]
    return data[:b + 24] + rng.choice((flip_bits, interesting_bytes, interesting_word, zero_fill))(body, rng) + \
        data[b + 24 + len(body):]


def mdf_block_integer(data: bytes, rng: random.Random) -> bytes:
    """A 64/32/16-bit field of a block's data section (record counts, sizes, offsets, bit counts) set to a
    boundary integer."""
    blocks = _mdf_blocks(data)
    if not blocks:
        return interesting_word(data, rng)
    picked = _block_and_links(data, blocks, rng)
    if picked is None:
        return data
    b, links = picked
    start = b + 24 + 8 * (links if 0 <= links < 64 else 0)
    length = struct.unpack_from("<Q", data, b + 8)[0]
    end = min(len(data), b + length if 24 <= length < 1 << 20 else start + 64)
    if end - start < 8:
        return data
    i = start + rng.randrange(0, end - start - 7)
    width = rng.choice(("<Q", "<L", "<H"))
    bound = {"<Q": 2**64, "<L": 2**32, "<H": 2**16}[width]
    value = rng.choice((0, 1, 2, 7, 8, 63, 64, 65, 255, 256, 2**15, 2**16 - 1, 2**31 - 1, 2**31, 2**32 - 1,
                        2**63 - 1, 2**63, 2**64 - 1, len(data), len(data) * 8)) % bound
    return data[:i] + struct.pack(width, value) + data[i + struct.calcsize(width):]


def swap_mdf_blocks(data: bytes, rng: random.Random) -> bytes:
    """Two blocks' headers and links exchanged in place: every link now finds the other kind of block."""
    blocks = _mdf_blocks(data)
    if len(blocks) < 2:
        return swap_chunks(data, rng)
    a, b = sorted(rng.sample(blocks, 2))
    n = min(24, b - a, len(data) - b)
    return data[:a] + data[b:b + n] + data[a + n:b] + data[a:a + n] + data[b + n:]


MDF: tuple[Mutator, ...] = (mdf_truncate_boundary, mdf_block_length, mdf_link, mdf_block_body, mdf_block_body,
                            mdf_block_integer, mdf_block_integer, swap_mdf_blocks)

# MDF 3 (and 2): 2-character block ids, 16-bit block sizes and 32-bit links; found by walking the links from
# the header (HD at 64): data groups, channel groups, channels, conversions, data
_V3_FIELDS = {"HD": ((2, "<H"), (4, "<L"), (16, "<H")),
              "DG": ((2, "<H"), (4, "<L"), (8, "<L"), (16, "<L"), (20, "<H"), (22, "<H")),
              "CG": ((2, "<H"), (4, "<L"), (8, "<L"), (16, "<H"), (18, "<H"), (20, "<H"), (22, "<L")),
              "CN": ((2, "<H"), (4, "<L"), (8, "<L"), (24, "<H"), (186, "<H"), (188, "<H"), (190, "<H"),
                     (226, "<H")),
              "CC": ((2, "<H"), (42, "<H"), (44, "<H"))}


def _v3_blocks(data: bytes) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    seen: set[int] = set()

    def link(at: int) -> int:
        return struct.unpack_from("<L", data, at)[0] if at + 4 <= len(data) else 0

    def visit(kind: str, at: int) -> bool:
        if not 64 <= at < len(data) - 4 or at in seen or data[at:at + 2] != kind.encode() or len(out) > 400:
            return False
        seen.add(at)
        out.append((kind, at))
        return True

    if not visit("HD", 64):
        return out
    dg = link(68)
    while visit("DG", dg):
        cg = link(dg + 8)
        while visit("CG", cg):
            cn = link(cg + 8)
            while visit("CN", cn):
                visit("CC", link(cn + 8))
                cn = link(cn + 4)
            cg = link(cg + 4)
        dg = link(dg + 4)
    return out


def mdf3_field(data: bytes, rng: random.Random) -> bytes:
    """One MDF 3 size, link, count or channel field (record size, cycle count, bit offset and count, data type,
    additional byte offset, data address) set to a boundary integer."""
    blocks = _v3_blocks(data)
    if not blocks:
        return interesting_word(data, rng)
    kind, at = rng.choice(blocks)
    off, fmt = rng.choice(_V3_FIELDS[kind])
    size = struct.calcsize(fmt)
    if at + off + size > len(data):
        return data
    bound = 1 << (8 * size)
    value = rng.choice((0, 1, 2, 7, 8, 9, 15, 16, 31, 32, 33, 63, 64, 65, 255, 256, 1000, 2**15 - 1, 2**16 - 1,
                        2**31 - 1, 2**32 - 1, len(data), len(data) - 1, rng.randrange(bound))) % bound
    return data[:at + off] + struct.pack(fmt, value) + data[at + off + size:]


def mdf3_truncate_boundary(data: bytes, rng: random.Random) -> bytes:
    blocks = _v3_blocks(data)
    if not blocks:
        return truncate(data, rng)
    at = rng.choice(blocks)[1]
    return data[:at + rng.choice((0, 2, 4, 8, 24, rng.randint(0, 300)))]


MDF3: tuple[Mutator, ...] = (mdf3_field, mdf3_field, mdf3_field, mdf3_field, mdf3_truncate_boundary)


# -- text logs -------------------------------------------------------------------------------------------------------
def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def text_line_ops(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    if len(lines) < 2:
        return data + b"\n" + data
    op = rng.choice(("delete", "duplicate", "swap", "shuffle", "reverse", "cut", "join", "blank", "move_header"))
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    if op == "delete":
        del lines[i: i + rng.randint(1, 5)]
    elif op == "duplicate":
        lines[i:i] = [lines[i]] * rng.randint(1, 5)
    elif op == "swap":
        lines[i], lines[j] = lines[j], lines[i]
    elif op == "shuffle":
        block = lines[min(i, j): max(i, j) + 1]
        rng.shuffle(block)
        lines[min(i, j): max(i, j) + 1] = block
    elif op == "reverse":
        lines[min(i, j): max(i, j) + 1] = lines[min(i, j): max(i, j) + 1][::-1]
    elif op == "cut":
        lines[i] = lines[i][: rng.randrange(max(1, len(lines[i])))]
    elif op == "join":
        lines[i] = lines[i].rstrip(b"\r\n")
    elif op == "blank":
        lines[i] = rng.choice((b"\n", b"\r\n", b" \n", b"\t\n", b"\0\n"))
    else:  # a data line moved into the header, or a header line into the data
        lines.insert(j, lines.pop(min(i, 5)))
    return b"".join(lines)


def text_token(data: bytes, rng: random.Random) -> bytes:
    """One whitespace/comma/#-separated token of a line replaced by garbage, or made huge."""
    lines = _lines(data)
    if not lines:
        return data
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines))
        parts = re.split(rb"([ ,#;\t()=]+)", lines[i])
        tokens = [k for k in range(0, len(parts), 2) if parts[k].strip()]
        if not tokens:
            continue
        k = rng.choice(tokens)
        choice = rng.random()
        if choice < 0.6:
            new = rng.choice(GARBAGE_TOKENS)
        elif choice < 0.8:
            new = parts[k] * rng.randint(2, 20)
        else:
            new = rng.randbytes(rng.randint(1, 8))
        if parts[k].endswith(b"\n") and not new.endswith(b"\n"):
            new += b"\n"
        parts[k] = new
        lines[i] = b"".join(parts)
    return b"".join(lines)


def text_header(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    head = min(len(lines), 20)
    if not head:
        return data
    i = rng.randrange(head)
    op = rng.random()
    if op < 0.4:
        lines[i] = rng.choice((flip_bits, interesting_bytes, delete_range, duplicate_range))(lines[i], rng)
    elif op < 0.6:
        del lines[i]
    elif op < 0.8:
        lines[i] = text_token(lines[i], rng)
    else:
        lines.insert(i, rng.choice((b"date \n", b"base dec timestamps relative\n", b";$FILEVERSION=9.9\n",
                                    b";$STARTTIME=nan\n", b";$COLUMNS=N,O,T\n", b"Begin Triggerblock\n",
                                    b"End TriggerBlock\n", b"timestamp,arbitration_id\n", b"// version x\n",
                                    b";$FILEVERSION=1.1\n", b";$STARTTIME=1e400\n", b"\xef\xbb\xbf\n")))
    return b"".join(lines)


def text_numbers(data: bytes, rng: random.Random) -> bytes:
    """Numbers replaced by extreme ones: huge time stamps, negative time, long hex ids, DLC 15."""
    matches = list(re.finditer(rb"[0-9A-Fa-f]+(?:\.[0-9]+)?", data))
    if not matches:
        return data
    m = rng.choice(matches)
    new = rng.choice((b"0", b"-1", b"1e308", b"1" + b"0" * 30, b"FFFFFFFF", b"1FFFFFFFF", b"F", b"15", b"9",
                      b"0.000000", b"-0.5", b"4294967296", b"18446744073709551616", b"00000000000000000000"))
    return data[:m.start()] + new + data[m.end():]


def text_line_endings(data: bytes, rng: random.Random) -> bytes:
    op = rng.random()
    if op < 0.3:
        return data.replace(b"\n", b"\r\n") if b"\r\n" not in data else data.replace(b"\r\n", b"\n")
    if op < 0.5:
        return data.replace(b"\n", b"\r")
    if op < 0.7:
        return data.rstrip(b"\r\n")
    if op < 0.85:
        return data.decode("latin-1").encode("utf-16")
    return b"\xef\xbb\xbf" + data


_HUGE_FILL = (b"7", b"F", b"Z", b"a", b"0", b"-", b".", b"#", b" ", b"01 ", b"FF", b"\t", b"\xff", b"(")


def text_huge_field(data: bytes, rng: random.Random) -> bytes:
    """One token of a line made 5 kB - 1 MB long: digits (past Python's int-conversion limit), hex, non-hex
    letters, a negative number, a dotted number, data bytes."""
    lines = _lines(data)
    if not lines:
        return data
    i = rng.randrange(len(lines))
    parts = re.split(rb"([ ,#;\t()=]+)", lines[i])
    tokens = [k for k in range(0, len(parts), 2) if parts[k].strip()]
    if not tokens:
        return data
    k = rng.choice(tokens)
    n = rng.choice(HUGE)
    fill = rng.choice(_HUGE_FILL)
    new = (b"-" if rng.random() < 0.2 else b"") + (parts[k].rstrip(b"\r\n") if rng.random() < 0.5 else b"") + \
        fill * (n // len(fill))
    parts[k] = new + (b"\n" if parts[k].endswith(b"\n") else b"")
    lines[i] = b"".join(parts)
    return b"".join(lines)


def text_huge_line(data: bytes, rng: random.Random) -> bytes:
    """A line 5 kB - 1 MB long: a frame line with thousands of data bytes, the header's date or a line of one
    repeated character; or the file's line breaks removed (one huge line)."""
    lines = _lines(data)
    if not lines:
        return data
    i = rng.randrange(min(len(lines), 30)) if rng.random() < 0.4 else rng.randrange(len(lines))
    n = rng.choice(HUGE)
    op = rng.random()
    if op < 0.3:      # the line itself, its last token repeated (3.5 M data bytes on one line, at its largest)
        body = lines[i].rstrip(b"\r\n")
        last = body.rsplit(maxsplit=1)[-1] if body.split() else b"00"
        sep = b"" if b"#" in body and b" " not in body[-len(last) - 1:] else b" "
        lines[i] = body + (sep + last) * max(1, n // (len(last) + len(sep))) + b"\n"
    elif op < 0.5:
        lines[i] = rng.choice((b"date ", b"Begin Triggerblock ", b";$STARTTIME=", b"(", b"// ", b"base hex ")) + \
            rng.choice(_HUGE_FILL) * n + b"\n"
    elif op < 0.8:
        lines[i] = rng.choice(_HUGE_FILL) * n + b"\n"
    else:
        return data.replace(b"\n", b" ")[: 4 << 20]
    return b"".join(lines)


def text_huge_count(data: bytes, rng: random.Random) -> bytes:
    """Huge counts: a line repeated 10,000-100,000 times (up to 2 MB), 60,000 blank lines (in the header or the data), or a
    count field (DLC, data length, column count) set to a huge number."""
    lines = _lines(data)
    if not lines:
        return data
    op = rng.random()
    i = rng.randrange(len(lines))
    if op < 0.35:
        # at most 2 MB: the careful per-line parser (CAN FD candump lines, ASC CANFD lines) reads ~20k lines/s
        lines[i:i + 1] = [lines[i]] * min(rng.choice((10_000, 30_000, 100_000)), (2 << 20) // max(1, len(lines[i])))
    elif op < 0.7:
        at = rng.choice((0, min(3, len(lines)), i))
        lines[at:at] = [rng.choice((b"\n", b"\r\n", b" \n", b"\t\n"))] * rng.choice((20_000, 60_000))
    else:
        return text_numbers(data, rng) if rng.random() < 0.3 else re.sub(
            rb"(?<= )([0-9A-Fa-f]{1,2})(?= )", rng.choice((b"255", b"99999999", b"FFFFFFFF", b"-1")), data,
            count=rng.randint(1, 3))
    return b"".join(lines)


TEXT: tuple[Mutator, ...] = (text_line_ops, text_line_ops, text_token, text_token, text_header, text_numbers,
                             text_line_endings, text_huge_field, text_huge_line, text_huge_count)


# -- gzip ----------------------------------------------------------------------------------------------------------
def gz_outer(data: bytes, rng: random.Random) -> bytes:
    """Damage to the compressed stream itself (a cut download, a flipped byte, a missing trailer)."""
    op = rng.random()
    if op < 0.4:
        return data[: rng.randrange(2, max(3, len(data)))]
    if op < 0.6:
        return data[:-8] if len(data) > 18 else data
    if op < 0.8:
        return flip_bits(data[:10], rng) + data[10:] if rng.random() < 0.3 else data[:10] + flip_bits(data[10:], rng)
    return data + data[: rng.randint(2, 40)]


def gz_bomb(data: bytes, rng: random.Random) -> bytes:
    """The inner file followed by 16-32 MiB of zeros or of newlines (or the bomb alone): a few KiB of gzip."""
    try:
        inner = gzip.decompress(data)
    except (OSError, EOFError, zlib.error):
        inner = b""
    fill = rng.choice((b"\0", b"\n", b"\r\n", b" "))
    n = rng.choice(BOMB_BYTES)
    out = zlib.compressobj(9, zlib.DEFLATED, 31)
    piece = fill * ((1 << 20) // len(fill))
    parts = [out.compress(inner if rng.random() < 0.7 else b"")]
    parts += [out.compress(piece) for _ in range(n >> 20)]
    return b"".join(parts) + out.flush()


def gz_inner(data: bytes, rng: random.Random, inner_mutators: tuple[Mutator, ...]) -> bytes:
    try:
        inner = gzip.decompress(data)
    except (OSError, EOFError, zlib.error):
        return gz_outer(data, rng)
    return gzip.compress(rng.choice(inner_mutators)(inner, rng), mtime=0)


# -- TOML ------------------------------------------------------------------------------------------------------------
def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return _toml_value(str(value))


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def dump_toml(doc: dict) -> bytes:
    """A TOML document: top-level keys, every table written inline (valid TOML, whatever the nesting)."""
    return "".join(f"{_toml_key(k)} = {_toml_value(v)}\n" for k, v in doc.items()).encode()


_ODD_VALUES: tuple[object, ...] = (0, -1, 1, 2**63 - 1, -(2**63), 1e308, -1e308, float("nan"), float("inf"),
                                   float("-inf"), 0.0, -0.0, 1e-320, "", "x", "1320", "linear", "step", "GT3",
                                   "../../etc/passwd", "a" * 300, True, False, [], [1], [1, 2, 3], ["a", "b"],
                                   [[1, 2], [3]], [1, "a"], {}, {"x": 1}, datetime(2025, 6, 25),
                                   "2025-13-45T99:00:00Z", [0.0] * 200)


def _odd(rng: random.Random) -> object:
    return copy.deepcopy(rng.choice(_ODD_VALUES))      # never share (and so mutate) the constants


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def toml_structure(data: bytes, rng: random.Random) -> bytes:
    """Parse, change one value (wrong type, odd number, removed, extra key, shorter array), write it again."""
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return text_line_ops(data, rng)
    for _ in range(rng.randint(1, 3)):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = rng.choice(paths)
        parent: object = doc
        for k in path[:-1]:
            parent = parent[k]  # type: ignore[index]
        key = path[-1]
        op = rng.random()
        if op < 0.2 and isinstance(parent, dict):
            del parent[key]
        elif op < 0.3 and isinstance(parent, dict):
            parent[rng.choice(("extra", "rpm", "max_bar", "tolerance", "file", "channel", "unit", "signal",
                               "interpolation", "model"))] = _odd(rng)
        elif op < 0.45 and isinstance(parent[key], list):  # type: ignore[index]
            items = parent[key]  # type: ignore[index]
            parent[key] = rng.choice((items[:-1], items[::-1], items + items[-1:], []))  # type: ignore[index]
        else:
            parent[key] = _odd(rng)  # type: ignore[index]
    return dump_toml(doc)


TOML: tuple[Mutator, ...] = (toml_structure, toml_structure, toml_structure, text_line_ops, text_token,
                             text_numbers, flip_bits, truncate)


# -- dispatch --------------------------------------------------------------------------------------------------------
MUTATORS: dict[str, tuple[Mutator, ...]] = {
    "blf": BLF + GENERIC,
    "mf4": MDF + GENERIC,
    "mdf": MDF + GENERIC,
    "mdf3": MDF3 + GENERIC,
    "asc": TEXT + GENERIC[:3],
    "candump": TEXT + GENERIC[:3],
    "trc": TEXT + GENERIC[:3],
    "csv": TEXT + GENERIC[:3],
    "bulletin": TOML,
    "profile": TOML,
    "dbc": TEXT + GENERIC[:3],
}


def mutate(fmt: str, data: bytes, rng: random.Random, inner: str | None = None) -> tuple[bytes, list[str]]:
    """``data`` (a valid ``fmt`` input) with 1-3 stacked mutations, and their names. ``inner``: for ``gz``, the
    format inside the gzip stream; for ``mdf``, ``"mdf3"`` when the seed is an MDF 3 file."""
    names: list[str] = []
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
        if fmt == "gz":
            op = rng.random()
            if op < 0.1:
                data, name = gz_bomb(data, rng), "gz_bomb"
            elif op < 0.45:
                data, name = gz_outer(data, rng), "gz_outer"
            else:
                choices = MUTATORS[inner or "candump"]
                data, name = gz_inner(data, rng, choices), f"gz_inner[{inner}]"
        else:
            m = rng.choice(MUTATORS[inner if fmt == "mdf" and inner else fmt])
            try:
                data, name = m(data, rng), m.__name__
            except (struct.error, IndexError, ValueError, zlib.error):
                # a structure-aware mutator that met structure an earlier mutation broke: damage bytes instead
                data, name = flip_bits(data, rng), f"flip_bits(after {m.__name__})"
        names.append(name)
    return data, names
