"""Several MF4 frame groups (one per bus, per identifier, or data / remote / error frames) joined in time order
while each is read in chunks: memory holds about one chunk per group, never a whole group.

The order is the one a stable sort of all groups' frames (concatenated in group order) by time gives, as long as
each group's own times do not go backwards: frames with equal times keep group order, then record order. A group
whose times go backwards is merged by chunk (its frames are sorted within the span being emitted), and the
reader's ``time_backwards`` finding reports what is left out of order.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ._mf4_records import Columns, join_columns

__all__ = ["merge_in_time"]


def merge_in_time(sources: list[Iterator[Columns]]) -> Iterator[Columns]:
    """The frames of every source, in time order. One source passes through unchanged (file order)."""
    if len(sources) == 1:
        yield from sources[0]
        return
    held: list[Columns | None] = [None] * len(sources)
    top = [-np.inf] * len(sources)          # the latest time each source has given; its next frames are later
    active = set(range(len(sources)))

    def pull(i: int) -> None:
        part = next(sources[i], None)
        if part is None:
            active.discard(i)
            return
        held[i] = part if held[i] is None else join_columns([held[i], part])
        latest = float(part[0].max())
        if latest == latest:                 # NaN times (a damaged file) do not move the edge; they go out last
            top[i] = max(top[i], latest)

    for i in range(len(sources)):
        pull(i)
    while True:
        if not active:
            out = _emit(held, np.inf)
            if out is not None:
                yield out
            return
        edge = min(top[i] for i in active)
        out = _emit(held, edge)
        if out is not None:
            yield out
        for i in [i for i in active if top[i] == edge]:
            pull(i)


def _emit(held: list[Columns | None], edge: float) -> Columns | None:
    """Every held frame earlier than ``edge`` (all of them for ``inf``), stably sorted by time."""
    out: list[Columns] = []
    for i, part in enumerate(held):
        if part is None:
            continue
        if edge == np.inf:
            out.append(part)
            held[i] = None
            continue
        early = part[0] < edge
        if not early.any():
            continue
        if early.all():
            out.append(part)
            held[i] = None
        else:
            out.append(tuple(c[early] for c in part))          # type: ignore[arg-type]
            later = ~early
            held[i] = tuple(c[later] for c in part)            # type: ignore[assignment]
    if not out:
        return None
    cols = join_columns(out)
    order = np.argsort(cols[0], kind="stable")
    return tuple(c[order] for c in cols)                       # type: ignore[return-value]
