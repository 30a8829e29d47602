"""Valid seed inputs for the fuzzer, written fresh into a folder: small logs of every format (by the simulator's
writers and by python-can's, so two dialects of each), gzip-wrapped logs, the fuzz car's profile and DBC, and the
bulletins and profiles kept in the repository.

Every log holds the frames of ``fuzz_frames()``: the fuzz car's messages (classic, extended-id big-endian,
multiplexed, and CAN FD where the format carries it) on two buses, plus a remote and an error frame where the
writer can express them, so a mutated copy reaches every decode path.
"""

from __future__ import annotations

import gzip
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from telemetry.frames import FLAG_ERROR, FLAG_EXTENDED, FLAG_FD, FLAG_REMOTE, Frames

__all__ = ["Seed", "write_seeds", "fuzz_frames", "DATA", "ROOT", "LOG_FORMATS", "FORMATS"]

log = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parents[2]
START = datetime(2025, 6, 28, 16, 30, 0, 250000, tzinfo=UTC)
#: log formats (the reader is chosen by suffix; ``mdf`` is decoded channels, MF4 and MDF 3, ``gz`` gzip-wrapped
#: logs)
LOG_FORMATS = ("blf", "asc", "candump", "trc", "csv", "mf4", "mdf", "gz")
FORMATS = (*LOG_FORMATS, "bulletin", "profile", "dbc")


@dataclass(frozen=True, slots=True)
class Seed:
    format: str        # one of FORMATS
    path: Path
    origin: str        # which writer made it (for the report)


def _crc8_j1850(rows: np.ndarray) -> np.ndarray:
    crc = np.full(len(rows), 0xFF, np.uint8)
    for j in range(rows.shape[1]):
        crc ^= rows[:, j]
        for _ in range(8):
            top = (crc & 0x80) != 0
            crc = ((crc.astype(np.uint16) << 1) & 0xFF).astype(np.uint8)
            crc[top] ^= 0x1D
    return crc ^ 0xFF


def fuzz_frames(seconds: float = 0.5, *, fd: bool = True, specials: bool = True, seed: int = 0) -> Frames:
    """The fuzz car's frames for ``seconds`` (10 ms engine, 20 ms fuel, 100 ms status/FD), time-ordered."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[float, int, int, int, int, np.ndarray]] = []   # t, bus, id, flags, length, data

    def add(period: float, bus: int, ident: int, flags: int, length: int, payload: Callable[[int], np.ndarray]):
        t = np.arange(0.0, seconds, period) + rng.uniform(0, period / 10)
        for k, ti in enumerate(t):
            rows.append((float(ti), bus, ident, flags, length, payload(k)))

    def engine(k: int) -> np.ndarray:
        rpm = int(5000 + 1500 * np.sin(k / 7))
        d = np.zeros(8, np.uint8)
        d[0:2] = np.frombuffer(np.uint16(rpm).tobytes(), np.uint8)
        d[2:4] = np.frombuffer(np.uint16(2400 + 30 * (k % 9)).tobytes(), np.uint8)
        d[4], d[5], d[6] = 120 + k % 60, 3, k % 16
        d[7] = _crc8_j1850(d[None, :7])[0]
        return d

    def fuel(k: int) -> np.ndarray:
        d = np.zeros(8, np.uint8)
        d[0:2] = np.frombuffer(np.uint16(9000 + 50 * k).tobytes()[::-1], np.uint8)
        d[2:4] = np.frombuffer(np.uint16(21000 + 10 * k).tobytes()[::-1], np.uint8)
        d[4:6] = np.frombuffer(np.int16(4000 - 20 * k).tobytes()[::-1], np.uint8)
        return d

    def status(k: int) -> np.ndarray:
        d = np.zeros(8, np.uint8)
        d[0] = k % 2
        d[1:3] = np.frombuffer(np.uint16(10100).tobytes() if k % 2 == 0 else np.uint16(0).tobytes(), np.uint8)
        if k % 2:
            d[2:4] = np.frombuffer(np.uint16(21000).tobytes(), np.uint8)
        return d

    def wheels(k: int) -> np.ndarray:
        d = np.zeros(64, np.uint8)
        d[0:2] = np.frombuffer(np.uint16(20900 + k).tobytes(), np.uint8)
        d[62:64] = np.frombuffer(np.uint16(20950 + k).tobytes(), np.uint8)
        return d

    add(0.01, 0, 0x100, 0, 8, engine)
    add(0.02, 1, 0x0CFF0001, FLAG_EXTENDED, 8, fuel)
    add(0.1, 1, 0x200, 0, 8, status)
    if fd:
        add(0.1, 0, 0x300, FLAG_FD, 64, wheels)
    if specials:
        rows.append((seconds / 3, 0, 0x123, FLAG_REMOTE, 0, np.zeros(8, np.uint8)))
        rows.append((seconds / 2, 1, 0, FLAG_ERROR, 0, np.zeros(8, np.uint8)))
    rows.sort(key=lambda r: r[0])
    width = 64 if fd else 8
    data = np.zeros((len(rows), width), np.uint8)
    for i, r in enumerate(rows):
        data[i, : len(r[5])] = r[5][:width]
    return Frames(np.array([r[0] for r in rows]), np.array([r[1] for r in rows], np.uint8),
                  np.array([r[2] for r in rows], np.uint32), np.array([r[3] for r in rows], np.uint8),
                  np.array([r[4] for r in rows], np.uint8), data, START)


def _messages(frames: Frames):
    import can

    epoch = START.timestamp()
    for i in range(len(frames)):
        n = int(frames.length[i])
        flags = int(frames.flags[i])
        yield can.Message(timestamp=epoch + float(frames.timestamp[i]), arbitration_id=int(frames.arbitration_id[i]),
                          is_extended_id=bool(flags & FLAG_EXTENDED), is_remote_frame=bool(flags & FLAG_REMOTE),
                          is_error_frame=bool(flags & FLAG_ERROR), is_fd=bool(flags & FLAG_FD),
                          bitrate_switch=bool(flags & FLAG_FD), dlc=n, data=bytes(frames.data[i, :n]),
                          channel=int(frames.bus[i]) + 1)


def _python_can(writer_cls, path: Path, frames: Frames, **kwargs) -> None:
    with writer_cls(str(path), **kwargs) as writer:
        for msg in _messages(frames):
            writer.on_message_received(msg)


def _sim_text(path: Path, kind: str, frames: Frames) -> None:
    from telemetry.simulate.writers import text

    if kind == "asc":
        body = text.asc_header(START) + text.asc_lines(frames) + text.asc_footer()
    elif kind == "candump":
        body = text.candump_lines(frames, START)
    elif kind == "trc":
        body = text.trc_header(START, path.name) + text.trc_lines(frames, 1)
    else:
        body = text.csv_header() + text.csv_lines(frames, START)
    path.write_bytes(body)


def _sim_blf(path: Path, frames: Frames, container: int) -> None:
    from telemetry.simulate.writers import blf

    saved = blf.CONTAINER
    blf.CONTAINER = container          # small containers: a seed with several container boundaries
    try:
        with open(path, "wb") as fh:
            w = blf.BlfWriter(fh, START)
            w.write(frames)
            w.close()
    finally:
        blf.CONTAINER = saved


def _sim_mdf(path: Path, frames: Frames) -> None:
    from telemetry.simulate.writers.mf4 import DecodedGroup, write_mdf_decoded

    t = frames.timestamp[frames.arbitration_id == 0x100]
    groups = [DecodedGroup("LOG_Engine", t, (("EngineSpeed", 5000 + 10 * np.arange(len(t)), "rpm"),
                                             ("MAP", np.full(len(t), 240.0), "kPa"),
                                             ("Throttle", np.linspace(0, 100, len(t)), "%"))),
              DecodedGroup("ECU_Fuel", t[::2], (("FuelMassFlow", np.full(len(t[::2]), 95.0), "kg/h"),))]
    write_mdf_decoded(path, groups, START, compression=2)


def _asammdf_mdf3(path: Path, frames: Frames) -> None:
    """Decoded channels in MDF 3.30, as asammdf writes them: two groups, float64, float32 and uint8 channels."""
    from asammdf import MDF, Signal

    t = frames.timestamp[frames.arbitration_id == 0x100]
    n = len(t)
    with MDF(version="3.30") as mdf:
        mdf.append([Signal(5000 + 10 * np.arange(n, dtype=np.float64), t, name="EngineSpeed", unit="rpm"),
                    Signal(np.full(n, 240.0), t, name="MAP", unit="kPa"),
                    Signal(np.linspace(0, 100, n).astype(np.float32), t, name="Throttle", unit="%")],
                   common_timebase=True)
        mdf.append([Signal(np.full(len(t[::2]), 95.0), t[::2], name="FuelMassFlow", unit="kg/h"),
                    Signal((np.arange(len(t[::2])) % 256).astype(np.uint8), t[::2], name="Counter", unit="")],
                   common_timebase=True)
        mdf.save(path, overwrite=True)


def _writers(folder: Path) -> list[tuple[str, str, Callable[[Path], None], str]]:
    """(format, origin, write(path), file name)."""
    import can

    classic = fuzz_frames(fd=False)
    plain = fuzz_frames(fd=False, specials=False)
    full = fuzz_frames()
    from telemetry.simulate.writers.mf4 import write_mf4_bus

    return [
        ("blf", "simulator, 2 KiB containers", lambda p: _sim_blf(p, plain, 2048), "sim.blf"),
        ("blf", "python-can BLFWriter (FD, remote, error frames)",
         lambda p: _python_can(can.BLFWriter, p, full, max_container_size=4096), "pycan.blf"),
        ("asc", "simulator", lambda p: _sim_text(p, "asc", plain), "sim.asc"),
        ("asc", "python-can ASCWriter (FD)", lambda p: _python_can(can.ASCWriter, p, full), "pycan.asc"),
        ("candump", "simulator", lambda p: _sim_text(p, "candump", plain), "sim.log"),
        ("candump", "python-can CanutilsLogWriter (FD)", lambda p: _python_can(can.CanutilsLogWriter, p, full),
         "pycan.log"),
        ("trc", "simulator (TRC 2.1)", lambda p: _sim_text(p, "trc", plain), "sim.trc"),
        ("trc", "python-can TRCWriter", lambda p: _python_can(can.TRCWriter, p, classic), "pycan.trc"),
        ("csv", "simulator", lambda p: _sim_text(p, "csv", plain), "sim.csv"),
        ("csv", "python-can CSVWriter", lambda p: _python_can(can.CSVWriter, p, classic), "pycan.csv"),
        ("mf4", "simulator bus logging (FD)", lambda p: write_mf4_bus(p, full, START), "sim_bus.mf4"),
        ("mf4", "python-can MF4Writer", lambda p: _python_can(can.MF4Writer, p, classic), "pycan_bus.mf4"),
        ("mdf", "simulator decoded channels", lambda p: _sim_mdf(p, plain), "sim_decoded.mf4"),
        ("mdf", "asammdf MDF 3.30 decoded channels", lambda p: _asammdf_mdf3(p, plain), "asammdf_decoded.mdf"),
    ]


def _gzip(src: Path, dst: Path) -> None:
    dst.write_bytes(gzip.compress(src.read_bytes(), mtime=0))


def write_seeds(folder: Path, formats: tuple[str, ...] = FORMATS) -> list[Seed]:
    """Write the seeds of ``formats`` into ``folder`` (which must exist); the fuzz car's DBC and profile are
    always copied there, since profile seeds and the decode step use them."""
    for name in ("fuzz_car.dbc", "fuzz_car.toml"):
        shutil.copy(DATA / name, folder / name)
    seeds: list[Seed] = []
    made: dict[str, Path] = {}
    for fmt, origin, write, name in _writers(folder):
        if fmt not in formats and not (fmt in ("blf", "asc", "candump") and "gz" in formats):
            continue
        path = folder / name
        try:
            write(path)
        except Exception as err:  # noqa: BLE001 - a writer in progress must not stop the other formats
            log.warning("seed %s (%s) could not be written: %s", name, origin, err)
            continue
        made[name] = path
        if fmt in formats:
            seeds.append(Seed(fmt, path, origin))
    if "gz" in formats:
        for name in ("sim.blf", "pycan.asc", "sim.log"):
            if name in made:
                _gzip(made[name], folder / f"{name}.gz")
                seeds.append(Seed("gz", folder / f"{name}.gz", f"gzip of {name}"))
    if "profile" in formats:
        seeds.append(Seed("profile", folder / "fuzz_car.toml", "tests/fuzz/data"))
        for toml in sorted((ROOT / "dbc").glob("*.toml")):
            for ref in _profile_dbcs(toml):
                if not (folder / ref).exists():
                    shutil.copy(toml.parent / ref, folder / ref)
            shutil.copy(toml, folder / f"profile_{toml.name}")
            seeds.append(Seed("profile", folder / f"profile_{toml.name}", f"dbc/{toml.name}"))
    if "dbc" in formats:
        seeds.append(Seed("dbc", folder / "fuzz_car.dbc", "tests/fuzz/data"))
    if "bulletin" in formats:
        sources = sorted((ROOT / "tests" / "data").rglob("bulletin_*.toml"))
        sources += sorted((ROOT / "bulletins").glob("*.toml")) if (ROOT / "bulletins").is_dir() else []
        for src in sources:
            if _loads(src, "compliance.bop.bulletins:load_bulletin"):
                dst = folder / f"bulletin_{len(seeds)}_{src.name}"
                shutil.copy(src, dst)
                seeds.append(Seed("bulletin", dst, str(src.relative_to(ROOT))))
    return seeds


def _profile_dbcs(toml: Path) -> list[str]:
    import tomllib

    doc = tomllib.loads(toml.read_text(encoding="utf-8"))
    return [e["file"] for e in doc.get("dbc", []) if isinstance(e, dict) and isinstance(e.get("file"), str)
            and "/" not in e["file"]]


def _loads(path: Path, target: str) -> bool:
    """Whether a candidate seed is valid (only valid files are seeds: the fuzzer mutates them)."""
    from importlib import import_module

    module, _, name = target.partition(":")
    try:
        getattr(import_module(module), name)(path)
    except Exception:  # noqa: BLE001 - an invalid example file is simply not a seed
        return False
    return True
