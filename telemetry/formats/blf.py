"""Vector BLF (binary logging format) with numpy.

Log containers (zlib or uncompressed) are inflated in C, the objects in the inflated stream are located with
vectorised searches for the ``LOBJ`` signature and a check that they chain (each starts where the one before
ends, plus up to 7 bytes of padding), and the CAN objects are decoded as columns by fancy indexing. A Python
walk over the objects is used only for a stream where the vectorised chain check fails (a ``LOBJ`` inside a
payload). Objects at top level (no container, as CANlog writes them) are read too.

Read: CAN_MESSAGE (1), CAN_MESSAGE2 (86), CAN_ERROR (2, which python-can skips), CAN_ERROR_EXT (73), CAN_FD_MESSAGE (100), CAN_FD_MESSAGE_64 (101).
Field layouts follow python-can 4.6 (which follows Toby Lorenz' vector_blf).

Findings: truncated file or container (every whole frame before it is returned), zero or impossible object
size (refused: ``CorruptLog`` with the offset), object types that are not CAN frames (counted by type), an
object count different from the file header's. A zlib container is inflated to at most the uncompressed size its
header declares, itself at most ``BOPWATCH_BLF_CONTAINER_MAX_MB`` (default 64 MB; writers use 128 KiB): one that
declares more, or inflates to more than it declares, is refused (``CorruptLog`` with its offset), so a container
bomb costs nothing. Containers are inflated with ISA-L (``isal``, about 1.8x zlib's speed) when it is installed;
a stream it cannot inflate to its end (short or corrupt) is inflated again with zlib, so frames and finding text
are zlib's either way. A worker thread inflates the containers ahead of the parse (about one parse batch: the
inflaters release the GIL), each result taking effect in file order. BLF records the start as a SYSTEMTIME without time zone; it is
taken as UTC.
"""

from __future__ import annotations

import logging
import struct
import zlib
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import numpy as np

from ..frames import FLAG_BRS, FLAG_ERROR, FLAG_ESI, FLAG_EXTENDED, FLAG_FD, FLAG_REMOTE, Finding, Frames
from ..limits import BLF_CONTAINER_MAX_MB, env_number
from ._base import LogFile, frames_from_columns, open_bytes

__all__ = ["BlfLog"]

log = logging.getLogger(__name__)

try:    # ISA-L inflates zlib streams about twice as fast as zlib (issue 19); zlib is the fallback
    from isal import isal_zlib as _fast_zlib
except ImportError:  # pragma: no cover - isal comes with asammdf
    _fast_zlib = None
#: the inflater of well-formed containers (``None``: zlib only); a stream it cannot inflate to its end is inflated
#: again with zlib, so a short or corrupt container gives the same frames and finding text with either
INFLATER = _fast_zlib
#: containers are inflated on a worker thread (the inflaters release the GIL) while the caller parses the ones
#: before; 0 inflates in the calling thread
INFLATE_THREADS = 1

FILE_HEADER = struct.Struct("<4sLBBBBBBBBQQLL8H8H")
OBJ_BASE = struct.Struct("<4sHHLL")
CONTAINER = struct.Struct("<H6xL4x")

CAN_MESSAGE, CAN_ERROR, LOG_CONTAINER, CAN_ERROR_EXT, CAN_MESSAGE2 = 1, 2, 10, 73, 86
CAN_FD_MESSAGE, CAN_FD_MESSAGE_64 = 100, 101
CAN_TYPES = (CAN_MESSAGE, CAN_MESSAGE2, CAN_ERROR, CAN_ERROR_EXT, CAN_FD_MESSAGE, CAN_FD_MESSAGE_64)
#: object types vector_blf documents (1..127 except its "Unknown115"); others are reported as unknown
KNOWN_TYPES = frozenset(range(1, 128)) - {115}
CAN_MSG_EXT = 0x80000000
SIG = np.frombuffer(b"LOBJ", np.uint8)
#: payload words reading ``LOBJ`` the aligned fast path skips per inflated stream before it hands over to the walk
_MAX_FALSE_SIGNATURES = 64


def _read_upto(f, n: int, piece: int = 1 << 24) -> bytes:
    """Up to ``n`` bytes, read in pieces: a damaged size field (up to 4 GiB) must not allocate that much."""
    if n <= piece:
        return f.read(n)
    parts = []
    while n > 0:
        part = f.read(min(n, piece))
        if not part:
            break
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def _u(buf: np.ndarray, pos: np.ndarray, size: int) -> np.ndarray:
    """Little-endian unsigned integers of ``size`` bytes at byte positions ``pos``."""
    if size == 4 and len(pos) and len(buf) % 4 == 0 and not np.any(pos & 3):
        return buf.view("<u4")[pos >> 2].astype(np.uint64)
    out = buf[pos].astype(np.uint64)
    for k in range(1, size):
        out |= buf[pos + k].astype(np.uint64) << np.uint64(8 * k)
    return out


class BlfLog(LogFile):
    format = "blf"

    def __init__(self, path) -> None:
        super().__init__(path)
        self._container_max = int(env_number("BOPWATCH_BLF_CONTAINER_MAX_MB", BLF_CONTAINER_MAX_MB) * (1 << 20))
        self._ahead = 1 << 26
        self._f = self._own(open_bytes(path))
        try:
            self._read_header()
        except BaseException:
            self.close()
            raise
        self._types: Counter[int] = Counter()
        self._objects = 0
        self._bad_channels: set[int] = set()
        self._bad_channel_count = 0

    def _read_header(self) -> None:
        head = self._f.read(FILE_HEADER.size)
        if len(head) < FILE_HEADER.size or head[:4] != b"LOGG":
            raise self.corrupt("not a BLF file (no LOGG signature at the start)", offset=0,
                               fix="check the file is a Vector BLF log, or give it its real extension")
        h = FILE_HEADER.unpack(head)
        self.header_size, self.file_size, self.object_count = h[1], h[10], h[12]
        self.application_id = h[2]
        self.start = _systemtime(h[14:22])
        self._t0 = 0.0
        if self.header_size > FILE_HEADER.size:
            skip = self.header_size - FILE_HEADER.size
            if len(_read_upto(self._f, skip)) < skip:
                raise self.corrupt(f"the file header claims {self.header_size} bytes, past the end of the file",
                                   offset=4)

    # -- top level ---------------------------------------------------------------------------------------
    def _scan(self) -> Iterator[tuple]:
        """The file's top-level objects, read (not inflated) in file order, as items for ``_containers``:
        ``("data", bytes, offset, detail)``, ``("zlib", payload, declared, offset, detail)``, ``("finding", f)``,
        ``("end", offset, detail)``; ``detail`` is the truncation that ends the file after the item, or None."""
        f, offset = self._f, self.header_size
        while True:
            base = f.read(OBJ_BASE.size)
            if not base:
                return
            if len(base) < OBJ_BASE.size:
                yield "end", offset, f"the file ends inside an object header ({len(base)} of 16 bytes)"
                return
            sig, _, _, size, otype = OBJ_BASE.unpack(base)
            if sig != b"LOBJ":
                if set(base) == {0}:   # zero padding to the end of a pre-allocated file
                    return
                raise self.corrupt(f"no object signature (LOBJ) at offset {offset}", offset=offset)
            if size < OBJ_BASE.size:
                raise self.corrupt(f"object of impossible size {size} at offset {offset}", offset=offset,
                                   fix="the file is damaged (python-can may loop forever on it); "
                                       "ask for the logger's original file")
            body = _read_upto(f, size - OBJ_BASE.size)
            pad = f.read(size % 4)
            whole = len(body) == size - OBJ_BASE.size
            if otype == LOG_CONTAINER:
                if len(body) < CONTAINER.size:
                    yield "end", offset, "the file ends inside a log container header"
                    return
                method, declared = CONTAINER.unpack_from(body)
                payload = body[CONTAINER.size:]
                cut = None if whole else f"the file ends inside a log container ({len(body) + 16} of {size} bytes)"
                if method == 0:
                    yield "data", payload, offset, cut
                elif method == 2:
                    yield "zlib", payload, declared, offset, cut
                else:
                    yield "finding", Finding("unknown_object", f"log container with unknown compression method "
                                             f"{method} skipped", offset=offset)
                    offset += size + len(pad)
                    continue
                if cut:
                    return
            else:
                cut = None if whole else f"the file ends inside an object ({len(body) + 16} of {size} bytes)"
                yield "data", base + body + pad, offset, cut
                if cut:
                    return
            offset += size + len(pad)

    def _containers(self) -> Iterator[tuple[bytes, int]]:
        """Inflated stream pieces and the file offset they came from; top-level objects are passed through.

        Reading runs ahead of the caller by up to ``_ahead`` declared bytes, each zlib container inflating on a
        worker thread meanwhile; every item (an error too) takes effect in file order, when the caller reaches
        it, so frames, findings and the error raised are those of the sequential read."""
        pool = ThreadPoolExecutor(INFLATE_THREADS, "blf-inflate") if INFLATE_THREADS > 0 else None
        window: deque = deque()
        scan = self._scan()
        ahead = 0
        done = False
        try:
            while True:
                while not done and (len(window) < 2 or ahead < self._ahead):
                    try:
                        item = next(scan)
                    except StopIteration:
                        done = True
                        break
                    except Exception as err:     # raised when the caller reaches it
                        item, done = ("raise", err), True
                    if item[0] == "zlib":
                        _, payload, declared, offset, cut = item
                        job = (pool.submit(self._inflate, payload, declared, offset) if pool is not None
                               else (payload, declared, offset))
                        item = ("zlib", job, declared, offset, cut)
                        ahead += min(declared, self._container_max)
                    window.append(item)
                if not window:
                    return
                item = window.popleft()
                kind = item[0]
                if kind == "raise":
                    raise item[1]
                if kind == "finding":
                    self.add(item[1])
                elif kind == "end":
                    self._truncated(item[1], item[2])
                    return
                elif kind == "data":
                    yield item[1], item[2]
                    if item[3]:
                        self._truncated(item[2], item[3])
                        return
                else:
                    _, job, declared, offset, cut = item
                    ahead -= min(declared, self._container_max)
                    data, error, eof = job.result() if pool is not None else self._inflate(*job)
                    if error is not None:
                        self._truncated(offset, f"log container does not inflate ({error})")
                        return
                    if not cut and not eof:
                        self._truncated(offset, "zlib stream of a log container ends early")
                        yield data, offset
                        return
                    yield data, offset
                    if cut:
                        self._truncated(offset, cut)
                        return
        finally:
            scan.close()
            if pool is not None:
                for item in window:
                    if item[0] == "zlib":
                        item[1].cancel()
                pool.shutdown(wait=True, cancel_futures=True)

    def _inflate(self, payload: bytes, declared: int, offset: int) -> tuple[bytes, str | None, bool]:
        """A zlib container's data (at most the ``declared`` uncompressed size, itself capped: module notes), the
        inflater's error message or None, and whether the stream ended. Runs on the worker thread: it changes
        nothing on ``self``."""
        if declared > self._container_max:
            raise self.corrupt(f"a log container declares {declared:,} bytes uncompressed, more than the "
                               f"{self._container_max >> 20} MB limit (BLF writers use 128 KiB)", offset=offset,
                               fix="the file is damaged or hostile; ask for the logger's original file, or raise "
                                   "BOPWATCH_BLF_CONTAINER_MAX_MB if it is genuine")
        data = None
        if INFLATER is not None:
            z = INFLATER.decompressobj()
            try:
                data = z.decompress(payload, declared + 1)      # room for one byte more than declared: the check
            except INFLATER.error:
                data = None
            else:
                if not z.eof and len(data) <= declared:         # short: zlib says how (and what it yields)
                    data = None
        if data is None:
            z = zlib.decompressobj()
            try:
                data = z.decompress(payload, declared + 1)
            except zlib.error as err:
                return b"", str(err), False
        if len(data) > declared:
            raise self.corrupt(f"a log container inflates to more than the {declared:,} bytes its header "
                               "declares", offset=offset,
                               fix="the file is damaged or hostile; ask for the logger's original file")
        return data, None, z.eof

    def _truncated(self, offset: int, detail: str) -> None:
        self._truncation = True
        self.add(Finding("truncated", f"{detail}; every whole frame before it was read", offset=offset))

    # -- frames ------------------------------------------------------------------------------------------
    def _chunks(self, max_frames: int) -> Iterator[Frames]:
        self._truncation = False
        target = max(1 << 16, min(1 << 26, max_frames * 48))
        self._ahead = target     # inflated ahead of the parse: about one parse batch (the next one)
        pending: list[bytes] = []
        size = 0
        where = self.header_size
        tail = b""
        for data, offset in self._containers():
            if not pending:
                where = offset
            pending.append(data)
            size += len(data)
            if size >= target:
                frames, tail = self._parse(tail + b"".join(pending), where)
                pending, size = [], 0
                yield frames
        frames, tail = self._parse(tail + b"".join(pending), where)
        yield frames
        if tail and not self._truncation:
            self._truncated(where, f"{len(tail)} bytes at the end of the data do not form a whole object")
        self._finish()

    def _finish(self) -> None:
        if self._bad_channel_count:
            self.add(Finding("bad_channel", f"{self._bad_channel_count} frames name channels outside 1..256 "
                             f"({', '.join(map(str, sorted(self._bad_channels)[:5]))}); their bus is clamped "
                             "to 0..255", count=self._bad_channel_count))
        others = {t: c for t, c in self._types.items() if t not in CAN_TYPES}
        unknown = {t: c for t, c in others.items() if t not in KNOWN_TYPES}
        known = {t: c for t, c in others.items() if t in KNOWN_TYPES}
        if unknown:
            self.add(Finding("unknown_object", "objects of unknown type skipped: " + ", ".join(
                f"type {t} x{c}" for t, c in sorted(unknown.items())), count=sum(unknown.values())))
        if known:
            self.add(Finding("other_objects", "objects that are not CAN frames skipped: " + ", ".join(
                f"type {t} x{c}" for t, c in sorted(known.items())), count=sum(known.values())))
        counted = self._objects - self._types.get(115, 0)
        if self.object_count and counted != self.object_count and not self._truncation:
            self.add(Finding("count_mismatch", f"the file header says {self.object_count} objects, "
                             f"the file holds {counted}"))
        elif self.object_count and counted < self.object_count:
            self.add(Finding("count_mismatch", f"the file header says {self.object_count} objects, "
                             f"{counted} were read before the truncation"))

    def _locate(self, buf: np.ndarray, where: int, n: int) -> tuple[np.ndarray, int]:
        """Start positions of the whole objects in an inflated stream (``n`` real bytes, zero-padded to a
        multiple of 4), and where the incomplete tail begins."""
        if n < 16:
            return np.zeros(0, np.int64), 0
        words = buf.view("<u4")
        cand = np.flatnonzero(words == 0x4A424F4C) * 4
        cand = cand[cand + 16 <= n]
        if len(cand) and cand[0] == 0:
            found = self._chain(buf, cand, n)
            if found is not None:
                return found
        cand = np.flatnonzero(buf[:n - 3] == SIG[0])
        cand = cand[(buf[cand + 1] == SIG[1]) & (buf[cand + 2] == SIG[2]) & (buf[cand + 3] == SIG[3])]
        cand = cand[cand + 16 <= n]
        if not len(cand):
            return cand, 0 if bytes(buf[:4]) == b"LOBJ" else self._no_object(where)
        size = _u(buf, cand + 8, 4).astype(np.int64)
        end = cand + size
        ok_chain = (len(cand) == 1 or bool(np.all((cand[1:] >= end[:-1]) & (cand[1:] < end[:-1] + 8))))
        if cand[0] < 8 and ok_chain and np.all(size >= 16):
            whole = end <= n
            k = int(np.argmin(whole)) if not whole.all() else len(cand)
            return cand[:k], (int(cand[k]) if k < len(cand) else n)
        return self._walk(buf, cand, size, where, n)

    @staticmethod
    def _chain(buf: np.ndarray, cand: np.ndarray, n: int) -> tuple[np.ndarray, int] | None:
        """The objects when the aligned candidates chain from the first; None otherwise (the caller walks).

        A candidate inside the object before it is payload that happens to read ``LOBJ`` (random CAN data does,
        about once per 4 G aligned words): it is dropped, with the rest of that object's span, and the chain is
        checked again from there, so one such word does not send a million-object stream to the walk."""
        size = _u(buf, cand + 8, 4).astype(np.int64)
        for _ in range(_MAX_FALSE_SIGNATURES + 1):
            end = cand + size
            linked = (cand[1:] >= end[:-1]) & (cand[1:] < end[:-1] + 8) & (size[1:] >= 16)
            if size[0] < 16:
                return None
            if linked.all():
                break
            i = int(np.argmin(linked))            # objects 0..i chain; i + 1 does not follow object i
            if cand[i + 1] >= end[i]:             # a gap, not a signature inside a payload: let the walk judge
                return None
            k = int(np.searchsorted(cand, end[i], side="left"))    # drop every candidate inside object i
            cand = np.concatenate([cand[:i + 1], cand[k:]])
            size = np.concatenate([size[:i + 1], size[k:]])
        else:
            return None
        if end[-1] + 8 <= n:        # unaligned data after the last aligned object: use the byte search
            return None
        whole = end <= n
        k = len(cand) if whole.all() else int(np.argmin(whole))
        return cand[:k], (int(cand[k]) if k < len(cand) else n)

    def _walk(self, buf: np.ndarray, cand: np.ndarray, size: np.ndarray, where: int, n: int
              ) -> tuple[np.ndarray, int]:
        """Follow the object chain one object at a time (for streams with a ``LOBJ`` inside a payload)."""
        out: list[int] = []
        pos = 0
        cand_list = cand.tolist()
        index = {c: i for i, c in enumerate(cand_list)}
        while True:
            i = int(np.searchsorted(cand, pos))
            if i >= len(cand_list) or cand_list[i] >= pos + 8:
                if pos + 8 > n or i >= len(cand_list):
                    return np.array(out, np.int64), pos
                raise self.corrupt("no object signature (LOBJ) where the next object should start "
                                   f"(log container at offset {where}, byte {pos} of its data)", offset=where)
            c = cand_list[i]
            s = int(size[index[c]])
            if s < 16:
                raise self.corrupt(f"object of impossible size {s} inside the log container at offset {where}",
                                   offset=where, fix="the file is damaged (python-can may loop forever on it); "
                                   "ask for the logger's original file")
            if c + s > n:
                return np.array(out, np.int64), c
            out.append(c)
            pos = c + s

    def _no_object(self, where: int) -> int:
        raise self.corrupt(f"no object signature (LOBJ) in the data of the log container at offset {where}",
                           offset=where)

    def _parse(self, stream: bytes, where: int) -> tuple[Frames, bytes]:
        real = len(stream)
        buf = np.frombuffer(stream + bytes(-real % 4), np.uint8) if real % 4 else np.frombuffer(stream, np.uint8)
        pos, tail_at = self._locate(buf, where, real)
        tail = stream[tail_at:]
        otype = _u(buf, pos + 12, 4).astype(np.int64)
        self._objects += len(pos)
        types, counts = np.unique(otype, return_counts=True)
        self._types.update(dict(zip(types.tolist(), counts.tolist(), strict=True)))
        present = set(types.tolist())
        parts = [self._decode(buf, pos if len(present) == 1 else pos[otype == t], t)
                 for t in CAN_TYPES if t in present]
        if not parts:
            return frames_from_columns(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0),
                                       np.zeros((0, 8), np.uint8), self.start), tail
        if len(parts) == 1:
            p = parts[0]
            return frames_from_columns(*p[1:6], p[6], self.start), tail
        order = np.argsort(np.concatenate([p[0] for p in parts]), kind="stable")
        width = max(p[6].shape[1] for p in parts)
        data = np.zeros((sum(len(p[0]) for p in parts), width), np.uint8)
        row = 0
        for p in parts:
            data[row:row + len(p[0]), :p[6].shape[1]] = p[6]
            row += len(p[0])
        cols = [np.concatenate([p[k] for p in parts])[order] for k in range(1, 6)]
        return frames_from_columns(*cols, data[order], self.start), tail

    def _decode(self, buf: np.ndarray, pos: np.ndarray, otype: int):
        """Columns of one object type: (position, timestamp, bus, id, flags, length, data)."""
        version = buf[pos + 6]
        parts = [self._decode_records(buf, pos[version == v], otype, 32 if v == 1 else 40)
                 for v in np.unique(version).tolist()]
        if len(parts) == 1:
            return parts[0]
        width = max(p[6].shape[1] for p in parts)
        data = np.zeros((len(pos), width), np.uint8)
        row = 0
        for p in parts:
            data[row:row + len(p[0]), :p[6].shape[1]] = p[6]
            row += len(p[0])
        return (*(np.concatenate([p[k] for p in parts]) for k in range(6)), data)

    def _decode_records(self, buf: np.ndarray, pos: np.ndarray, otype: int, hdr: int):
        layout = _LAYOUTS[otype]
        size = hdr + layout[0]
        dtype = np.dtype({"names": ["tflags", "ts", "hsize", "osize"] + layout[1],
                          "formats": ["<u4", "<u8", "<u2", "<u4"] + layout[2],
                          "offsets": [16, 24, 4, 8] + [hdr + o for o in layout[3]], "itemsize": size})
        if len(pos) and int(pos[-1]) + size > len(buf):
            buf = np.concatenate((buf, np.zeros(size, np.uint8)))
        steps = np.diff(pos)
        if len(pos) > 1 and np.all(steps == steps[0]) and steps[0] >= size:
            # equally spaced objects: a strided view, no gather
            rec = np.lib.stride_tricks.as_strided(buf[pos[0]:], (len(pos), size), (int(steps[0]), 1))
            rec = np.ascontiguousarray(rec).view(dtype)[:, 0]
        else:
            rec = buf[pos[:, None] + np.arange(size)].view(dtype)[:, 0]
        raw_ts = rec["ts"].astype(np.float64)
        tflags = rec["tflags"]
        ts = raw_ts * np.where(tflags == 1, 1e-5, 1e-9)
        flags = np.zeros(len(pos), np.uint8)
        ident = rec["id"].astype(np.uint32) if "id" in rec.dtype.names else np.zeros(len(pos), np.uint32)
        channel = rec["channel"].astype(np.int64)
        if otype == CAN_ERROR:       # no identifier, no payload
            flags |= FLAG_ERROR
            length = np.zeros(len(pos), np.uint8)
            data = np.zeros((len(pos), 8), np.uint8)
        elif otype in (CAN_MESSAGE, CAN_MESSAGE2):
            flags[(rec["mflags"] & 0x80) != 0] |= FLAG_REMOTE
            length = np.minimum(rec["dlc"], 8)
            data = rec["data"]
        elif otype == CAN_ERROR_EXT:
            flags |= FLAG_ERROR
            length = np.minimum(rec["dlc"], 8)
            data = rec["data"]
        elif otype == CAN_FD_MESSAGE:
            flags[(rec["mflags"] & 0x80) != 0] |= FLAG_REMOTE
            fd = rec["fdflags"]
            flags[(fd & 1) != 0] |= FLAG_FD
            flags[(fd & 2) != 0] |= FLAG_BRS
            flags[(fd & 4) != 0] |= FLAG_ESI
            length = np.minimum(rec["valid"], 64)
            data = rec["data"]
        else:  # CAN_FD_MESSAGE_64: the payload may be shorter than valid_bytes (python-can issue 1905)
            fd = rec["fdflags"]
            flags[(fd & 0x0010) != 0] |= FLAG_REMOTE
            flags[(fd & 0x1000) != 0] |= FLAG_FD
            flags[(fd & 0x2000) != 0] |= FLAG_BRS
            flags[(fd & 0x4000) != 0] |= FLAG_ESI
            length = np.minimum(rec["valid"], 64)
            ext = rec["ext"].astype(np.int64)
            room = np.where(ext != 0, ext, rec["osize"].astype(np.int64)) - rec["hsize"].astype(np.int64) - 40
            avail = np.clip(np.minimum(length, room), 0, 64)
            data = np.where(np.arange(64) < avail[:, None], rec["data"], 0).astype(np.uint8)
        data = np.array(data, np.uint8)
        short = length < data.shape[1]
        if short.any():
            data[np.arange(data.shape[1]) >= length[:, None]] = 0
        flags[(ident & CAN_MSG_EXT) != 0] |= FLAG_EXTENDED
        ident = ident & 0x1FFFFFFF
        bus = channel - 1
        odd = (bus < 0) | (bus > 255)
        if odd.any():
            self._bad_channels.update(np.unique(channel[odd]).tolist())
            self._bad_channel_count += int(odd.sum())
            bus = np.clip(bus, 0, 255)
        return pos, ts, bus, ident, flags, length.astype(np.uint8), data


#: per object type: (bytes after the object header, field names, formats, offsets after the header)
_LAYOUTS = {
    CAN_MESSAGE: (16, ["channel", "mflags", "dlc", "id", "data"], ["<u2", "u1", "u1", "<u4", ("u1", 8)],
                  [0, 2, 3, 4, 8]),
    CAN_ERROR_EXT: (32, ["channel", "dlc", "id", "data"], ["<u2", "u1", "<u4", ("u1", 8)], [0, 10, 16, 24]),
    CAN_FD_MESSAGE: (84, ["channel", "mflags", "dlc", "id", "fdflags", "valid", "data"],
                     ["<u2", "u1", "u1", "<u4", "u1", "u1", ("u1", 64)], [0, 2, 3, 4, 13, 14, 20]),
    CAN_FD_MESSAGE_64: (104, ["channel", "dlc", "valid", "id", "fdflags", "ext", "data"],
                        ["u1", "u1", "u1", "<u4", "<u4", "u1", ("u1", 64)], [0, 1, 2, 4, 12, 35, 40]),
}
_LAYOUTS[CAN_MESSAGE2] = _LAYOUTS[CAN_MESSAGE]
_LAYOUTS[CAN_ERROR] = (4, ["channel"], ["<u2"], [0])


def _systemtime(st: tuple[int, ...]) -> datetime | None:
    year, month, _dow, day, hour, minute, second, ms = st
    try:
        return datetime(year, month, day, hour, minute, second, ms * 1000, tzinfo=UTC)
    except ValueError:
        return None
