"""A walk over an MDF 4 file's block chains before asammdf opens it: a damaged link that closes a chain into a
loop (data group, channel group, channel, file history, attachment, event and channel hierarchy lists) makes
asammdf's ``MDF()`` loop forever; here it is a ``CorruptLog`` naming the file and the block's offset.

Only cycles are judged: a link past the end of the file, or to a block of another kind, ends the walk of that
chain and is left to asammdf, which reports those itself. No valid file reaches a block twice along these chains.
The data group, channel group and channel chains are also walked the way asammdf first counts them, by raw link
positions whatever the block they land on (``_raw_loop``).
"""

from __future__ import annotations

import struct
from pathlib import Path

from ..errors import CorruptLog

__all__ = ["check_link_cycles"]

_HEADER = struct.Struct("<4s4xQQ")       # block id, block length, link count
_LINK = struct.Struct("<Q")
_MAX_BLOCKS = 1 << 20                   # a walk this long is left to asammdf (no file of ours has that many)
_HD_ADDRESS = 64

# block id -> (index of its "next" link, indexes of links to child chains with the child block id)
_CHAINS: dict[bytes, tuple[int, tuple[tuple[int, bytes], ...]]] = {
    b"##HD": (-1, ((0, b"##DG"), (1, b"##FH"), (2, b"##CH"), (3, b"##AT"), (4, b"##EV"))),
    b"##DG": (0, ((1, b"##CG"),)),
    b"##CG": (0, ((1, b"##CN"),)),
    b"##CN": (0, ((1, b"##CN"),)),        # the composition link, when it points to a structure's first member
    b"##CH": (0, ((1, b"##CH"),)),
    b"##FH": (0, ()),
    b"##AT": (0, ()),
    b"##EV": (0, ()),
}


def _links(data, address: int, size: int) -> tuple[bytes, list[int]] | None:
    if address + _HEADER.size > size:
        return None
    block_id, length, count = _HEADER.unpack_from(data, address)
    count = min(count, max(0, (length - _HEADER.size) // 8), 16, (size - address - _HEADER.size) // 8)
    first = address + _HEADER.size
    return block_id, [_LINK.unpack_from(data, first + 8 * k)[0] for k in range(count)]


def _raw_loop(data, size: int) -> tuple[str, int] | None:
    """Where asammdf's ``count_channel_groups`` (run by ``MDF()`` first) would loop: it follows the data group,
    channel group and channel chains by raw link positions (next at +24, first child at +32) without looking at
    the block ids, so a link to a block of another kind can close a loop the typed walk below never sees."""
    def link(at: int) -> int:
        return _LINK.unpack_from(data, at)[0] if 0 <= at <= size - 8 else 0

    seen: dict[str, set[int]] = {"DG": set(), "CG": set(), "CN": set()}
    steps = 0

    def walk(kind: str, address: int) -> tuple[str, int] | None:
        nonlocal steps
        while 0 < address < size and steps < _MAX_BLOCKS:
            if address in seen[kind]:
                return kind, address
            seen[kind].add(address)
            steps += 1
            if kind != "CN":
                found = walk("CG" if kind == "DG" else "CN", link(address + 32))
                if found:
                    return found
            address = link(address + 24)
        return None

    return walk("DG", link(88))


def check_link_cycles(data, path: Path) -> None:
    """Raise ``CorruptLog`` when a block chain of the MDF 4 file in ``data`` (bytes or mmap) loops."""
    size = len(data)
    loop = _raw_loop(data, size)
    if loop is not None:
        raise CorruptLog(f"the {loop[0]} block chain loops back to a block it has passed (asammdf would read it "
                         "forever)", path=path, offset=loop[1],
                         fix="the file's links are damaged; copy it again from the logger")
    seen: set[int] = set()
    todo: list[tuple[int, bytes]] = [(_HD_ADDRESS, b"##HD")]
    while todo and len(seen) < _MAX_BLOCKS:
        address, want = todo.pop()
        while address:
            block = _links(data, address, size)
            if block is None or block[0] != want:
                break
            if address in seen:
                raise CorruptLog(f"the {want.decode('ascii', 'replace')[2:]} block chain loops back to a block it "
                                 "has passed (asammdf would read it forever)", path=path, offset=address,
                                 fix="the file's links are damaged; copy it again from the logger")
            seen.add(address)
            block_id, links = block
            step, children = _CHAINS[block_id]
            for index, child in children:
                if index < len(links) and links[index]:
                    todo.append((links[index], child))
            address = links[step] if 0 <= step < len(links) else 0
