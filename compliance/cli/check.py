"""``bopwatch check LOG... --profile P --bulletin B [--json] [--report FILE]``: the verdict of one session.

Exit codes (SPEC §4): 0 compliant, 1 infringement, 3 incomplete, 2 error. The check runs in a child with time and
memory limits (``--isolate``, default for every format: a fork of this process, so it costs milliseconds); a
child over a limit, a crash or running out of memory in-process is one error line naming the logs and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from ..judge.check import check_logs
from ..judge.outings import DEFAULT_MAX_GAP_S
from ..judge.rules import AMBIENT_BAR_RANGE
from ..judge.verdict import COMPLIANT, INCOMPLETE, INFRINGEMENT, Verdict
from . import EXIT_INCOMPLETE, EXIT_INFRINGEMENT, EXIT_OK
from ._limits import bounded, require_regular_files, session_label
from ._profile import PROFILE_HELP, resolve_profile
from ._progress import progress_bar
from ._store_args import add_max_gap_option

EXIT_BY_VERDICT = {COMPLIANT: EXIT_OK, INFRINGEMENT: EXIT_INFRINGEMENT, INCOMPLETE: EXIT_INCOMPLETE}
_MAX_ROWS = 40


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "check", help="judge one session's logs against the BoP bulletin in force",
        description="Judge one session (several LOG files are one session split by the logger, joined in time "
                    "order) against the BoP bulletin in force at the session's start. Exit 0 compliant, "
                    "1 infringement, 3 incomplete (the data cannot certify), 2 error.")
    p.add_argument("logs", nargs="+", metavar="LOG", help="log files of one session (BLF, ASC, candump, TRC, "
                   "CSV, MF4, MDF; .gz accepted)")
    p.add_argument("--profile", required=True, metavar="P", help=PROFILE_HELP)
    p.add_argument("--bulletin", required=True, action="append", metavar="B",
                   help="BoP bulletin TOML, or a folder of them; repeat to give several. One file is used as "
                        "given; with several, the one in force at the session's start is chosen")
    p.add_argument("--json", action="store_true", help="print the verdict as one JSON object (SPEC §4)")
    p.add_argument("--report", metavar="FILE", help="also write a self-contained HTML report with the evidence "
                   "plots")
    p.add_argument("--lap-length", type=float, metavar="M",
                   help="lap length in metres, to find laps from distance or speed when no lap channel is "
                        "logged (default: the bulletin's track_length_m)")
    p.add_argument("--track-category", metavar="C", help="only bulletins for this track category (A-D, H)")
    add_max_gap_option(p, DEFAULT_MAX_GAP_S)
    p.add_argument("--car", metavar="N", help="the car's number: selects its [cars.\"N\"] entry in the bulletin "
                   "(SPEC §5); a car without one is judged by its model's rules")
    p.add_argument("--ambient-bar", type=_pressure, metavar="BAR",
                   help="the official ambient pressure of the session in bar absolute (SPEC §5): used by "
                        "ambient_correction instead of the logged pressure, and as the reference of max_ratio limits")
    p.add_argument("--reference", metavar="R",
                   help="compare the car with its model's reference run (issue 17): a reference exported by "
                        "'bopwatch reference show ID --json', or a log of the same model read with --profile; adds "
                        "a 'reference' block to the JSON (advisory findings, never a verdict)")
    p.add_argument("--isolate", choices=("auto", "always", "never"), default="auto",
                   help="run the check in a child process with time and memory limits, so a parser crash, hang "
                        "or runaway allocation on a damaged or hostile file is one error line and exit 2 (auto, "
                        "always: every format, in a fork of this process when it can, else a fresh interpreter; "
                        "never: in this process. Limits from BOPWATCH_PARSE_TIMEOUT_S / BOPWATCH_PARSE_MEMORY_MB, "
                        f"default 30 s + 2 s per MB of CPU time and {CHECK_MEMORY_MB} MB)")
    p.set_defaults(func=run)


#: address-space limit of an isolated check: a 24-hour log needs more than a parse-only child
CHECK_MEMORY_MB = 8192

def _pressure(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a pressure in bar (write e.g. 0.985)") from None
    low, high = AMBIENT_BAR_RANGE
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{value:g} bar is not an ambient pressure ({low:g}-{high:g} bar absolute; "
                                         "write it in bar, e.g. 0.985, not in hPa)")
    return value


def isolate_check(logs: list[str], mode: str) -> bool:
    """Whether ``check`` runs in a limited child: for every format unless ``never`` (``auto`` isolated only MDF
    files before issue 14; a BLF or gzip bomb needs the limits as much)."""
    return mode != "never"


def _check_in_child(first: str, logs: list[str], profile: str, bulletins, report: str | None,
                    lap_length_m: float | None, track_category: str | None,
                    max_gap_s: float | None = DEFAULT_MAX_GAP_S, show_progress: bool = False,
                    car: str | None = None, ambient_bar: float | None = None,
                    reference: str | None = None) -> Verdict:
    """The isolated child's work: the whole check (and the HTML report, which needs the channels); only the
    verdict goes back to the parent."""
    with progress_bar(show_progress) as progress:
        result = check_logs(logs, profile, bulletins, progress=progress, lap_length_m=lap_length_m,
                            track_category=track_category, max_gap_s=max_gap_s, car=car, ambient_bar=ambient_bar)
    if reference:
        result = replace(result, verdict=replace(result.verdict, reference=_against_reference(result, reference,
                                                                                              profile)))
    if report:
        from ..reports.check_report import write_check_report
        write_check_report(result, report)
    return result.verdict


def _against_reference(result, reference: str, profile) -> dict:
    """The ``reference`` block: the car's envelopes against a reference export or a reference log."""
    import json
    from pathlib import Path

    from ..analysis import ReferenceSettings, RunEnvelopes, compare, run_envelopes
    from ..errors import ComplianceError

    model = result.verdict.profile["model"]
    path = Path(reference)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            ref, settings = RunEnvelopes.from_dict(data["envelopes"]), ReferenceSettings.from_dict(data["settings"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ComplianceError(f"not a reference export: {err}", path=path,
                                  fix="write it with 'bopwatch reference show ID --json > FILE'") from None
        about = {"reference_id": data.get("reference_id"), "model": ref.model, "run_id": data.get("run_id"),
                 "source": str(path)}
    else:
        from telemetry import profiles, session
        loaded = profiles.load_profile(profile) if isinstance(profile, str | Path) else profile
        joined = session.load_session([path], loaded)
        ref, settings = run_envelopes(joined.channels, model, duration_s=joined.duration_s), ReferenceSettings()
        about = {"reference_id": None, "model": model, "run_id": None, "source": str(path),
                 "sha256": joined.sources[0].sha256 if joined.sources else None}
    if ref.model != model:
        raise ComplianceError(f"the reference is of model {ref.model}, the car is a {model}", path=path,
                              fix="compare a car with its own model's reference")
    car = run_envelopes(result.session.channels, model, duration_s=result.session.duration_s)
    return compare(car, ref, settings=settings, reference=about).to_dict()


def run(args: argparse.Namespace) -> int:
    bulletins = args.bulletin[0] if len(args.bulletin) == 1 else args.bulletin
    with bounded(args.logs):
        require_regular_files(args.logs)
        profile = resolve_profile(args.profile)
        if isolate_check(args.logs, getattr(args, "isolate", "never")):
            from telemetry.isolate import limits_for, run_limited

            timeout_s, memory_mb = limits_for(args.logs, default_memory_mb=CHECK_MEMORY_MB)
            verdict = run_limited(_check_in_child, session_label(args.logs), list(args.logs), profile,
                                  bulletins, args.report, args.lap_length, args.track_category, args.max_gap,
                                  not args.json, args.car, args.ambient_bar, args.reference,
                                  timeout_s=timeout_s, memory_mb=memory_mb,
                                  errors=("compliance.errors:ComplianceError",), what="check")
        else:
            verdict = _check_in_child(args.logs[0], args.logs, profile, bulletins, args.report, args.lap_length,
                                      args.track_category, args.max_gap, not args.json, args.car,
                                      args.ambient_bar, args.reference)
    if args.json:
        sys.stdout.write(verdict.to_json())
    else:
        print_verdict(verdict)
    return EXIT_BY_VERDICT[verdict.verdict]


def _colour(verdict: str) -> str:
    return {COMPLIANT: "green", INFRINGEMENT: "bold red", INCOMPLETE: "yellow"}.get(verdict, "white")


def print_verdict(v: Verdict) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(file=sys.stdout, highlight=False, soft_wrap=True,
                      width=None if sys.stdout.isatty() else 160)
    console.print(f"car model  {v.profile['model']}   bulletin {v.bulletin['id']}   "
                  f"session start {v.session_start.isoformat() if v.session_start else 'unknown'}   "
                  f"{v.duration_s:.1f} s")
    for i in v.inputs:
        console.print(f"input      {escape(i['path'])}  ({i['format']}, {i['frames'] if i['frames'] is not None else '-'}"
                      f" frames, sha256 {i['sha256'][:16]}...)")
    console.print(f"verdict    [{_colour(v.verdict)}]{v.verdict.upper()}[/]")

    rules = Table(title="rules", title_justify="left")
    why = any(r.reasons for r in v.rules)
    for col in ("rule", "verdict", "exceedances", "allowed", "tolerance", "min duration", "limit",
                *(("data-quality errors",) if why else ())):
        rules.add_column(col)
    for r in v.rules:
        reasons = (escape("; ".join(r.reasons[:3]) + (" ..." if len(r.reasons) > 3 else "")),) if why else ()
        rules.add_row(r.rule, f"[{_colour(r.verdict)}]{r.verdict}[/]", str(r.exceedance_count),
                      str(r.max_exceedances), f"{r.tolerance:g} {r.unit}", f"{r.min_duration_s:g} s",
                      escape(r.limit_source), *reasons)
    console.print(rules)

    if v.exceedances:
        table = Table(title=f"exceedances ({len(v.exceedances)})", title_justify="left")
        for col in ("rule", "lap", "start s", "end s", "duration s", "peak", "limit", "excess", "unit"):
            table.add_column(col, justify="right" if col not in ("rule", "unit") else "left")
        for e in v.exceedances[:_MAX_ROWS]:
            table.add_row(e.rule, "-" if e.lap is None else str(e.lap), f"{e.start_s:.3f}", f"{e.end_s:.3f}",
                          f"{e.duration_s:.3f}", f"{e.peak:.4g}", f"{e.limit:.4g}", f"{e.excess:.4g}", e.unit)
        if len(v.exceedances) > _MAX_ROWS:
            table.add_row("...", "", "", "", "", "", "", "", f"{len(v.exceedances) - _MAX_ROWS} more (--json)")
        console.print(table)

    if v.data_quality:
        table = Table(title=f"data quality ({len(v.data_quality)})", title_justify="left")
        for col in ("severity", "check", "channel", "start s", "end s", "detail"):
            table.add_column(col)
        for f in v.data_quality[:_MAX_ROWS]:
            table.add_row(f"[{'red' if f.severity == 'error' else 'yellow'}]{f.severity}[/]", f.check,
                          escape(f.channel or "(session)"), f"{f.start_s:.3f}", f"{f.end_s:.3f}",
                          escape(f.detail))
        if len(v.data_quality) > _MAX_ROWS:
            table.add_row("...", "", "", "", "", f"{len(v.data_quality) - _MAX_ROWS} more (--json)")
        console.print(table)
    else:
        console.print("data quality: no findings")
