"""Vectorised signal decoding: ``Frames`` + cantools ``Database`` -> physical signal columns.

cantools is the schema (it parses DBC, KCD, SYM and ARXML); this module decodes every frame of one arbitration id
at once with numpy, and is bit-exact with ``Database.decode_message(frame_id, data, decode_choices=False)``:

* Signal positions are laid out exactly as cantools lays out its ``bitstruct`` formats per multiplexer node
  (big-endian signals in network bit order, little-endian ones from the end), so even DBCs with overlapping
  signals (loaded with ``strict=False``) decode as cantools decodes them.
* Scaling follows cantools' conversion objects in float64: ``raw * scale + offset``; where cantools computes in
  exact integers (integer scale and a raw value past 2**53) the same exact arithmetic is used.
* A frame shorter than its message is not decoded (cantools refuses it: "Wrong data size"); it is counted and
  reported as a ``short_frame`` finding. Longer frames are cut to the message length, as cantools does.
* A multiplexer value with no signals defined for it makes cantools refuse the frame; such frames are counted
  (``unknown_multiplexer``) and yield no values.
* Frames whose id (with the extended/standard frame format) is in none of the bus's databases are counted
  (``unknown_id``). Error and remote frames carry no signal data and are skipped.
* Choices (value tables) stay raw numbers; the table is on :attr:`DecodedSignal.choices`.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from cantools.database.conversion import BaseConversion, IdentityConversion, NamedSignalConversion

from .frames import FLAG_ERROR, FLAG_EXTENDED, FLAG_REMOTE, Finding, Frames

__all__ = ["DecodedSignal", "DecodedMessage", "Decoded", "decode_frames", "merge_decoded"]

log = logging.getLogger(__name__)

_TWO53 = 2 ** 53
_U64 = np.uint64
_ALL_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)

# --------------------------------------------------------------------------------------------------- results

@dataclass(frozen=True, slots=True)
class DecodedSignal:
    """One decoded DBC signal: physical values (float64, choices as raw numbers) at frame times."""

    name: str
    message: str
    bus: int
    unit: str
    time: np.ndarray
    value: np.ndarray
    choices: Mapping[int, str] | None = None
    is_multiplexer: bool = False

    @property
    def qualified(self) -> str:
        """``Message.Signal``, the name a raw signal has in ``decode --all-signals`` output."""
        return f"{self.message}.{self.name}"

    def __len__(self) -> int:
        return len(self.time)


@dataclass(frozen=True, slots=True)
class DecodedMessage:
    """The decoded frames of one message on one bus.

    ``rows`` indexes the decoded frames in the ``Frames`` given to :func:`decode_frames`; ``time`` are their
    stamps. Signals of multiplexed groups hold only the frames that carried them.
    """

    name: str
    bus: int
    frame_id: int
    is_extended: bool
    length: int
    cycle_time_s: float | None
    time: np.ndarray
    rows: np.ndarray
    signals: Mapping[str, DecodedSignal]

    def __len__(self) -> int:
        return len(self.time)


@dataclass(frozen=True, slots=True)
class _Count:
    count: int
    first_time: float
    detail: str


@dataclass(frozen=True, slots=True)
class Decoded:
    """What :func:`decode_frames` produced: messages keyed ``(bus, message name)`` and counted problems."""

    messages: Mapping[tuple[int, str], DecodedMessage]
    short: Mapping[tuple[int, str], _Count] = field(default_factory=dict)
    bad_mux: Mapping[tuple[int, str], _Count] = field(default_factory=dict)
    unknown: Mapping[int, tuple[int, float, frozenset[int]]] = field(default_factory=dict)  # bus -> (n, t0, ids)
    skipped: Mapping[tuple[int, str], _Count] = field(default_factory=dict)   # messages cantools cannot decode
    frames: int = 0

    @property
    def signals(self) -> dict[tuple[int, str], DecodedSignal]:
        """Every decoded signal keyed ``(bus, "Message.Signal")``."""
        return {(s.bus, s.qualified): s for m in self.messages.values() for s in m.signals.values()}

    @property
    def findings(self) -> tuple[Finding, ...]:
        out: list[Finding] = []
        for (bus, name), c in sorted(self.short.items()):
            out.append(Finding("short_frame", f"bus {bus}: {c.count} frames of {name} {c.detail}, first at "
                                              f"{c.first_time:.6f} s; not decoded", count=c.count))
        for (bus, name), c in sorted(self.bad_mux.items()):
            out.append(Finding("unknown_multiplexer", f"bus {bus}: {c.count} frames of {name} {c.detail}, first "
                                                      f"at {c.first_time:.6f} s; not decoded", count=c.count))
        for (bus, name), c in sorted(self.skipped.items()):
            out.append(Finding("undecodable_message", f"bus {bus}: {c.count} frames of {name}: {c.detail}",
                               count=c.count))
        for bus, (n, t0, ids) in sorted(self.unknown.items()):
            shown = ", ".join(f"0x{i & 0x1FFFFFFF:X}{'x' if i >> 31 else ''}" for i in sorted(ids)[:8])
            more = f" and {len(ids) - 8} more" if len(ids) > 8 else ""
            out.append(Finding("unknown_id", f"bus {bus}: {n} frames with {len(ids)} ids in no DBC ({shown}{more}),"
                                             f" first at {t0:.6f} s", count=n))
        return tuple(out)


# --------------------------------------------------------------------------------------------------- plan

@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    big_endian: bool
    pos: int          # little endian: lowest bit index in the payload's little-endian integer;
                      # big endian: network bit index (0 = MSB of byte 0) of the most significant bit
    length: int
    signed: bool
    is_float: bool
    conversion: BaseConversion


@dataclass(slots=True)
class _Node:
    fields: list[_Field]
    fits: bool                                     # cantools can unpack this node's format from the message
    multiplexers: dict[str, dict[int, _Node]]


@dataclass(slots=True)
class _Plan:
    # no reference to the cantools Message: _PLANS is keyed weakly by the message, and a value referring to its
    # key would keep every loaded database alive (a leak of ~600 objects per check in a long-lived process)
    root: _Node | None
    reason: str | None                             # why the message cannot be decoded (root is None)
    units: dict[str, str]
    choices: dict[str, Mapping[int, str] | None]
    multiplexer_names: frozenset[str]


def _network(start: int) -> int:
    return 8 * (start // 8) + (7 - start % 8)


def _layout(signals: Sequence, nbytes: int) -> tuple[list[_Field], bool]:
    """Positions of ``signals`` as cantools' ``create_encode_decode_formats`` places them (overlaps included)."""
    total = 8 * nbytes
    fields: list[_Field] = []
    fits = True

    def make(sig, big: bool, pos: int) -> _Field:
        conv = sig.conversion
        if isinstance(conv, NamedSignalConversion):
            conv = BaseConversion.factory(scale=conv.scale, offset=conv.offset, is_float=conv.is_float)
        return _Field(sig.name, big, pos, sig.length, bool(sig.is_signed), bool(sig.conversion.is_float), conv)

    # big endian: sorted by network start bit; a negative gap (overlap) is ignored, so later fields drift
    true_end, pos = 0, 0
    for sig in sorted((s for s in signals if s.byte_order == "big_endian"), key=lambda s: _network(s.start)):
        gap = _network(sig.start) - true_end
        if gap > 0:
            pos += gap
        fields.append(make(sig, True, pos))
        pos += sig.length
        true_end = _network(sig.start) + sig.length
    if true_end < total:
        pos += total - true_end
    fits &= pos <= total
    # little endian: from the end of the payload, signals in reverse order
    end, pos = total, 0
    for sig in reversed(signals):
        if sig.byte_order == "big_endian":
            continue
        gap = end - (sig.start + sig.length)
        if gap > 0:
            pos += gap
        fields.append(make(sig, False, total - pos - sig.length))
        pos += sig.length
        end = sig.start
    if end > 0:
        pos += end
    fits &= pos <= total
    return fields, fits


def _node(codec: dict, nbytes: int) -> _Node:
    fields, fits = _layout(codec["signals"], nbytes)
    muxes = {name: {int(k): _node(child, nbytes) for k, child in children.items()}
             for name, children in codec["multiplexers"].items()}
    return _Node(fields, fits, muxes)


def _compile(message) -> _Plan:
    units = {s.name: s.unit or "" for s in message.signals}
    choices = {s.name: (MappingProxyType({int(k): str(v) for k, v in s.choices.items()}) if s.choices else None)
               for s in message.signals}
    muxnames = frozenset(s.name for s in message.signals if s.is_multiplexer)
    if message.is_container:
        return _Plan(None, "container message (AUTOSAR PDU container) is not decoded", units, choices,
                     muxnames)
    too_long = [s.name for s in message.signals if s.length > 64]
    if too_long:
        return _Plan(None, f"signal {too_long[0]} is longer than 64 bits", units, choices, muxnames)
    codec = message._codecs  # cantools' own multiplexer tree: the layout must follow it exactly
    return _Plan(_node(codec, message.length), None, units, choices, muxnames)


_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _plan(message) -> _Plan:
    plan = _PLANS.get(message)
    if plan is None:
        plan = _PLANS[message] = _compile(message)
    return plan


# --------------------------------------------------------------------------------------------------- extraction

def _extract_words(le: np.ndarray, be: np.ndarray, f: _Field) -> np.ndarray:
    mask = _ALL_ONES if f.length == 64 else _U64((1 << f.length) - 1)
    if f.big_endian:
        return (be >> _U64(64 - f.pos - f.length)) & mask
    return (le >> _U64(f.pos)) & mask


def _extract_bytes(data: np.ndarray, f: _Field) -> np.ndarray:
    out = np.zeros(len(data), _U64)
    if f.big_endian:
        last = f.pos + f.length - 1
        bytes_ = range(f.pos // 8, last // 8 + 1)
        shifts = [last - 8 * k - 7 for k in bytes_]
    else:
        bytes_ = range(f.pos // 8, (f.pos + f.length - 1) // 8 + 1)
        shifts = [8 * k - f.pos for k in bytes_]
    for k, sh in zip(bytes_, shifts, strict=True):
        col = data[:, k].astype(_U64)
        if sh >= 0:
            if sh < 64:
                out |= col << _U64(sh)
        else:
            out |= col >> _U64(-sh)
    if f.length < 64:
        out &= _U64((1 << f.length) - 1)
    return out


def _physical(bits: np.ndarray, f: _Field) -> np.ndarray:
    """cantools' ``raw_to_scaled(raw, decode_choices=False)`` as float64, for a column of raw bit patterns."""
    if f.is_float:
        if f.length == 32:
            with np.errstate(invalid="ignore"):  # signalling NaNs are kept as NaN, as Python's float() does
                raw = bits.astype(np.uint32).view(np.float32).astype(np.float64)
        elif f.length == 64:
            raw = bits.view(np.float64)
        else:
            raw = bits.astype(np.uint16).view(np.float16).astype(np.float64)
    elif f.signed:
        if f.length < 64:
            sign = _U64(1 << (f.length - 1))
            bits = (bits ^ sign) - sign
        raw = bits.view(np.int64)
    else:
        raw = bits
    conv = f.conversion
    if isinstance(conv, IdentityConversion):
        return raw.astype(np.float64)
    scale, offset = conv.scale, conv.offset
    if not f.is_float and isinstance(scale, int) and len(raw):
        biggest = max(abs(int(raw.max())), abs(int(raw.min())))
        if biggest * abs(scale) >= _TWO53 or (isinstance(offset, int) and abs(offset) >= _TWO53):
            # cantools computes int * int (+ offset) exactly; float64 would round twice here
            return np.array([_to_float(r * scale + offset) for r in raw.tolist()], dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN come out as Python's float arithmetic gives
        return raw.astype(np.float64) * _number(scale) + _number(offset)


def _cycle_s(cycle_ms: int | float | None) -> float | None:
    """A DBC GenMsgCycleTime in seconds; none, or one past float64's range (thousands of digits), is unknown."""
    if not cycle_ms:
        return None
    try:
        return cycle_ms / 1000.0
    except OverflowError:
        return None


def _number(value: int | float) -> float:
    """A DBC scale or offset as float64 (an exact integer of thousands of digits is +-inf, not an OverflowError)."""
    return _to_float(value) if isinstance(value, int) else float(value)


def _to_float(value: int) -> float:
    """An exact integer as float64: past float64's range (a DBC scale like 1e308 read as an integer) it is +-inf,
    as float arithmetic gives, instead of Python's OverflowError."""
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")


def _decode_node(node: _Node, le, be, data, rows: np.ndarray, ok: np.ndarray,
                 out: dict[str, list[tuple[np.ndarray, np.ndarray]]], bad_mux: np.ndarray) -> None:
    """Decode ``node`` for message rows ``rows``; mark rows cantools would refuse in ``ok``/``bad_mux``."""
    if not node.fits:
        ok[rows] = False
        return
    values: dict[str, np.ndarray] = {}
    whole = len(rows) == len(ok)  # the root node: every row, no gather needed
    if data is None:
        le_r, be_r = (le, be) if whole else (le[rows], be[rows])
    else:
        data_r = data if whole else data[rows]
    for f in node.fields:
        bits = _extract_words(le_r, be_r, f) if data is None else _extract_bytes(data_r, f)
        values[f.name] = v = _physical(bits, f)
        out.setdefault(f.name, []).append((rows, v))
    for name, children in node.multiplexers.items():
        with np.errstate(invalid="ignore"):
            mux = np.trunc(values[name])
        finite = np.isfinite(mux)
        if not finite.all():
            ok[rows[~finite]] = False
            bad_mux[rows[~finite]] = True
        present = np.unique(mux[finite])
        for value in present.tolist():
            sel = rows[mux == value]
            child = children.get(int(value))
            if child is None:
                ok[sel] = False
                bad_mux[sel] = True
            else:
                _decode_node(child, le, be, data, sel, ok, out, bad_mux)


def _decode_message(msg, plan: _Plan, bus: int, frames: Frames, idx: np.ndarray, words,
                    result: dict, short: dict, bad: dict, skipped: dict) -> None:
    name = msg.name
    if (bus, name) in result or (bus, name) in short or (bus, name) in skipped:
        # two messages of one name (cantools keeps both by id): the later one is told apart by its id
        name = f"{msg.name}[0x{msg.frame_id:X}]"
    key = (bus, name)
    ts = frames.timestamp
    if plan.root is None:
        skipped[key] = _Count(len(idx), float(ts[idx[0]]), plan.reason or "cannot be decoded")
        return
    nbytes = msg.length
    long_enough = frames.length[idx] >= nbytes
    if not long_enough.all():
        s = idx[~long_enough]
        short[key] = _Count(len(s), float(ts[s[0]]), f"(0x{msg.frame_id:X}) shorter than its {nbytes} bytes")
        idx = idx[long_enough]
    n = len(idx)
    if n == 0:
        return
    if nbytes <= 8:
        le = words()[idx]                   # the first 8 payload bytes as a little-endian integer
        be = le.byteswap()                  # ... and as a big-endian one
        data = None
    else:
        le = be = None
        data = np.ascontiguousarray(frames.data[idx, :nbytes]) if frames.data.shape[1] >= nbytes else None
        if data is None:  # payload matrix narrower than the message: every frame was short already
            data = np.zeros((0, nbytes), np.uint8)
    ok = np.ones(n, bool)
    bad_mux = np.zeros(n, bool)
    out: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    _decode_node(plan.root, le, be, data, np.arange(n), ok, out, bad_mux)
    if bad_mux.any():
        first = float(ts[idx[bad_mux][0]])
        bad[key] = _Count(int(bad_mux.sum()), first, f"(0x{msg.frame_id:X}) with a multiplexer value the DBC does "
                                                     "not define")
    all_ok = bool(ok.all())
    time = ts[idx] if all_ok else ts[idx[ok]]
    signals: dict[str, DecodedSignal] = {}
    for sig in msg.signals:
        parts = out.get(sig.name)
        if not parts:
            continue
        if len(parts) == 1:
            r, v = parts[0]
        else:
            r = np.concatenate([p[0] for p in parts])
            v = np.concatenate([p[1] for p in parts])
            order = np.argsort(r, kind="stable")
            r, v = r[order], v[order]
        if len(r) == n and all_ok:  # a signal of every frame: shares the message's time column
            t = time
        else:
            keep = ok[r]
            if not keep.all():
                r, v = r[keep], v[keep]
            t = ts[idx[r]]
        signals[sig.name] = DecodedSignal(sig.name, name, bus, plan.units[sig.name], t, v,
                                          plan.choices[sig.name], sig.name in plan.multiplexer_names)
    cycle = msg.cycle_time
    result[key] = DecodedMessage(name, bus, msg.frame_id, bool(msg.is_extended_frame), nbytes,
                                 _cycle_s(cycle), time, idx[ok],
                                 MappingProxyType(signals))


# --------------------------------------------------------------------------------------------------- public

def _specs(databases) -> list[tuple[int | None, object]]:
    if hasattr(databases, "messages"):
        return [(None, databases)]
    return [(bus, db) for bus, db in databases]


def _lookup(db) -> dict[int, object]:
    """cantools' frame-id table, rebuilt from public data: masked id | 0x80000000 for extended frames."""
    mask = getattr(db, "_frame_id_mask", None) or 0xFFFFFFFF
    table: dict[int, object] = {}
    for m in db.messages:
        k = (m.frame_id & mask) | (0x80000000 if m.is_extended_frame else 0)
        table[k] = m  # later messages overwrite earlier ones, as in cantools
    return table


_LOOKUPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _group(key: np.ndarray, bus: np.ndarray, ext: np.ndarray, ident: np.ndarray):
    """Group frames by ``key`` (bus, frame format, id): the distinct keys, a row order that lists each group's
    rows together (in file order), and the group boundaries in it.

    Standard ids on buses 0..31 get a dense code through a 64 Ki lookup table (O(n)); anything else (29-bit ids)
    goes through ``np.unique``. The stable sort of small codes is numpy's radix sort.
    """
    n = len(key)
    codes = np.empty(n, np.int64)
    fast = ~ext & (bus < 32) & (ident < 2048)
    all_fast = bool(fast.all())
    code16 = ((bus.astype(np.uint16) << np.uint16(11)) | ident.astype(np.uint16)) if all_fast else \
        ((bus[fast].astype(np.uint16) << np.uint16(11)) | ident[fast].astype(np.uint16))
    present = np.flatnonzero(np.bincount(code16, minlength=1 << 16))
    lut = np.zeros(1 << 16, np.int64)
    lut[present] = np.arange(len(present))
    uniq = ((present >> 11).astype(np.uint64) << np.uint64(33)) | (present & 0x7FF).astype(np.uint64)
    if all_fast:
        codes = lut[code16]
    else:
        codes[fast] = lut[code16]
        slow_keys, inverse = np.unique(key[~fast], return_inverse=True)
        codes[~fast] = len(present) + inverse
        uniq = np.concatenate([uniq, slow_keys])
    groups = len(uniq)
    small = np.uint8 if groups <= 256 else np.uint16 if groups <= 65536 else np.uint32
    order = np.argsort(codes.astype(small), kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=groups))])
    return uniq, order, bounds


def decode_frames(frames: Frames, databases, *, messages: Iterable[str] | None = None) -> Decoded:
    """Decode ``frames`` with ``databases``: one cantools ``Database`` for every bus, or ``(bus, Database)``
    pairs (``bus`` None = every bus; the first database defining an id on a bus wins).

    ``messages`` limits decoding to these message names (frames of other known messages are neither decoded nor
    reported); ``None`` decodes everything.
    """
    specs = _specs(databases)
    wanted = None if messages is None else frozenset(messages)
    n = len(frames)
    usable = (frames.flags & (FLAG_ERROR | FLAG_REMOTE)) == 0
    rows = np.flatnonzero(usable) if not usable.all() else None
    ext = (frames.flags & FLAG_EXTENDED) != 0
    key = (frames.bus.astype(_U64) << _U64(33)) | (ext.astype(_U64) << _U64(32)) | frames.arbitration_id.astype(_U64)
    if rows is not None:
        key = key[rows]
    result: dict = {}
    short: dict = {}
    bad: dict = {}
    skipped: dict = {}
    unknown: dict[int, tuple[int, float, frozenset[int]]] = {}
    if len(key) == 0:
        return Decoded(MappingProxyType(result), frames=n)
    uniq, order, bounds = _group(key, frames.bus if rows is None else frames.bus[rows],
                                 ext if rows is None else ext[rows],
                                 frames.arbitration_id if rows is None else frames.arbitration_id[rows])
    cache: list[np.ndarray] = []

    def words() -> np.ndarray:
        if not cache:
            data = frames.data
            if data.shape[1] < 8:
                data = np.pad(data, ((0, 0), (0, 8 - data.shape[1])))
            if data.shape[1] != 8 or not data.flags.c_contiguous:
                data = np.ascontiguousarray(data[:, :8])
            cache.append(data.view("<u8").reshape(len(data)).astype(_U64, copy=False))
        return cache[0]

    lookups: dict[int, list[dict[int, object]]] = {}
    for g, k in enumerate(uniq.tolist()):
        bus, is_ext, fid = k >> 33, (k >> 32) & 1, k & 0xFFFFFFFF
        tables = lookups.get(bus)
        if tables is None:
            tables = []
            for b, db in specs:
                if b is None or b == bus:
                    t = _LOOKUPS.get(db)
                    if t is None:
                        t = _LOOKUPS[db] = _lookup(db)
                    tables.append((getattr(db, "_frame_id_mask", None) or 0xFFFFFFFF, t))
            lookups[bus] = tables
        msg = None
        for mask, t in tables:
            msg = t.get((fid & mask) | (0x80000000 if is_ext else 0))
            if msg is not None:
                break
        sel = order[bounds[g]:bounds[g + 1]]
        idx = sel if rows is None else rows[sel]
        if msg is None:
            c, t0, ids = unknown.get(bus, (0, float("inf"), frozenset()))
            unknown[bus] = (c + len(idx), min(t0, float(frames.timestamp[idx[0]])),
                            ids | {fid | (0x80000000 if is_ext else 0)})
            continue
        if wanted is not None and msg.name not in wanted:
            continue
        _decode_message(msg, _plan(msg), bus, frames, idx, words, result, short, bad, skipped)
    return Decoded(MappingProxyType(result), MappingProxyType(short), MappingProxyType(bad),
                   MappingProxyType(unknown), MappingProxyType(skipped), frames=n)


def merge_decoded(parts: Sequence[Decoded], offsets: Sequence[float] | None = None) -> Decoded:
    """Join decoded chunks (in time order): signals concatenated, counts added.

    ``offsets`` (seconds, one per part) are added to the parts' times, e.g. to put files on one session clock.
    ``rows`` of the merged messages are dropped (they index different chunks).
    """
    offsets = list(offsets) if offsets is not None else [0.0] * len(parts)
    keys: list = []
    for p in parts:
        keys.extend(k for k in p.messages if k not in keys)
    messages: dict = {}
    for k in keys:
        items = [(p.messages[k], off) for p, off in zip(parts, offsets, strict=True) if k in p.messages]
        first = items[0][0]
        names: list[str] = []
        for m, _ in items:
            names.extend(s for s in m.signals if s not in names)
        sigs = {}
        for s in names:
            chunks = [(m.signals[s], off) for m, off in items if s in m.signals]
            proto = chunks[0][0]
            sigs[s] = DecodedSignal(proto.name, proto.message, proto.bus, proto.unit,
                                    np.concatenate([c.time + off for c, off in chunks]),
                                    np.concatenate([c.value for c, _ in chunks]), proto.choices,
                                    proto.is_multiplexer)
        messages[k] = DecodedMessage(first.name, first.bus, first.frame_id, first.is_extended, first.length,
                                     first.cycle_time_s, np.concatenate([m.time + off for m, off in items]),
                                     np.empty(0, np.int64), MappingProxyType(sigs))

    def add_counts(attr: str) -> dict:
        total: dict = {}
        for p, off in zip(parts, offsets, strict=True):
            for k, c in getattr(p, attr).items():
                if k in total:
                    total[k] = _Count(total[k].count + c.count, total[k].first_time, total[k].detail)
                else:
                    total[k] = _Count(c.count, c.first_time + off, c.detail)
        return total

    unknown: dict = {}
    for p, off in zip(parts, offsets, strict=True):
        for bus, (c, t0, ids) in p.unknown.items():
            if bus in unknown:
                c0, t00, ids0 = unknown[bus]
                unknown[bus] = (c0 + c, t00, ids0 | ids)
            else:
                unknown[bus] = (c, t0 + off, ids)
    return Decoded(MappingProxyType(messages), MappingProxyType(add_counts("short")),
                   MappingProxyType(add_counts("bad_mux")), MappingProxyType(unknown),
                   MappingProxyType(add_counts("skipped")), frames=sum(p.frames for p in parts))
