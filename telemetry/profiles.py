"""Car profiles (SPEC §2): which DBC applies to which bus, which signal feeds which canonical channel, in which
unit, how ``power`` is derived, and which messages carry rolling counters and checksums (DESIGN.md).

``load_profile(path)`` validates everything it can before any log is read: every error names the profile file
and the key, and says how to fix it.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from .channels import CANONICAL
from .errors import DbcError, ProfileError, UnitError
from .limits import DBC_MAX_MB, DBC_MAX_MESSAGE_BYTES, DBC_MAX_MESSAGES, env_number
from .units import can_convert, normalise

__all__ = ["Profile", "DbcRef", "ChannelMap", "PowerSpec", "IntegritySpec", "load_profile", "load_database",
           "CHECKSUM_ALGORITHMS"]

log = logging.getLogger(__name__)

CHECKSUM_ALGORITHMS = ("xor8", "sum8", "crc8_sae_j1850")
_TOP_KEYS = {"model", "name", "dbc", "channels", "power", "integrity"}
_DB_SUFFIXES = {".dbc": "e_dbc", ".kcd": "e_kcd", ".sym": "e_sym", ".arxml": "e_arxml"}


@dataclass(frozen=True, slots=True)
class DbcRef:
    """One ``[[dbc]]`` entry: the file, the bus it applies to (None = every bus) and the loaded database."""

    file: Path
    bus: int | None
    database: object          # cantools.database.can.Database
    sha256: str


@dataclass(frozen=True, slots=True)
class ChannelMap:
    """Where a canonical channel comes from.

    ``signal`` is the right-hand side as written (``Message.Signal``, ``Signal``, or an MDF channel name);
    ``message``/``signal_name``/``bus`` are what it resolved to in the DBCs (None for MDF-only profiles);
    ``unit`` is the unit of the source values: the profile's override, else the DBC's (None = not known yet,
    e.g. MDF channels, whose unit the file gives).
    """

    signal: str
    unit: str | None
    message: str | None = None
    signal_name: str | None = None
    bus: int | None = None
    density_kg_per_l: float | None = None
    unit_override: bool = False

    @property
    def qualified(self) -> str:
        return f"{self.message}.{self.signal_name}" if self.message else self.signal


@dataclass(frozen=True, slots=True)
class PowerSpec:
    source: str                      # "driveshaft" or "engine"
    wheel_radius_m: float | None


@dataclass(frozen=True, slots=True)
class IntegritySpec:
    """One ``[[integrity]]`` entry: a message's rolling counter and/or checksum byte."""

    message: str
    counter: str | None = None
    counter_modulo: int | None = None
    checksum: str | None = None
    checksum_algorithm: str | None = None
    checksum_byte: int | None = None     # index of the checksum byte in the payload


@dataclass(frozen=True, slots=True)
class Profile:
    model: str
    name: str
    path: Path
    sha256: str                                  # of the profile file's bytes
    dbcs: tuple[DbcRef, ...]
    channels: Mapping[str, ChannelMap]
    power: PowerSpec | None
    integrity: tuple[IntegritySpec, ...] = ()

    def databases(self) -> list[tuple[int | None, object]]:
        """``(bus or None, Database)`` pairs, the form :func:`telemetry.decode.decode_frames` takes."""
        return [(d.bus, d.database) for d in self.dbcs]

    def message(self, name: str) -> tuple[object, int | None] | None:
        """The cantools message of this name and the bus its DBC applies to (first DBC that defines it)."""
        for d in self.dbcs:
            try:
                return d.database.get_message_by_name(name), d.bus
            except KeyError:
                continue
        return None


# ------------------------------------------------------------------------------------------------- databases

def load_database(path: str | Path, *, profile: str | Path | None = None, key: str | None = None):
    """Load a DBC/KCD/SYM/ARXML file with cantools (``strict=False``: overlapping signals are decoded exactly as
    cantools decodes them). A file that does not parse raises :class:`DbcError` naming the file and, where
    cantools reports it, the line."""
    import cantools

    path = Path(path)
    where = f"{profile}: {key}: " if profile else ""
    try:
        found = path.is_file()
    except OSError as err:      # e.g. a name longer than the file system allows
        raise DbcError(f"{where}signal database cannot be looked up: {err.strerror or err}", path=str(path)[:200],
                       fix="check the file name; [[dbc]] paths are relative to the profile file") from None
    if not found:
        raise DbcError(f"{where}signal database not found", path=path,
                       fix="check the file name; [[dbc]] paths are relative to the profile file")
    suffix = path.suffix.lower()
    if suffix not in _DB_SUFFIXES:
        raise DbcError(f"{where}unknown signal database type {path.suffix!r}", path=path,
                       fix="use a .dbc, .kcd, .sym or .arxml file")
    _check_bounds(path, suffix, where)
    try:
        return cantools.database.load_file(str(path), strict=False)
    except Exception as err:
        inner = getattr(err, _DB_SUFFIXES[suffix], None) or err
        line = getattr(inner, "line", None)
        text = " ".join(str(inner).replace('"', "").split()) or type(inner).__name__
        raise DbcError(f"{where}cannot load: {text}", path=path,
                       place=f"line {line}" if line is not None else None, fix=_db_fix(path, text)) from None


#: a DBC message's declared length (``BO_ <id> <name>: <length> <sender>``) and a signal's start bit and length
#: (``SG_ <name> [mux] : <start>|<length>@...``). Linear in the file: ``[ \t]``, never ``\s``, so that no match
#: spans lines, and no two neighbouring parts can match the same characters (a 1 MB line without its colon is one
#: pass, not a quadratic backtrack). The numbers are compared by their digits, never converted whole (a number of
#: 100,000 digits is past Python's int-conversion limit).
_BO = re.compile(rb"^[ \t]*BO_[ \t]+[^\s:]+[ \t]+([^\s:]+)[ \t]*:[ \t]*(\d+)", re.M)
_SG = re.compile(rb"^[ \t]*SG_[ \t]+([^\s:]+)(?:[ \t]+[^\s:]+)*[ \t]*:[ \t]*(\d+)[ \t]*\|[ \t]*(\d+)[ \t]*@", re.M)


def _over(digits: bytes, limit: int) -> bool:
    digits = digits.lstrip(b"0")
    return len(digits) > len(str(limit)) or (bool(digits) and int(digits) > limit)


def _shown(digits: bytes) -> str:
    digits = digits.lstrip(b"0") or b"0"
    return f"{int(digits):,}" if len(digits) <= 18 else f"{digits[:12].decode()}... ({len(digits):,} digits)"


def _check_bounds(path: Path, suffix: str, where: str) -> None:
    """Refuse, before cantools reads it, a signal database that would cost cantools more than a sound one can:
    larger than ``BOPWATCH_DBC_MAX_MB``, or a DBC with more than ``BOPWATCH_DBC_MAX_MESSAGES`` messages, a message
    longer than ``BOPWATCH_DBC_MAX_MESSAGE_BYTES`` or a signal starting or reaching past that many bytes' bits.
    cantools' cost is linear in the file's size (about 1 MB of DBC per CPU second) except for the message length:
    it builds each message's codec bit by bit, so a DBC of 400 bytes declaring a 99,999,999-byte message took more
    than 10 s of CPU and ~1 GB (seed-14 fuzz inputs), and one declaring 2**32 bytes a ``MemoryError``. The scan is
    one pass of two line-anchored patterns. Profiles are loaded in-process (``check``, ``ingest``, the
    dashboard), so these bounds are what keeps a hostile DBC to one refusal."""
    max_mb = env_number("BOPWATCH_DBC_MAX_MB", DBC_MAX_MB)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise DbcError(f"{where}signal database cannot be read: {err.strerror or err}", path=path,
                       fix="check the file's permissions") from None
    if size > max_mb * (1 << 20):
        raise DbcError(f"{where}signal database is {size:,} bytes, more than the {max_mb:g} MB limit", path=path,
                       fix="check it is the car's signal database; if it is genuine, raise BOPWATCH_DBC_MAX_MB")
    if suffix != ".dbc":
        return
    max_messages = int(env_number("BOPWATCH_DBC_MAX_MESSAGES", DBC_MAX_MESSAGES))
    max_bytes = int(env_number("BOPWATCH_DBC_MAX_MESSAGE_BYTES", DBC_MAX_MESSAGE_BYTES))
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DbcError(f"{where}signal database cannot be read: {err.strerror or err}", path=path,
                       fix="check the file's permissions") from None

    def line_of(match: re.Match) -> str:
        return "line " + str(data.count(b"\n", 0, match.start()) + 1)

    def name_of(match: re.Match) -> str:
        name = match.group(1).decode("cp1252", "replace")
        return name if len(name) <= 60 else name[:60] + "..."

    for count, m in enumerate(_BO.finditer(data), 1):
        if count > max_messages:
            raise DbcError(f"{where}defines more than {max_messages:,} messages", path=path, place=line_of(m),
                           fix="check it is the car's DBC (a line repeated many times?); if it is genuine, raise "
                               "BOPWATCH_DBC_MAX_MESSAGES")
        if _over(m.group(2), max_bytes):
            raise DbcError(f"{where}message {name_of(m)} declares {_shown(m.group(2))} bytes, more than the "
                           f"{max_bytes:,}-byte limit", path=path, place=line_of(m),
                           fix="correct the message's length (the number after its name: at most 8 for CAN, 64 "
                               "for CAN FD); if it is genuine, raise BOPWATCH_DBC_MAX_MESSAGE_BYTES")
    bits = 8 * max_bytes
    for m in _SG.finditer(data):
        for digits, what in ((m.group(2), "starts at bit"), (m.group(3), "is")):
            if _over(digits, bits):
                unit = " bits long" if what == "is" else ""
                raise DbcError(f"{where}signal {name_of(m)} {what} {_shown(digits)}{unit}, past the {bits:,} bits "
                               "of the longest message allowed", path=path,
                               place=line_of(m),
                               fix="correct the signal's start bit and length (start|length@...); if the "
                                   "message is genuinely that long, raise BOPWATCH_DBC_MAX_MESSAGE_BYTES")


def _db_fix(path: Path, text: str) -> str:
    """The most likely repair for a database cantools refuses."""
    if "more than 11 bits" in text:
        return "a 29-bit id must be marked extended (BO_ id + 0x80000000 in a DBC); otherwise correct the id"
    if "unused VAL_" in text:
        return "remove the VAL_ line or add the signal it names"
    if path.suffix.lower() == ".dbc":
        try:
            head = path.read_text("cp1252", errors="replace")
        except OSError:
            head = ""
        if "BS_:" not in head or "BU_:" not in head:
            return "add the BS_: and BU_: sections before the first BO_ (cantools requires them)"
    return "correct the file there so that cantools can load it"


# ------------------------------------------------------------------------------------------------- profiles

def _err(path: Path, key: str, problem: str, fix: str) -> ProfileError:
    return ProfileError(problem, path=path, place=f"key {key}", fix=fix)


def _resolve(path: Path, key: str, text: str, dbcs: tuple[DbcRef, ...]) -> tuple[str, str, int | None, str]:
    """``Message.Signal`` or a unique ``Signal`` -> (message, signal, bus, DBC unit)."""
    if "." in text:
        msg_name, sig_name = text.rsplit(".", 1)
        for d in dbcs:
            try:
                msg = d.database.get_message_by_name(msg_name)
            except KeyError:
                continue
            try:
                sig = msg.get_signal_by_name(sig_name)
            except KeyError:
                names = ", ".join(s.name for s in msg.signals[:12])
                raise _err(path, key, f"message {msg_name} has no signal {sig_name!r}",
                           f"use one of its signals: {names}") from None
            return msg.name, sig.name, d.bus, sig.unit or ""
    hits = [(m.name, s, d.bus) for d in dbcs for m in d.database.messages for s in m.signals if s.name == text]
    if len(hits) == 1:
        m, s, bus = hits[0]
        return m, s.name, bus, s.unit or ""
    if len(hits) > 1:
        where = ", ".join(f"{m}.{s.name}" for m, s, _ in hits[:6])
        raise _err(path, key, f"signal {text!r} is in several messages ({where})",
                   "write it as \"Message.Signal\"")
    files = ", ".join(d.file.name for d in dbcs)
    raise _err(path, key, f"signal {text!r} is in none of the DBCs ({files})",
               "check the spelling against the DBC, or add the DBC that defines it to [[dbc]]")


def _channel(path: Path, name: str, value, dbcs: tuple[DbcRef, ...]) -> ChannelMap:
    key = f"channels.{name}"
    if name not in CANONICAL:
        raise _err(path, key, f"{name!r} is not a canonical channel",
                   f"use one of: {', '.join(CANONICAL)}")
    unit = density = None
    if isinstance(value, str):
        text = value
    elif isinstance(value, dict):
        extra = set(value) - {"signal", "unit", "density_kg_per_l"}
        if extra:
            raise _err(path, f"{key}.{sorted(extra)[0]}", "unknown key",
                       "a channel table takes signal, unit and density_kg_per_l")
        text = value.get("signal")
        if not isinstance(text, str) or not text:
            raise _err(path, f"{key}.signal", "missing or not a string", 'write {signal = "Message.Signal"}')
        unit = value.get("unit")
        if unit is not None and not isinstance(unit, str):
            raise _err(path, f"{key}.unit", "not a string", 'write unit = "kPa"')
        density = value.get("density_kg_per_l")
        if density is not None and (not isinstance(density, int | float) or isinstance(density, bool)
                                    or density <= 0):
            raise _err(path, f"{key}.density_kg_per_l", "must be a positive number", "e.g. 0.745 for petrol")
    else:
        raise _err(path, key, "must be a string or a table", 'write "Message.Signal" or {signal = ..., unit = ...}')
    if not dbcs:   # MDF-only profile: the right-hand side names an MDF channel, its unit comes from the file
        return ChannelMap(text, unit, density_kg_per_l=None if density is None else float(density),
                          unit_override=unit is not None)
    message, signal, bus, dbc_unit = _resolve(path, key, text, dbcs)
    source_unit = unit if unit is not None else dbc_unit
    target = CANONICAL[name].unit
    if unit is None and normalise(source_unit) == "" and target == "%":
        # a DBC without a unit for a percentage: the values are percent (pint would multiply a bare number by 100)
        source_unit = "%"
    density_f = None if density is None else float(density)
    if not can_convert(source_unit, target, density_kg_per_l=density_f):
        raise UnitError(
            f"profile {path.name}: channel {name}: signal {message}.{signal}: unit {source_unit!r} cannot be "
            f"converted to {target!r}", path=path, place=f"key {key}",
            fix=f"give the signal's real unit: {name} = {{signal = \"{message}.{signal}\", unit = \"...\"}}")
    return ChannelMap(text, source_unit, message, signal, bus, density_f, unit is not None)


def _power(path: Path, table, channels: Mapping[str, ChannelMap]) -> PowerSpec:
    if not isinstance(table, dict):
        raise _err(path, "power", "must be a table", 'write [power] with source = "driveshaft" or "engine"')
    extra = set(table) - {"source", "wheel_radius_m"}
    if extra:
        raise _err(path, f"power.{sorted(extra)[0]}", "unknown key", "[power] takes source and wheel_radius_m")
    source = table.get("source")
    if source not in ("driveshaft", "engine"):
        raise _err(path, "power.source", f"must be \"driveshaft\" or \"engine\", not {source!r}",
                   'write source = "driveshaft" (torque sensors) or "engine" (ECU torque)')
    radius = table.get("wheel_radius_m")
    if source == "driveshaft":
        needed = ("driveshaft_torque_left", "driveshaft_torque_right", "wheel_speed_rl", "wheel_speed_rr")
        if not isinstance(radius, int | float) or isinstance(radius, bool) or not 0.1 < radius < 1.0:
            raise _err(path, "power.wheel_radius_m", f"missing or implausible ({radius!r})",
                       "give the rear wheel's dynamic rolling radius in metres, e.g. wheel_radius_m = 0.34")
    else:
        needed = ("engine_torque", "engine_speed")
    missing = [c for c in needed if c not in channels]
    if missing:
        raise _err(path, "power.source", f"source {source!r} needs channels {', '.join(missing)} in [channels]",
                   "map them, or choose the other power source")
    return PowerSpec(source, None if radius is None else float(radius))


def _integrity(path: Path, i: int, entry, profile: Profile) -> IntegritySpec:
    key = f"integrity[{i}]"
    if not isinstance(entry, dict):
        raise _err(path, key, "must be a table", "write [[integrity]] with message, counter and/or checksum")
    allowed = {"message", "counter", "counter_modulo", "checksum", "checksum_algorithm"}
    extra = set(entry) - allowed
    if extra:
        raise _err(path, f"{key}.{sorted(extra)[0]}", "unknown key", f"[[integrity]] takes {', '.join(sorted(allowed))}")
    name = entry.get("message")
    if not isinstance(name, str):
        raise _err(path, f"{key}.message", "missing or not a string", 'write message = "LOG_Pressures"')
    found = profile.message(name)
    if found is None:
        raise _err(path, f"{key}.message", f"message {name!r} is in none of the DBCs",
                   "check the spelling against the DBC")
    msg, _ = found
    counter, checksum = entry.get("counter"), entry.get("checksum")
    if counter is None and checksum is None:
        raise _err(path, key, "names neither a counter nor a checksum", "add counter = ... and/or checksum = ...")
    for k, sig in (("counter", counter), ("checksum", checksum)):
        if sig is not None and not isinstance(sig, str):
            raise _err(path, f"{key}.{k}", f"must be a signal name (a string), not {sig!r}", f'write {k} = "..."')
        if sig is not None:
            try:
                msg.get_signal_by_name(sig)
            except KeyError:
                raise _err(path, f"{key}.{k}", f"message {name} has no signal {sig!r}",
                           f"use one of: {', '.join(s.name for s in msg.signals[:12])}") from None
    modulo = entry.get("counter_modulo")
    if modulo is not None and (not isinstance(modulo, int) or isinstance(modulo, bool) or modulo < 2):
        raise _err(path, f"{key}.counter_modulo", f"must be an integer >= 2, not {modulo!r}", "e.g. 16")
    algorithm = entry.get("checksum_algorithm")
    byte = None
    if checksum is not None:
        if algorithm not in CHECKSUM_ALGORITHMS:
            raise _err(path, f"{key}.checksum_algorithm", f"must be one of {', '.join(CHECKSUM_ALGORITHMS)}, "
                       f"not {algorithm!r}", 'e.g. checksum_algorithm = "crc8_sae_j1850"')
        sig = msg.get_signal_by_name(checksum)
        aligned = sig.start % 8 == (7 if sig.byte_order == "big_endian" else 0)
        if sig.length != 8 or not aligned:
            raise _err(path, f"{key}.checksum", f"signal {checksum} is not one byte-aligned byte "
                       f"(start {sig.start}, length {sig.length})", "checksums must occupy one whole byte")
        byte = sig.start // 8
    elif algorithm is not None:
        raise _err(path, f"{key}.checksum_algorithm", "given without checksum", "add checksum = \"<signal>\"")
    if modulo is None and counter is not None:
        modulo = 2 ** msg.get_signal_by_name(counter).length
    return IntegritySpec(name, counter, modulo, checksum, algorithm, byte)


def load_profile(path: str | Path) -> Profile:
    """Load and validate a car profile (TOML). Raises :class:`ProfileError` (or :class:`DbcError`,
    :class:`UnitError`) naming the file and the key."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ProfileError("profile not found", path=path, fix="check the path (profiles live in dbc/)") from None
    except OSError as err:
        raise ProfileError(f"cannot read the profile ({err.strerror or err})", path=path,
                           fix="give the path of a readable .toml file") from None
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ProfileError(f"not valid TOML: {err}", path=path, fix="correct the TOML syntax") from None
    extra = set(doc) - _TOP_KEYS
    if extra:
        raise _err(path, sorted(extra)[0], "unknown key", f"a profile takes {', '.join(sorted(_TOP_KEYS))}")
    for key in ("model", "name"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise _err(path, key, "missing or not a string", f'write {key} = "..."')
    entries = doc.get("dbc", [])
    if not isinstance(entries, list):
        raise _err(path, "dbc", "must be an array of tables", 'write [[dbc]] file = "..."')
    dbcs: list[DbcRef] = []
    for i, entry in enumerate(entries):
        key = f"dbc[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise _err(path, f"{key}.file", "missing or not a string", 'write file = "car.dbc"')
        extra = set(entry) - {"file", "channel"}
        if extra:
            raise _err(path, f"{key}.{sorted(extra)[0]}", "unknown key", "[[dbc]] takes file and channel")
        bus = entry.get("channel")
        if bus is not None and (not isinstance(bus, int) or isinstance(bus, bool) or not 0 <= bus < 256):
            raise _err(path, f"{key}.channel", f"must be a bus number 0..255, not {bus!r}", "channel = 0")
        file = (path.parent / entry["file"]).resolve()
        db = load_database(file, profile=path, key=f"{key}.file")
        dbcs.append(DbcRef(file, bus, db, hashlib.sha256(file.read_bytes()).hexdigest()))
    table = doc.get("channels", {})
    if not isinstance(table, dict):
        raise _err(path, "channels", "must be a table", "write [channels]")
    frozen_dbcs = tuple(dbcs)
    channels = {name: _channel(path, name, value, frozen_dbcs) for name, value in table.items()}
    power = _power(path, doc["power"], channels) if "power" in doc else None
    if power is not None and "power" in channels:
        raise _err(path, "power", "power is both mapped in [channels] and derived in [power]", "keep one of them")
    profile = Profile(doc["model"], doc["name"], path, hashlib.sha256(raw).hexdigest(), frozen_dbcs,
                      MappingProxyType(channels), power)
    integrity = doc.get("integrity", [])
    if not isinstance(integrity, list):
        raise _err(path, "integrity", "must be an array of tables", "write [[integrity]]")
    if integrity and not dbcs:
        raise _err(path, "integrity", "integrity checks need a DBC", "add [[dbc]] or remove [[integrity]]")
    checks = tuple(_integrity(path, i, e, profile) for i, e in enumerate(integrity))
    log.debug("profile %s: %d DBCs, %d channels, %d integrity checks", path, len(dbcs), len(channels), len(checks))
    return Profile(profile.model, profile.name, path, profile.sha256, frozen_dbcs, profile.channels, power, checks)

