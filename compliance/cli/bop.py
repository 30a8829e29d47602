"""``bopwatch bop show|validate|diff``: read BoP bulletins, check them, and see what changed between two."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..bop import Bulletin, diff_bulletins, load_bulletin
from ..errors import BulletinError
from ..judge.verdict import utc_text
from . import EXIT_ERROR, EXIT_OK
from ._bop_analyse import add_analyse_parser


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("bop", help="show, validate and compare BoP bulletins",
                              description="Show, validate and compare BoP bulletins (SPEC §3 and §5 TOML); "
                                          "analyse a stored event's field for the BoP working group.")
    sub = p.add_subparsers(dest="bop_command", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="print a bulletin's limits per model (tables and curves)")
    show.add_argument("bulletin", metavar="B", help="bulletin TOML")
    show.add_argument("--model", metavar="M", help="only this model (an error when the bulletin lacks it)")
    show.add_argument("--json", action="store_true", help="print JSON instead of tables")
    show.set_defaults(func=run_show)
    validate = sub.add_parser("validate", help="check bulletins; exit 0 when all are valid, 2 otherwise")
    validate.add_argument("bulletins", nargs="+", metavar="B", help="bulletin TOML files or folders of them")
    validate.set_defaults(func=run_validate)
    diff = sub.add_parser("diff", help="what changed from bulletin A to bulletin B, per model and rule")
    diff.add_argument("old", metavar="A")
    diff.add_argument("new", metavar="B")
    diff.add_argument("--json", action="store_true", help="print the changes as JSON")
    diff.set_defaults(func=run_diff)
    add_analyse_parser(sub)


def _header(b: Bulletin) -> str:
    until = f" until {utc_text(b.effective_until)}" if b.effective_until else ""
    category = f", track category {b.track_category}" if b.track_category else ""
    return (f"{b.id}: {b.series} / {b.event}, in force from {utc_text(b.effective_from) or 'always'}{until}"
            f"{category}; reference ambient {b.reference_ambient_pressure_bar:g} bar")


def run_show(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    b = load_bulletin(args.bulletin)
    models = [b.model(args.model)] if args.model else list(b.models.values())
    if args.json:
        out = {"id": b.id, "sha256": b.sha256, "effective_from": utc_text(b.effective_from),
               "effective_until": utc_text(b.effective_until), "track_category": b.track_category,
               "reference_ambient_pressure_bar": b.reference_ambient_pressure_bar,
               "models": {m.model: {"name": m.name, "min_weight_kg": m.min_weight_kg,
                                    "rules": [spec.to_dict() for spec in m.rules.values()],
                                    **({"info": dict(m.info)} if m.info else {})}
                          for m in models}}
        if b.cars:                                  # SPEC §5 car entries: their model and their rules as judged
            out["cars"] = {c: {"model": e.model, "rules": [spec.to_dict() for spec in e.rules.values()],
                               **({"info": dict(e.info)} if e.info else {})}
                           for c, e in b.cars.items() if not args.model or e.model == args.model}
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return EXIT_OK
    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    console.print(escape(_header(b)))
    cars = [e for e in b.cars.values() if not args.model or e.model == args.model]
    for m in [*models, *cars]:
        weight = f", min weight {m.min_weight_kg:g} kg" if m.min_weight_kg is not None else ""
        title = f'car "{m.car}": {m.model}' if m.car else m.model
        console.print(f"\n[bold]{escape(title)}[/] ({escape(m.name)}{weight})")
        if m.info:
            console.print("  info: " + escape(", ".join(f"{k} {v}" for k, v in m.info.items())))
        if not m.rules:
            console.print("  no limits")
        for name, spec in m.rules.items():
            terms = (f"tolerance {spec.tolerance:g} {spec.unit}, min duration {spec.min_duration_s:g} s, "
                     f"allowed {spec.max_exceedances}"
                     + (f" per {spec.count_per}" + (f" of {spec.window_s:g} s" if spec.window_s else "")
                        if spec.count_per != "session" else "")
                     + (f", at most {spec.max_time_over_s:g} s over" if spec.max_time_over_s is not None else "")
                     + (", ambient-corrected" if spec.ambient_correction else "")
                     + (", judged while " + " and ".join(c.text() for c in spec.when) if spec.when else "")
                     + (f", replenished at {spec.replenish_mj_s:g} MJ/s" if spec.replenish_mj_s is not None else ""))
            if not spec.key_points:
                console.print(f"  {escape(name)}: {escape(spec.describe_limit())} ({escape(terms)})")
                continue
            table = Table(title=f"{name} ({spec.interpolation}; {terms})", title_justify="left")
            table.add_column(spec.key_name or "", justify="right")
            table.add_column("level % of declared" if spec.declared else
                             f"{spec.direction} {'ratio' if spec.ratio else spec.unit}", justify="right")
            for k, v in zip(spec.key_points, spec.limits, strict=True):
                table.add_row(f"{k:g}", f"{v:g}")
            console.print(table)
    return EXIT_OK


def run_validate(args: argparse.Namespace) -> int:
    failed = 0
    for given in args.bulletins:
        files = sorted(Path(given).glob("*.toml")) if Path(given).is_dir() else [Path(given)]
        if not files:
            print(f"bopwatch bop validate: error: {given}: folder holds no *.toml bulletin", file=sys.stderr)
            failed += 1
        for path in files:
            try:
                b = load_bulletin(path)
            except BulletinError as err:
                if args.debug:
                    raise
                print(f"bopwatch bop validate: error: {err}", file=sys.stderr)
                failed += 1
                continue
            rules = sum(len(m.rules) for m in b.models.values())
            print(f"ok  {path}  {b.id}: {len(b.models)} models, {rules} rules")
    return EXIT_ERROR if failed else EXIT_OK


def run_diff(args: argparse.Namespace) -> int:
    old, new = load_bulletin(args.old), load_bulletin(args.new)
    changes = diff_bulletins(old, new)
    if args.json:
        sys.stdout.write(json.dumps({"old": old.id, "new": new.id, "changes": changes}, indent=2) + "\n")
        return EXIT_OK
    print(f"{old.id} -> {new.id}")
    if not changes:
        print("  no change in any limit")
    for c in changes:
        rule = c["rule"]
        who = f"car {c['car']} ({c['model']})" if "car" in c else c["model"]
        if rule is None:
            print(f"  {who}: {'car entry' if 'car' in c else 'model'} {c['change']}")
        elif c["change"] in ("added", "removed"):
            print(f"  {who}.{rule}: {c['change']} ({c['limit']})")
        elif rule == "min_weight_kg":
            print(f"  {who}: min weight {c['old']} -> {c['new']} kg")
        elif "fields" not in c:
            print(f"  {who}: {rule} {c['old']} -> {c['new']}")
        else:
            delta = f" (every point {c['delta']:+g})" if "delta" in c else ""
            fields = "; ".join(f"{k} {v['old']} -> {v['new']}" for k, v in c["fields"].items())
            print(f"  {who}.{rule}: {fields}{delta}")
    return EXIT_OK
