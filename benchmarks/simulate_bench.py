"""Simulator throughput: a full-bus-load log written to BLF (or another format), timed against python-can's
writer on the same frames in the same run.

    .venv/bin/python benchmarks/simulate_bench.py [--minutes 60] [--format blf] [--level 6] [--sample 200000]

Prints frames, seconds and frames/s for the simulator end to end (drive + encode + write), and frames/s of
python-can's writer on the first --sample frames (can.Message objects built outside the timing), and the ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import can

from telemetry.simulate import SimConfig, simulate_log
from telemetry.simulate.writers import suffix_for

WRITERS = {"blf": can.BLFWriter, "asc": can.ASCWriter, "candump": can.CanutilsLogWriter, "trc": can.TRCWriter,
           "csv": can.CSVWriter, "mf4": can.MF4Writer}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--format", default="blf", choices=sorted(WRITERS))
    parser.add_argument("--level", type=int, default=6, help="BLF zlib level")
    parser.add_argument("--sample", type=int, default=200_000, help="frames given to python-can's writer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"car{suffix_for(args.format)}"
        t0, c0 = time.perf_counter(), time.process_time()
        truth = simulate_log(SimConfig("bmw_m4_gt3", out, fmt=args.format, duration_s=args.minutes * 60,
                                       compression_level=args.level, pit_stops=(args.minutes * 30,)))
        ours, cpu = time.perf_counter() - t0, time.process_time() - c0
        n = truth["file"]["frames"]
        print(f"simulate {args.format}: {n} frames ({n / args.minutes / 60:.0f}/s of log), "
              f"{truth['file']['bytes'] / 1e6:.1f} MB in {ours:.1f} s wall ({cpu:.1f} s CPU, all threads) -> "
              f"{n / ours / 1e6:.2f} M frames/s")
        # the reference: python-can's writer on the first frames of the same file
        msgs = []
        with can.LogReader(str(out)) as reader:
            for msg in reader:
                msgs.append(msg)
                if len(msgs) >= args.sample:
                    break
        ref_out = Path(tmp) / f"ref{suffix_for(args.format)}"
        t0 = time.perf_counter()
        writer = WRITERS[args.format](str(ref_out))
        for msg in msgs:
            writer.on_message_received(msg)
        writer.stop()
        ref = time.perf_counter() - t0
        ref_rate = len(msgs) / ref
        print(f"python-can {WRITERS[args.format].__name__}: {len(msgs)} frames in {ref:.2f} s -> "
              f"{ref_rate / 1e6:.2f} M frames/s (writing only, messages prebuilt)")
        print(f"ratio simulate (drive+encode+write) / python-can (write only): {n / ours / ref_rate:.1f}x; "
              f"1-hour log at this rate: {n / (n / ours) * 60 / args.minutes:.0f} s")


if __name__ == "__main__":
    main()
