"""The corpus conformance table: every log in ../shared/corpus read by bopwatch, python-can and asammdf.

    python -m benchmarks.corpus_table [CORPUS] [--out docs/corpus_results.md]

For each file: our result (frames read, or the one-line refusal), the findings, python-can's frame count (or its
exception), asammdf's CAN_DataFrame count for MF4, and where the counts differ, who is right and why (the notes
below, checked against the MANIFEST and the files themselves).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
import warnings
from pathlib import Path

LOG_SUFFIXES = (".blf", ".asc", ".log", ".trc", ".csv", ".mf4", ".mdf", ".mfc", ".gz")

#: why our count differs from python-can's (path suffix -> note); checked by hand against the files
NOTES = {
    "vector_blf/errors/FileWithoutLogContainers.blf": "ours: CAN objects at top level (CANlog) are frames; "
    "python-can only looks inside log containers",
    "mdf4-converters/ASC/multiple_CAN.asc": "ours: python-can drops the first line (`d 0` with a trailing space) "
    "and cuts the FD frames written as `d 9..15` lines to 8 bytes; the TRC/.log/CSV copies hold 164 frames",
    "mdf4-converters/ASC/multiple_LIN.asc": "ours: python-can drops the first line (`d 2` frame parsed as header "
    "continuation); the CSV/.log copies hold 12 frames",
    "python-can/single_frame.asc": "same count; ours keeps all 64 bytes of the `d 40` line (CAN FD written as a "
    "classic line), python-can cuts it to 8",
    "CANBUSlogs/Yaris_09/revlog.csv": "python-can cannot read this dialect (ID,Data Bytes; no time column)",
    "vector_blf/events_from_converter/test_GlobalMarker.blf": "python-can raises on the GlobalMarker object",
    "vector_blf/events_from_converter/sources/test_CanMessage.asc": "ours: python-can loses the frame after the "
    "second `// version` comment; Vector's converter made 2 frames of it (test_CanMessage.blf)",
    "vector_blf/events_from_converter/sources/test_CanErrorFrame.asc": "ours: the file is one `ErrorFrame` line "
    "without a header; python-can needs the header; Vector's converter made a CAN_ERROR object of it",
    "vector_blf/events_from_converter/sources/test_CanErrorFrameExt.asc": "ours: as test_CanErrorFrame.asc "
    "(tab before `ECC:`)",
    "vector_blf/events_from_converter/test_CanErrorFrame.blf": "ours: a CAN_ERROR (type 2) object is an error "
    "frame; python-can skips the type",
    "vector_blf/events_from_binlog/test_CanErrorFrame.blf": "ours: two CAN_ERROR (type 2) objects; python-can "
    "skips the type",
}


def corpus_logs(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix.lower() in LOG_SUFFIXES)


def ours(path: Path) -> tuple[str, int | None, list[str], float]:
    """(status, frames, finding kinds, seconds) through the ``bopwatch inspect`` code path."""
    from telemetry.errors import TelemetryError
    from telemetry.formats import inspect_log
    t0 = time.perf_counter()
    try:
        info = inspect_log(path)
    except (TelemetryError, FileNotFoundError) as err:
        return f"refused: {err}", None, [], time.perf_counter() - t0
    kinds = [f.kind for f in info.findings]
    status = "read" if info.frames is not None else f"read ({len(_channels(path))} channels)"
    return status, info.frames, kinds, time.perf_counter() - t0


def _channels(path: Path) -> list:
    from telemetry.formats import open_log
    with open_log(path) as lf:
        return lf.channels()


def python_can(path: Path) -> tuple[int | None, str]:
    import can
    if path.suffix.lower() in (".mf4", ".mdf", ".mfc"):
        return None, "n/a"
    try:
        with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = can.LogReader(path)
            try:
                return sum(1 for _ in reader), ""
            finally:
                reader.stop()
    except Exception as err:  # noqa: BLE001 - a reference library's failure is a table entry
        return None, f"{type(err).__name__}: {str(err)[:60]}"


def asammdf_frames(path: Path) -> tuple[int | None, str]:
    if path.suffix.lower() not in (".mf4", ".mdf", ".mfc"):
        return None, "n/a"
    try:
        from asammdf import MDF
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            mdf = MDF(path)
            try:
                occ = mdf.channels_db.get("CAN_DataFrame.ID", ())
                return sum(len(mdf.get("CAN_DataFrame.ID", group=g, index=i).samples) for g, i in occ), ""
            finally:
                mdf.close()
    except Exception as err:  # noqa: BLE001
        return None, f"{type(err).__name__}: {str(err)[:60]}"


def survey(corpus: Path) -> list[dict]:
    rows = []
    for path in corpus_logs(corpus):
        rel = path.relative_to(corpus).as_posix()
        status, frames, kinds, secs = ours(path)
        pc, pc_err = python_can(path)
        am, am_err = asammdf_frames(path)
        rows.append({"file": rel, "status": status, "frames": frames, "findings": kinds, "seconds": secs,
                     "python_can": pc, "python_can_error": pc_err, "asammdf": am, "asammdf_error": am_err,
                     "note": next((n for k, n in NOTES.items() if rel.endswith(k)), "")})
    return rows


def _cell(n: int | None, err: str) -> str:
    if n is not None:
        return str(n)
    return "-" if err == "n/a" else f"fails ({err.split(':')[0]})"


def markdown(rows: list[dict]) -> str:
    read = sum(r["status"].startswith("read") for r in rows)
    refused = len(rows) - read
    fewer = [r for r in rows if r["frames"] is not None and r["python_can"] is not None
             and r["frames"] < r["python_can"]]
    more = [r for r in rows if r["frames"] is not None and r["python_can"] is not None
            and r["frames"] > r["python_can"]]
    out = [
        "# Corpus conformance results",
        "",
        "Generated by `python -m benchmarks.corpus_table ../shared/corpus --out docs/corpus_results.md` "
        "(python-can, asammdf as installed in the venv). Every log file of the corpus is either read "
        "(`bopwatch inspect` exit 0) or refused with a one-line error (exit 2); none hangs or crashes "
        "(`tests/test_corpus_conformance.py` checks the same with a time limit).",
        "",
        f"* files: **{len(rows)}**; read: **{read}**; refused with a one-line error: **{refused}**",
        f"* files where we read fewer frames than python-can: **{len(fewer)}**",
        f"* files where we read more frames than python-can: **{len(more)}** (each explained in the note column)",
        "",
        "| file | bopwatch | frames | python-can | asammdf | findings | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        status = r["status"] if not r["status"].startswith("refused") else "refused: " + r["status"].split(
            ": ", 2)[-1][:70]
        kinds = ", ".join(sorted(set(r["findings"])))
        out.append(f"| `{r['file']}` | {status.replace('|', '/')} | {'' if r['frames'] is None else r['frames']} | "
                   f"{_cell(r['python_can'], r['python_can_error'])} | {_cell(r['asammdf'], r['asammdf_error'])} "
                   f"| {kinds} | {r['note']} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.corpus_table", description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpus")
    ap.add_argument("--out", type=Path, help="write the markdown table here (default: stdout)")
    args = ap.parse_args(argv)
    rows = survey(args.corpus)
    text = markdown(rows)
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
