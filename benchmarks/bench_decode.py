"""Decode-path speed against the reference libraries, timed in one run.

    .venv/bin/python benchmarks/bench_decode.py [--minutes 10] [--rate 5000] [--log FILE.blf] [--mf4 FILE.mf4]

Without ``--log``/``--mf4`` it generates a bus log of the shipped BMW M4 GT3 profile (SRO logger DBC on bus 0,
ECU DBC on bus 1; every message at its DBC cycle time, scaled to ``--rate`` frames/s; random payloads) and
writes it as BLF and as MF4 bus logging with the simulator's writers. Then it prints frames/s for:

* BLF, read + decode of every signal: ``telemetry`` (open_log chunks + decode_frames) vs python-can
  ``BLFReader`` + cantools ``decode_message`` loop appending to per-signal columns;
* MF4, read + decode: ``telemetry`` vs asammdf ``MDF.extract_bus_logging``;
* decode only (frames already in memory): ``decode_frames`` vs the cantools loop.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telemetry.decode import decode_frames  # noqa: E402
from telemetry.frames import FLAG_EXTENDED, Frames  # noqa: E402
from telemetry.profiles import load_profile  # noqa: E402

PROFILE = ROOT / "dbc" / "bmw_m4_gt3.toml"


def generate(profile, minutes: float, rate: float, seed: int = 1) -> Frames:
    """Every message of the profile's DBCs at its cycle time (scaled so the bus carries ``rate`` frames/s)."""
    rng = np.random.default_rng(seed)
    plans = []
    for ref in profile.dbcs:
        for m in ref.database.messages:
            plans.append((ref.bus or 0, m, (m.cycle_time or 100) / 1000.0))
    natural = sum(1.0 / c for _, _, c in plans)
    scale = natural / rate
    duration = minutes * 60.0
    parts = []
    for bus, m, cycle in plans:
        period = cycle * scale
        t = np.arange(rng.uniform(0, period), duration, period)
        t = t + rng.normal(0, period * 0.01, len(t)).clip(-period * 0.4, period * 0.4)
        parts.append((t, bus, m))
    n = sum(len(t) for t, _, _ in parts)
    ts = np.concatenate([t for t, _, _ in parts])
    bus = np.concatenate([np.full(len(t), b, np.uint8) for t, b, _ in parts])
    ids = np.concatenate([np.full(len(t), m.frame_id, np.uint32) for t, _, m in parts])
    flags = np.concatenate([np.full(len(t), FLAG_EXTENDED if m.is_extended_frame else 0, np.uint8)
                            for t, _, m in parts])
    length = np.concatenate([np.full(len(t), m.length, np.uint8) for t, _, m in parts])
    data = rng.integers(0, 256, (n, 8), dtype=np.uint8)
    data[np.arange(8)[None, :] >= length[:, None]] = 0
    order = np.argsort(ts, kind="stable")
    ts = ts[order] - ts[order][0]
    return Frames(ts, bus[order], ids[order], flags[order], length[order], data[order])


def write_logs(frames: Frames, folder: Path) -> tuple[Path, Path]:
    from telemetry.simulate.writers import open_writer

    start = datetime(2025, 6, 28, 16, 30, tzinfo=UTC)
    paths = []
    for fmt, suffix in (("blf", ".blf"), ("mf4", ".mf4")):
        path = folder / f"bench{suffix}"
        writer = open_writer(path, fmt, start)
        step = 1 << 20
        for lo in range(0, len(frames), step):
            writer.write(frames.select(slice(lo, lo + step)))
        writer.close()
        paths.append(path)
    return paths[0], paths[1]


def ours_read_decode(path: Path, databases) -> tuple[int, int]:
    from telemetry.formats import open_log

    frames = values = 0
    with open_log(path) as lf:
        for chunk in lf.chunks():
            decoded = decode_frames(chunk, databases)
            frames += len(chunk)
            values += sum(len(s) for m in decoded.messages.values() for s in m.signals.values())
    return frames, values


def _cantools_loop(messages, databases) -> int:
    """The reference: per frame, find the bus's database and decode into per-signal Python lists."""
    columns: dict[tuple[int, str], list] = {}
    times: dict[tuple[int, str], list] = {}
    by_bus: dict[int, list] = {}
    values = 0
    for ts, bus, fid, ext, payload in messages:
        dbs = by_bus.get(bus)
        if dbs is None:
            dbs = by_bus[bus] = [db for b, db in databases if b is None or b == bus]
        for db in dbs:
            try:
                decoded = db.decode_message(fid, payload, decode_choices=False, force_extended_id=ext)
            except KeyError:
                continue
            except Exception:
                break
            for name, value in decoded.items():
                key = (bus, name)
                columns.setdefault(key, []).append(value)
                times.setdefault(key, []).append(ts)
                values += 1
            break
    return values


def reference_blf(path: Path, databases) -> tuple[int, int]:
    import can

    def messages():
        with can.BLFReader(str(path)) as reader:
            for m in reader:
                yield m.timestamp, (m.channel or 0), m.arbitration_id, m.is_extended_id, bytes(m.data)

    msgs = list(messages())
    return len(msgs), _cantools_loop(msgs, databases)


def mf4_frames(path: Path) -> int:
    """Frames in an MF4 bus log (counted outside the timed sections)."""
    from asammdf import MDF

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with MDF(str(path)) as mdf:
            return sum(len(mdf.get_master(i)) for i, g in enumerate(mdf.groups)
                       if any(c.name == "CAN_DataFrame" for c in g.channels))


def reference_mf4(path: Path, profile, frames: int) -> tuple[int, int]:
    from asammdf import MDF

    files = {"CAN": [(str(ref.file), (ref.bus + 1) if ref.bus is not None else 0) for ref in profile.dbcs]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with MDF(str(path)) as mdf:
            out = mdf.extract_bus_logging(database_files=files)
            values = sum(len(s.samples) for s in out.iter_channels() if not s.name.startswith("time"))
    return frames, values


def timed(fn, *args):
    t0 = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - t0, result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=5000.0, help="frames/s of the generated bus log")
    ap.add_argument("--log", type=Path, help="an existing BLF to use instead of generating one")
    ap.add_argument("--mf4", type=Path, help="an existing MF4 bus log to use instead of generating one")
    ap.add_argument("--skip-reference", action="store_true", help="time only telemetry")
    ap.add_argument("--decode-only", action="store_true",
                    help="no files: decode_frames on the generated frames (best of 3) vs the cantools loop on the "
                         "first 200,000 frames")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    profile = load_profile(PROFILE)
    databases = profile.databases()
    if args.decode_only:
        frames = generate(profile, args.minutes, args.rate)
        best = min(timed(decode_frames, frames, databases)[0] for _ in range(3))
        print(f"decode_frames: {len(frames):,} frames in {best:.3f} s = {len(frames) / best / 1e6:.2f} M frames/s "
              "(best of 3)")
        if not args.skip_reference:
            sub = frames.select(slice(0, 200_000))
            msgs = [(float(t), int(b), int(i), bool(f & FLAG_EXTENDED), bytes(d[:n]))
                    for t, b, i, f, n, d in zip(sub.timestamp, sub.bus, sub.arbitration_id, sub.flags, sub.length,
                                                sub.data, strict=True)]
            t_ref, _ = timed(_cantools_loop, msgs, databases)
            ref_rate = len(msgs) / t_ref
            print(f"cantools loop: {len(msgs):,} frames in {t_ref:.2f} s = {ref_rate / 1e6:.3f} M frames/s; "
                  f"ratio {len(frames) / best / ref_rate:.0f}x")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="bench_decode_"))
    frames = None
    if args.log is None or args.mf4 is None:
        t, frames = timed(generate, profile, args.minutes, args.rate)
        print(f"generated {len(frames):,} frames ({args.minutes:g} min at {args.rate:g}/s) in {t:.1f} s")
        t, (blf, mf4) = timed(write_logs, frames, tmp)
        print(f"wrote {blf.name} ({blf.stat().st_size / 1e6:.1f} MB) and {mf4.name} "
              f"({mf4.stat().st_size / 1e6:.1f} MB) in {t:.1f} s")
    blf = args.log or blf
    mf4 = args.mf4 or mf4
    rows = []

    def report(what: str, ours: tuple[float, tuple[int, int]], ref: tuple[float, tuple[int, int]] | None,
               ref_name: str) -> None:
        t_ours, (n, v) = ours
        line = f"{what:<34} telemetry {n / t_ours / 1e6:6.2f} M frames/s ({t_ours:6.2f} s, {v:,} values)"
        if ref is not None:
            t_ref, (n_ref, v_ref) = ref
            line += (f" | {ref_name} {n_ref / t_ref / 1e6:6.2f} M frames/s ({t_ref:6.2f} s, {v_ref:,} values)"
                     f" | ratio {t_ref / t_ours * n / max(n_ref, 1):5.1f}x")
        rows.append(line)
        print(line, flush=True)

    try:
        ours = timed(ours_read_decode, blf, databases)
    except Exception as err:  # the BLF reader may not be there yet
        print(f"BLF read+decode: telemetry.formats cannot read it ({type(err).__name__}: {err})")
        ours = None
    if ours is not None:
        ref = None if args.skip_reference else timed(reference_blf, blf, databases)
        report("BLF read + decode", ours, ref, "python-can+cantools")
    try:
        ours = timed(ours_read_decode, mf4, databases)
    except Exception as err:
        print(f"MF4 read+decode: telemetry.formats cannot read it ({type(err).__name__}: {err})")
        ours = None
    if ours is not None:
        ref = None if args.skip_reference else timed(reference_mf4, mf4, profile, mf4_frames(mf4))
        report("MF4 read + decode", ours, ref, "asammdf extract_bus_logging")
    if frames is not None:
        def decode_only():
            d = decode_frames(frames, databases)
            return len(frames), sum(len(s) for m in d.messages.values() for s in m.signals.values())

        ours = timed(decode_only)
        ref = None
        if not args.skip_reference:
            msgs = [(float(t), int(b), int(i), bool(f & FLAG_EXTENDED), bytes(d[:n]))
                    for t, b, i, f, n, d in zip(frames.timestamp, frames.bus, frames.arbitration_id, frames.flags,
                                                frames.length, frames.data, strict=True)]
            ref = timed(lambda: (len(msgs), _cantools_loop(msgs, databases)))
        report("decode only (frames in memory)", ours, ref, "cantools loop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
