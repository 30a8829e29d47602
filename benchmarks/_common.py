"""Shared by the benchmarks: simulated inputs in a temp folder, child processes timed with their peak RSS, and
the one table every benchmark prints (case, frames, frames/s, reference, ratio, peak RSS, target).

Timings are of whole child processes (start-up and imports included), measured with ``os.wait4`` so the peak
RSS is that child's own high-water mark (``ru_maxrss``), not the benchmark's. Both wall time and CPU time (user +
system, the child and what it waited for) are kept: on a busy machine the CPU-time ratio is the steadier figure.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)
MODEL = "bmw_m4_gt3"
PROFILE = ROOT / "dbc" / f"{MODEL}.toml"

#: file suffix per simulator format
SUFFIX = {"blf": ".blf", "mf4": ".mf4", "asc": ".asc", "candump": ".log", "trc": ".trc"}

# The limits of SPEC §3's example, for every simulated model: the simulator calibrates the car under them.
_BULLETIN = """id = "BENCH-2026-R1"
series = "benchmark"
event = "benchmark"
effective_from = "2026-01-01T00:00:00Z"
reference_ambient_pressure_bar = 1.010
"""
_MODEL_RULES = """
[models.{model}]
name = "{model}"

[models.{model}.boost]
rpm = [4000, 5000, 6000, 7000]
max_bar = [2.64, 2.60, 2.50, 2.40]
interpolation = "linear"
tolerance = 0.02
min_duration_s = 0.1
max_exceedances = 5
ambient_correction = true

[models.{model}.fuel_flow]
rpm = [4000, 7000]
max_kg_h = [90.0, 110.0]
tolerance = 0.5
min_duration_s = 0.5

[models.{model}.power]
max_kw = 410.0
tolerance = 2.0
min_duration_s = 0.5
"""


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table. ``ratio`` = reference seconds / our seconds (higher is better), wall and CPU."""

    case: str
    frames: int
    seconds: float
    peak_rss_mb: float
    reference: str = ""
    reference_seconds: float | None = None
    target: str = ""
    note: str = ""
    cpu_seconds: float | None = None
    reference_cpu_seconds: float | None = None

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def ratio(self) -> float | None:
        if self.reference_seconds is None or self.seconds <= 0:
            return None
        return self.reference_seconds / self.seconds

    @property
    def cpu_ratio(self) -> float | None:
        if self.reference_cpu_seconds is None or not self.cpu_seconds:
            return None
        return self.reference_cpu_seconds / self.cpu_seconds

    def to_dict(self) -> dict:
        return {"case": self.case, "frames": self.frames, "seconds": round(self.seconds, 3),
                "frames_per_s": round(self.frames_per_s), "peak_rss_mb": round(self.peak_rss_mb, 1),
                "reference": self.reference, "reference_seconds": None if self.reference_seconds is None
                else round(self.reference_seconds, 3), "ratio": None if self.ratio is None else round(self.ratio, 2),
                "cpu_seconds": None if self.cpu_seconds is None else round(self.cpu_seconds, 3),
                "reference_cpu_seconds": None if self.reference_cpu_seconds is None
                else round(self.reference_cpu_seconds, 3),
                "cpu_ratio": None if self.cpu_ratio is None else round(self.cpu_ratio, 2),
                "target": self.target, "note": self.note}


@dataclass(frozen=True, slots=True)
class Child:
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def run_child(argv: list[str], *, cwd: Path | None = None, env: dict | None = None) -> Child:
    """Run ``argv`` as a child process; wall time and the child's own peak RSS (``wait4`` rusage)."""
    out_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-{os.getpid()}-{time.monotonic_ns()}"
    with open(f"{out_path}.out", "w+b") as out, open(f"{out_path}.err", "w+b") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=cwd, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    for suffix in (".out", ".err"):
        Path(f"{out_path}{suffix}").unlink(missing_ok=True)
    return Child(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, proc.returncode, stdout,
                 stderr)


def bopwatch_argv(*args: str) -> list[str]:
    """The installed ``bopwatch`` entry script next to this interpreter (what a user runs)."""
    script = Path(sys.executable).with_name("bopwatch")
    if script.exists():
        return [str(script), *args]
    found = shutil.which("bopwatch")
    if found:
        return [found, *args]
    return [sys.executable, "-c", "import sys; from compliance.cli import main; sys.exit(main())", *args]


def python_argv(script: str, *args: str) -> list[str]:
    """Run ``script`` (source text) in a fresh interpreter."""
    return [sys.executable, "-c", script, *args]


def write_bulletin(folder: Path, models: tuple[str, ...] = (MODEL,)) -> Path:
    path = folder / "bulletin.toml"
    path.write_text(_BULLETIN + "".join(_MODEL_RULES.format(model=m) for m in models), encoding="utf-8")
    return path


def simulate(folder: Path, fmt: str, minutes: float, *, model: str = MODEL, seed: int = 1, name: str = "car",
             bulletin: Path | None = None) -> Path:
    """Write a simulated ``minutes``-long log of ``model`` in ``fmt`` (once: an existing file is reused)."""
    out = folder / f"{name}-{model}-{minutes:g}min-s{seed}{SUFFIX[fmt]}"
    if out.exists() and out.with_name(out.name + ".truth.json").exists():
        return out
    bulletin = bulletin or write_bulletin(folder)
    # in a child process: a forked child starts with its parent's peak RSS (Linux keeps ru_maxrss across fork and
    # exec), so the benchmark process must stay small for the children's peak RSS to be their own
    subprocess.run([sys.executable, "-c", _SIMULATE, str(out), fmt, str(minutes * 60.0), str(seed), str(bulletin),
                    str(ROOT / "dbc" / f"{model}.toml"), model], check=True, stdout=subprocess.DEVNULL)
    return out


_SIMULATE = """
import sys
from pathlib import Path
from telemetry.simulate.run import SimConfig, simulate_log
out, fmt, seconds, seed, bulletin, profile, model = sys.argv[1:]
simulate_log(SimConfig(model=model, out=Path(out), fmt=fmt, duration_s=float(seconds), seed=int(seed),
                       bulletin=Path(bulletin), profile=Path(profile)))
"""


def check_json(child: Child, what: str) -> dict:
    """The ``check --json`` object a child printed; exit 0, 1 and 3 are verdicts, anything else a failure."""
    if child.returncode not in (0, 1, 3):
        raise RuntimeError(f"{what} failed (exit {child.returncode}): {child.stderr.strip()[-2000:]}")
    # asammdf 8.8 prints "<x> MB/s cc=.. vv=.." on stdout when loading a data block takes over 10 s (a busy
    # machine): skip such lines before the JSON object
    start = child.stdout.find("{")
    if start > 0:
        log.warning("%s: stdout carried text before the JSON: %r", what, child.stdout[:start][:200])
    return json.JSONDecoder().raw_decode(child.stdout[max(start, 0):])[0]


def format_table(rows: list[Row]) -> str:
    head = ("case", "frames", "wall s", "cpu s", "frames/s", "reference", "ref wall s", "ref cpu s", "ratio",
            "cpu ratio", "peak RSS MB", "target", "note")
    lines = [head]

    def num(x: float | None, fmt: str) -> str:
        return "-" if x is None else format(x, fmt)

    for r in rows:
        lines.append((r.case, f"{r.frames:,}", f"{r.seconds:.2f}", num(r.cpu_seconds, ".2f"),
                      f"{r.frames_per_s:,.0f}", r.reference, num(r.reference_seconds, ".2f"),
                      num(r.reference_cpu_seconds, ".2f"), num(r.ratio, ".1f") + ("x" if r.ratio else ""),
                      num(r.cpu_ratio, ".1f") + ("x" if r.cpu_ratio else ""), f"{r.peak_rss_mb:.0f}", r.target,
                      r.note))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    text = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)
