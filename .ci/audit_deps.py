"""Known security advisories for every distribution installed in this environment, from PyPI's JSON API.

    .venv/bin/python .ci/audit_deps.py [--json]      (make audit)

For each installed distribution it asks PyPI for the advisories (PyPI mirrors the Python Packaging Advisory
Database and OSV) of the installed version: ``/pypi/<name>/<version>/json`` where the registry answers it,
else ``/pypi/<name>/json``, which answers for the latest release only and so verifies an installed version only
when it is the latest. Exit 0 when every distribution was verified with no advisory, 1 when an advisory affects
an installed version, 2 when some could not be verified (not the latest release and no per-version answer, or
no answer at all): each is listed with the reason. pip-audit does the same against OSV where OSV is reachable;
this build machine reaches only the package registries.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata

INDEX = "https://pypi.org/pypi"
TIMEOUT_S = 30


def _get(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def audit_one(name: str, version: str) -> dict:
    """One distribution: {"name", "version", "status": ok|vulnerable|unverified, "advisories", "detail"}."""
    row = {"name": name, "version": version, "advisories": [], "detail": ""}
    try:
        data = _get(f"{INDEX}/{name}/{version}/json")
        source = "version"
        if data is None:
            data = _get(f"{INDEX}/{name}/json")
            source = "project"
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        return {**row, "status": "unverified", "detail": f"no answer from PyPI: {err}"}
    if data is None:
        return {**row, "status": "unverified", "detail": "not on PyPI (a local or private distribution)"}
    latest = data["info"]["version"]
    if source == "project" and latest != version:
        return {**row, "status": "unverified",
                "detail": f"installed {version}, latest {latest}{_why_older(name, version, data)}: PyPI here "
                          "answers for the latest release only"}
    advisories = [{"id": v.get("id"), "aliases": v.get("aliases", []), "fixed_in": v.get("fixed_in", []),
                   "summary": (v.get("summary") or v.get("details") or "")[:200]}
                  for v in data.get("vulnerabilities") or [] if not v.get("withdrawn")]
    return {**row, "status": "vulnerable" if advisories else "ok", "advisories": advisories,
            "detail": f"checked against the {'installed' if source == 'version' else 'latest (= installed)'} release"}


def _newest_for_this_python(data: dict) -> str | None:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    here = ".".join(map(str, sys.version_info[:3]))
    best = None
    for text, files in (data.get("releases") or {}).items():
        try:
            v = Version(text)
        except InvalidVersion:
            continue
        if v.is_prerelease or not files or all(f.get("yanked") for f in files):
            continue
        try:
            ok = any(SpecifierSet(f.get("requires_python") or "").contains(here) for f in files)
        except InvalidSpecifier:
            ok = True
        if ok and (best is None or v > best):
            best = v
    return None if best is None else str(best)


def _why_older(name: str, version: str, data: dict) -> str:
    """Why an older release is installed: the newest for this Python, or a pin by another distribution."""
    newest = _newest_for_this_python(data)
    if newest == version:
        return f" (needs a newer Python; {version} is the newest release for Python {sys.version_info[0]}." \
               f"{sys.version_info[1]})"
    pins = [f"{d.metadata['Name']} requires {r.split(';')[0]}" for d in metadata.distributions()
            for r in d.requires or [] if _normal(r.split(';')[0]).startswith(_normal(name))
            and any(op in r for op in ("==", "<", "~="))]
    return f" (held back: {'; '.join(pins)})" if pins else ""


def installed() -> list[tuple[str, str]]:
    seen: dict[str, tuple[str, str]] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            seen.setdefault(_normal(name), (name, dist.version))
    return sorted(seen.values(), key=lambda nv: _normal(nv[0]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="one JSON object per distribution")
    ap.add_argument("--skip", nargs="*", default=["bopwatch"], help="distributions not to look up (default: "
                    "bopwatch itself, which is not on PyPI)")
    args = ap.parse_args(argv)
    skip = {_normal(s) for s in args.skip}
    dists = [(n, v) for n, v in installed() if _normal(n) not in skip]
    with ThreadPoolExecutor(8) as pool:
        rows = list(pool.map(lambda nv: audit_one(*nv), dists))
    for row in rows:
        if args.json:
            sys.stdout.write(json.dumps(row) + "\n")
        elif row["status"] != "ok":
            ids = ", ".join(a["id"] + (f" (fixed in {', '.join(a['fixed_in'])})" if a["fixed_in"] else "")
                            for a in row["advisories"])
            sys.stdout.write(f"{row['status']:10} {row['name']} {row['version']}: {ids or row['detail']}\n")
    counts = {s: sum(r["status"] == s for r in rows) for s in ("ok", "vulnerable", "unverified")}
    sys.stderr.write(f"audit: {len(rows)} distributions: {counts['ok']} without known advisories, "
                     f"{counts['vulnerable']} with advisories, {counts['unverified']} not verifiable here\n")
    return 1 if counts["vulnerable"] else 2 if counts["unverified"] else 0


if __name__ == "__main__":
    sys.exit(main())
