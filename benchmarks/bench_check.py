"""``bopwatch check`` against the reference libraries, per log format, as whole processes (start-up included).

For each format the simulator writes one log of ``--minutes`` (a BMW M4 GT3, both CAN buses, every DBC message
at its cycle time), then two child processes are timed on it:

- ours: ``bopwatch check LOG --profile P --bulletin B --json`` (read, decode what the rules need, data-quality
  checks, rules, laps, verdict);
- the reference a scrutineer's script would be without bopwatch:
  BLF: python-can ``BLFReader`` + cantools ``decode_message`` of every frame the profile's DBCs know, into one
  column per signal; MF4: asammdf ``MDF.extract_bus_logging`` with the DBCs + reading every decoded signal's
  samples; ASC, candump, TRC: python-can's ``ASCReader`` / ``CanutilsLogReader`` / ``TRCReader`` into columns
  (time, id, data; no decoding, so the reference does less than ours).

    .venv/bin/python -m benchmarks.bench_check --minutes 60 --formats blf mf4
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import tomllib
from pathlib import Path

from ._common import (
    PROFILE,
    SUFFIX,
    Row,
    bopwatch_argv,
    check_json,
    format_table,
    python_argv,
    run_child,
    simulate,
    write_bulletin,
)

__all__ = ["run", "main", "TARGETS", "REFERENCES"]

#: the issue-7 target per format: ratio of the reference's time to ours
TARGETS = {"blf": 20.0, "mf4": 2.0, "asc": 5.0, "candump": 5.0, "trc": 5.0}
REFERENCES = {"blf": "python-can BLFReader + cantools", "mf4": "asammdf extract_bus_logging + read",
              "asc": "python-can ASCReader", "candump": "python-can CanutilsLogReader",
              "trc": "python-can TRCReader"}

_REF_BLF = r"""
import json, sys
import can, cantools, numpy as np
log, dbcs = sys.argv[1], json.loads(sys.argv[2])
lookup = {}
for path, bus in dbcs:
    db = cantools.database.load_file(path)
    for msg in db.messages:
        lookup.setdefault((bus, msg.frame_id), msg)
columns, times, frames = {}, {}, 0
with can.BLFReader(log) as reader:
    for m in reader:
        frames += 1
        msg = lookup.get((m.channel, m.arbitration_id)) or lookup.get((None, m.arbitration_id))
        if msg is None:
            continue
        try:
            values = msg.decode(m.data, decode_choices=False)
        except Exception:
            continue
        times.setdefault(msg.name, []).append(m.timestamp)
        for name, value in values.items():
            columns.setdefault(name, []).append(value)
arrays = {k: np.asarray(v, dtype=float) for k, v in columns.items()}
print(json.dumps({"frames": frames, "signals": len(arrays), "samples": int(sum(len(a) for a in arrays.values()))}))
"""

_REF_MF4 = r"""
import json, sys
from asammdf import MDF
log, dbcs = sys.argv[1], json.loads(sys.argv[2])
databases = {"CAN": [(path, 0 if bus is None else bus + 1) for path, bus in dbcs]}
with MDF(log) as mdf:
    frames = 0
    for group in mdf.groups:
        frames = max(frames, group.channel_group.cycles_nr)
    decoded = mdf.extract_bus_logging(databases)
samples = signals = 0
for sig in decoded.iter_channels():
    samples += len(sig.samples)
    signals += 1
decoded.close()
print(json.dumps({"frames": frames, "signals": signals, "samples": samples}))
"""

_REF_TEXT = r"""
import json, sys
import can, numpy as np
log, kind = sys.argv[1], sys.argv[2]
reader_class = {"asc": can.ASCReader, "candump": can.CanutilsLogReader, "trc": can.TRCReader}[kind]
t, ids, data = [], [], []
with reader_class(log) as reader:
    for m in reader:
        t.append(m.timestamp)
        ids.append(m.arbitration_id)
        data.append(bytes(m.data))
t, ids = np.asarray(t), np.asarray(ids, dtype=np.uint32)
print(json.dumps({"frames": len(t)}))
"""


def _dbcs(profile: Path) -> list[tuple[str, int | None]]:
    data = tomllib.loads(profile.read_text(encoding="utf-8"))
    return [(str((profile.parent / d["file"]).resolve()), d.get("channel")) for d in data.get("dbc", [])]


def reference_argv(fmt: str, log: Path, profile: Path = PROFILE) -> list[str]:
    if fmt == "blf":
        return python_argv(_REF_BLF, str(log), json.dumps(_dbcs(profile)))
    if fmt == "mf4":
        return python_argv(_REF_MF4, str(log), json.dumps(_dbcs(profile)))
    return python_argv(_REF_TEXT, str(log), fmt)


def check_argv(logs: list[Path], bulletin: Path, profile: Path = PROFILE) -> list[str]:
    return bopwatch_argv("check", *map(str, logs), "--profile", str(profile), "--bulletin", str(bulletin), "--json")


def run(minutes: float, formats: list[str], folder: Path, *, reference: bool = True,
        reference_minutes: float | None = None) -> list[Row]:
    """Simulate one log per format into ``folder`` and time ours and the reference on it.

    ``reference_minutes`` (shorter than ``minutes``): time the reference on a log of that length (same car, same
    seed) and scale its times by the frame ratio; the per-frame reference libraries are linear in frames. For a
    shared machine where an hour of python-can + cantools would take most of a day; the note says so."""
    bulletin = write_bulletin(folder)
    rows = []
    for fmt in formats:
        log = simulate(folder, fmt, minutes, bulletin=bulletin)
        ref_log, scale = log, 1.0
        if reference_minutes is not None and reference_minutes < minutes:
            ref_log = simulate(folder, fmt, reference_minutes, bulletin=bulletin)
        ours = run_child(check_argv([log], bulletin))
        case = f"check {fmt} {minutes:g} min"
        try:
            verdict = check_json(ours, f"bopwatch check {log.name}")
        except RuntimeError as err:
            rows.append(Row(case, 0, ours.seconds, ours.peak_rss_mb, REFERENCES[fmt], None,
                            f">= {TARGETS[fmt]:g}x", f"error: {str(err).splitlines()[-1][:120]}",
                            ours.cpu_seconds))
            continue
        frames = int(sum(i["frames"] or 0 for i in verdict["inputs"]))
        ref_seconds = ref_cpu = None
        note = f"verdict {verdict['verdict']}, {log.stat().st_size / 1e6:.0f} MB"
        if reference:
            ref = run_child(reference_argv(fmt, ref_log))
            if ref.returncode == 0:
                if ref_log != log:
                    scale = frames / json.loads(ref.stdout.strip().splitlines()[-1])["frames"]
                    note += f"; reference timed on {reference_minutes:g} min and scaled x{scale:.2f} (frames)"
                ref_seconds, ref_cpu = ref.seconds * scale, ref.cpu_seconds * scale
                note += f"; reference peak RSS {ref.peak_rss_mb:.0f} MB"
            else:
                note += f"; reference failed: {ref.stderr.strip().splitlines()[-1][:100]}"
        rows.append(Row(case, frames, ours.seconds, ours.peak_rss_mb, REFERENCES[fmt], ref_seconds,
                        f">= {TARGETS[fmt]:g}x", note, ours.cpu_seconds, ref_cpu))
        print(json.dumps(rows[-1].to_dict()), file=sys.stderr, flush=True)  # each row as soon as it is measured
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_check", description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0, help="simulated log length (default 5; 60 = target)")
    ap.add_argument("--formats", nargs="+", default=list(SUFFIX), choices=list(SUFFIX))
    ap.add_argument("--dir", type=Path, help="keep the simulated logs here (reused on the next run)")
    ap.add_argument("--no-reference", action="store_true", help="time bopwatch only")
    ap.add_argument("--reference-minutes", type=float,
                    help="time the reference on a shorter log and scale it by frames (default: same log)")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON lines")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bopwatch-bench-") as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        rows = run(args.minutes, args.formats, folder, reference=not args.no_reference,
                   reference_minutes=args.reference_minutes)
    if args.json:
        for r in rows:
            print(json.dumps(r.to_dict()))
    else:
        print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
