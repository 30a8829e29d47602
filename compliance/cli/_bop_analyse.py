"""``bopwatch bop analyse``: the BoP working group's view of a stored event (``compliance.analysis.field``)."""

from __future__ import annotations

import argparse
import json
import sys

from . import EXIT_OK
from ._store_args import add_db_option

__all__ = ["add_analyse_parser"]


def add_analyse_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyse", aliases=["analyze"], help="per model: power-to-weight, speed, boost usage, laps, "
                       "and the deltas that would bring each model to a target",
                       description="Per model across the chosen sessions of a stored event: power-to-weight "
                                   "(weight from the bulletin: min_weight_kg + info.ballast_kg), power against "
                                   "speed, top speed, 100-200 km/h at full throttle, boost usage (a model that "
                                   "never reaches its limit hides performance), best laps; and a proposal table: "
                                   "the weight delta or the boost delta that brings each model to the target, "
                                   "each with its inputs and uncertainty. Advice for the working group, not a "
                                   "verdict.")
    p.add_argument("--event", required=True)
    p.add_argument("--session", action="append", help="a session to include (repeat; default: all)")
    p.add_argument("--target", default="median", help="'median' of the models' power-to-weight (default) or a model")
    p.add_argument("--bulletin", help="read the weights from this bulletin (default: the one each run was judged "
                                      "under)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true")
    out.add_argument("--csv", action="store_true")
    add_db_option(p)
    p.set_defaults(func=run_analyse)


def _fmt(value, spec: str = ".1f", none: str = "-") -> str:
    return none if value is None else format(value, spec)


def run_analyse(args: argparse.Namespace) -> int:
    from ..analysis.field import analyse
    from ..bop.bulletins import load_bulletin
    from ..store.field_data import field_cars
    from ..store.schema import open_store

    bulletin = load_bulletin(args.bulletin) if args.bulletin else None
    cars = field_cars(open_store(args.db, create=False), args.event, args.session, bulletin=bulletin)
    result = analyse(cars, target=args.target, sessions=args.session or sorted({c.session for c in cars}))
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
        return EXIT_OK
    if args.csv:
        sys.stdout.write(result.to_csv())
        return EXIT_OK
    print(f"{args.event}: {len(cars)} cars in {', '.join(result.sessions)}; target {args.target} = "
          f"{_fmt(result.target_w_kg, '.1f')} W/kg")
    print(f"{'model':<30} {'cars':<10} {'kg':>6} {'kW':>6} {'W/kg':>6} {'top':>6} {'100-200':>7} {'usage':>6}"
          f" {'best lap':>8} {'d kg':>12} {'d boost bar':>16}")
    proposals = {p.model: p for p in result.proposals}
    for m in result.models:
        p = proposals.get(m.model)
        dkg = f"{p.weight_delta_kg:+.0f}±{p.weight_delta_sd_kg:.0f}" if p else "-"
        dbar = (f"{p.boost_delta_bar:+.3f}±{p.boost_delta_sd_bar:.3f}" if p and p.boost_delta_bar is not None
                else "-")
        print(f"{m.model:<30} {' '.join(m.cars):<10} {_fmt(m.weight_kg, '.0f'):>6} {_fmt(m.peak_power_kw):>6} "
              f"{_fmt(m.power_to_weight_w_kg):>6} {_fmt(m.top_speed_kmh):>6} {_fmt(m.accel_100_200_s, '.2f'):>7} "
              f"{_fmt(None if m.boost_usage is None else m.boost_usage * 100, '.0f'):>5}% "
              f"{_fmt(min(m.best_laps_s) if m.best_laps_s else None, '.2f'):>8} {dkg:>12} {dbar:>16}")
    print("Deltas: either the weight or the boost delta brings the model to the target (not both); "
          "uncertainty one standard deviation; --json lists every input.")
    return EXIT_OK
