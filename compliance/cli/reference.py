"""``bopwatch reference set|list|show``: a stored run as its model's reference (issue 17).

The reference's envelopes (boost, power, fuel flow, acceleration against rpm and speed, at full throttle) are what
each car of the model is compared with (``check --reference``): advisory findings, never a verdict.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..analysis.compare import ReferenceSettings
from ..analysis.envelopes import QUANTITIES
from ..errors import ComplianceError
from ..store.references import Reference, get_reference, list_references, set_reference
from ..store.schema import open_store
from . import EXIT_ERROR, EXIT_OK
from ._store_args import add_db_option

__all__ = ["add_subparser"]


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("reference", help="reference runs of each model (SRO's BoP test data)",
                              description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="reference_command", required=True, metavar="{set,list,show}")
    s = sub.add_parser("set", help="mark a stored run as its model's reference",
                       description="Mark a stored run as the reference of its model for the run's bulletin (or "
                                   "--bulletin-id, or a --track-category); the model's previous reference for the "
                                   "same scope is deactivated (kept). Ingest the BoP test's logs first.")
    s.add_argument("--run", help="run id (bopwatch report --format json lists them)")
    s.add_argument("--log", nargs="+", metavar="LOG", help="import these logs first (the BoP test's, one car's "
                   "session): they are ingested as evidence under --event/--session/--car with --profile and "
                   "--bulletin, then their run becomes the reference")
    s.add_argument("--profile", help="with --log: the car profile (default: found by the entry list / sidecar)")
    s.add_argument("--bulletin", help="with --log: the bulletin they are judged under")
    s.add_argument("--event")
    s.add_argument("--session")
    s.add_argument("--car")
    s.add_argument("--outing", type=int, default=1)
    s.add_argument("--bulletin-id", help="the bulletin it is the reference under (default: the run's)")
    s.add_argument("--track-category", help="a reference for a track category instead of one bulletin")
    defaults = ReferenceSettings()
    s.add_argument("--min-samples", type=int, default=defaults.min_samples, help="per bin, car and reference")
    s.add_argument("--min-bins", type=int, default=defaults.min_bins, help="bins on one side for a finding")
    s.add_argument("--min-band-pct", type=float, default=defaults.min_band_pct,
                   help="the band around the reference's median is at least this many %% of it")
    s.add_argument("--note", help="free text kept with the reference (e.g. the BoP test it comes from)")
    add_db_option(s)
    s.set_defaults(func=run_set)
    ls = sub.add_parser("list", help="references in the store")
    ls.add_argument("--model")
    ls.add_argument("--all", action="store_true", help="also the replaced (inactive) ones")
    ls.add_argument("--json", action="store_true")
    add_db_option(ls)
    ls.set_defaults(func=run_list)
    sh = sub.add_parser("show", help="one reference and its envelopes",
                        description="--json prints the whole reference; that file is what check --reference reads")
    sh.add_argument("reference_id")
    sh.add_argument("--json", action="store_true")
    add_db_option(sh)
    sh.set_defaults(func=run_show)


def run_set(args: argparse.Namespace) -> int:
    if not args.run and not (args.event and args.session and args.car):
        print("bopwatch reference set: error: give --run ID, or --event, --session and --car", file=sys.stderr)
        return EXIT_ERROR
    store = open_store(args.db, create=bool(args.log))
    if args.log:
        from ..ingest.pipeline import ingest_logs
        outcomes = ingest_logs(store, args.log, event=args.event, session=args.session, car=args.car,
                               profile=args.profile, bulletin=args.bulletin, reason="reference")
        failed = [o for o in outcomes if o.status not in ("checked", "duplicate")]
        if failed:
            print(f"bopwatch reference set: error: {failed[0].path}: {failed[0].error or failed[0].status} (a "
                  "reference is a judged run: give --bulletin, or fix the log)", file=sys.stderr)
            return EXIT_ERROR
    settings = ReferenceSettings(min_samples=args.min_samples, min_bins=args.min_bins,
                                 min_band_pct=args.min_band_pct)
    ref = set_reference(store, run_id=args.run, event=args.event,
                        session=args.session, car=args.car, outing=args.outing, bulletin_id=args.bulletin_id,
                        track_category=args.track_category, settings=settings, note=args.note)
    print(f"reference {ref.reference_id}: {ref.model}, run {ref.run_id}, "
          f"{len(ref.envelopes.envelopes)} envelopes, {ref.envelopes.full_throttle_s:.0f} s at full throttle")
    return EXIT_OK


def _line(ref: Reference) -> str:
    scope = ref.bulletin_id or f"track category {ref.track_category}"
    return (f"{ref.reference_id}  {ref.model}  {scope}  run {ref.run_id}  {'active' if ref.active else 'replaced'}"
            f"  {ref.created_at}")


def run_list(args: argparse.Namespace) -> int:
    refs = list_references(open_store(args.db, create=False), model=args.model, include_inactive=args.all)
    if args.json:
        sys.stdout.write(json.dumps([r.to_dict(envelopes=False) for r in refs], indent=2) + "\n")
    else:
        for ref in refs:
            print(_line(ref))
        if not refs:
            print("no references (bopwatch reference set marks one)")
    return EXIT_OK


def run_show(args: argparse.Namespace) -> int:
    ref = get_reference(open_store(args.db, create=False), args.reference_id)
    if ref is None:
        raise ComplianceError(f"no reference {args.reference_id!r} in the store",
                              fix="'bopwatch reference list' lists them")
    if args.json:
        sys.stdout.write(json.dumps(ref.to_dict(), indent=2) + "\n")
        return EXIT_OK
    print(_line(ref))
    top = ref.envelopes.top_speed_kmh
    print(f"  top speed {top:.1f} km/h" if top is not None else "  no vehicle_speed")
    for name in [q for q in QUANTITIES if q in ref.envelopes.envelopes]:
        env = ref.envelopes.envelopes[name]
        print(f"  {name}: {len(env.lower)} bins of {env.width:g} {env.key_unit}, {sum(env.counts):,} samples"
              f"{' at full throttle' if env.gated else ''}")
        for lo, n, a, b, c in zip(env.lower, env.counts, env.p05, env.p50, env.p95, strict=True):
            print(f"    {lo:>7g} {env.key_unit:<5} n={n:<6} p5 {a:9.3f}  p50 {b:9.3f}  p95 {c:9.3f} {env.unit}")
    return EXIT_OK
