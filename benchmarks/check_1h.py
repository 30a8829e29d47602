"""Time ``bopwatch check`` on a simulated 1-hour BLF against the reference path python-can + cantools.

The reference is what a scrutineer's script would do without bopwatch: python-can's ``BLFReader`` over the file
and ``cantools.Database.decode_message`` on every frame the profile's DBCs know (decoding only; no rules, no
data-quality checks). bopwatch's figure is the whole ``check``: read, decode, join, data quality, rules, laps,
verdict. Both run in this process, one after the other; the ratio is printed.

    .venv/bin/python benchmarks/check_1h.py                     # simulates the log into a temp folder
    .venv/bin/python benchmarks/check_1h.py --log car.blf --profile dbc/bmw_m4_gt3.toml --bulletin B.toml
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _simulate(folder: Path, duration_s: float, model: str) -> tuple[Path, Path, Path]:
    """Write a simulated BLF (telemetry.simulate, every DBC message) and return (log, profile, bulletin)."""
    from telemetry.simulate.run import SimConfig, simulate_log

    out = folder / "car.blf"
    profile = ROOT / "dbc" / f"{model}.toml"
    bulletins = sorted((ROOT / "sample_logs" / "bulletins").glob("*.toml"))
    if not bulletins:
        sys.exit("no bulletin in sample_logs/bulletins: pass --log, --profile and --bulletin")
    simulate_log(SimConfig(model=model, out=out, fmt="blf", duration_s=duration_s, bulletin=bulletins[0],
                           profile=profile, pit_stops=(duration_s / 2,)))
    return out, profile, bulletins[0]


def _reference(log: Path, profile_path: Path) -> tuple[float, int, int]:
    import can
    import cantools

    from telemetry import load_profile

    profile = load_profile(profile_path)
    dbs = [(ref.bus, ref.database) for ref in profile.dbcs]
    lookup = {}
    for bus, db in dbs:
        for msg in db.messages:
            lookup[(bus, msg.frame_id)] = msg
    t0 = time.perf_counter()
    frames = decoded = 0
    with can.BLFReader(str(log)) as reader:
        for m in reader:
            frames += 1
            msg = lookup.get((m.channel, m.arbitration_id)) or lookup.get((None, m.arbitration_id))
            if msg is None:
                continue
            try:
                msg.decode(m.data, decode_choices=False)
                decoded += 1
            except (cantools.database.DecodeError, ValueError, KeyError):
                pass
    return time.perf_counter() - t0, frames, decoded


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", type=Path)
    ap.add_argument("--profile", type=Path)
    ap.add_argument("--bulletin", type=Path)
    ap.add_argument("--duration", type=float, default=3600.0)
    ap.add_argument("--model", default="bmw_m4_gt3")
    args = ap.parse_args(argv)

    from compliance.judge.check import check_logs

    with tempfile.TemporaryDirectory() as tmp:
        if args.log is None:
            t = time.perf_counter()
            log, profile, bulletin = _simulate(Path(tmp), args.duration, args.model)
            print(f"simulated {args.duration:.0f} s of {args.model} in {time.perf_counter() - t:.1f} s: {log}")
        else:
            log, profile, bulletin = args.log, args.profile, args.bulletin
        size = log.stat().st_size
        t = time.perf_counter()
        result = check_logs([log], profile, bulletin)
        ours = time.perf_counter() - t
        frames = sum(s.frames or 0 for s in result.session.sources)
        ref, ref_frames, ref_decoded = _reference(log, profile)
    rules = ", ".join(f"{r.rule} {r.verdict} ({r.exceedance_count})" for r in result.verdict.rules)
    print(f"log: {size / 1e6:.1f} MB, {frames} frames, {result.session.duration_s:.0f} s; verdict "
          f"{result.verdict.verdict}: {rules}")
    print(f"bopwatch check (read+decode+quality+rules+verdict): {ours:.2f} s  ({frames / ours / 1e6:.2f} M frames/s)")
    print(f"python-can BLFReader + cantools decode (decode only): {ref:.2f} s  ({ref_frames / ref / 1e6:.2f} M "
          f"frames/s, {ref_decoded} decoded)")
    print(f"ratio: bopwatch check is {ref / ours:.1f}x faster than python-can + cantools decoding alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
