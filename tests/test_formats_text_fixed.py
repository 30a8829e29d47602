"""The fixed-width fast path of the text readers (``telemetry/formats/_fixed.py``) reads exactly what the token
path reads: same frames, same findings (skipped lines with their numbers), on regular fixed-column logs with
one- and two-character damage in random places (the damaged line keeps its length, so it stays in the fixed
path's group and must be told apart there), and on every corpus text log."""

from __future__ import annotations

import random

import numpy as np
import pytest

import telemetry.formats._fixed as fixed
import telemetry.formats._text as text
from telemetry.formats import open_log

MAX_FRAMES = 1000       # 64 KiB blocks: several blocks per file, so names seen in one block are known in the next
POOL = " \t\r\x0b\x01xX#.()-GgRrTtdD0189AaFf\xe9;"


def _read(path, *, fast: bool):
    """(frames columns, findings) of ``path`` with the fixed path on (every line length) or off."""
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(fixed, "MIN_LINES", 2)
        if not fast:
            mp.setattr(text, "fixed_groups", lambda *a: iter(()))
        used = []
        with open_log(path) as lf:
            real = type(lf)._fast_fixed

            def spy(self, lines):
                got = real(self, lines)
                used.append(0 if got is None else int(np.count_nonzero(got[1] & lines.ok)))
                return got

            mp.setattr(type(lf), "_fast_fixed", spy)
            chunks = list(lf.chunks(MAX_FRAMES))
            findings = list(lf.findings)
    finally:
        mp.undo()
    cols = {k: np.concatenate([getattr(c, k) for c in chunks]) for k in
            ("timestamp", "bus", "arbitration_id", "flags", "length")}
    width = max([c.data.shape[1] for c in chunks] + [8])
    cols["data"] = np.concatenate([np.pad(c.data, ((0, 0), (0, width - c.data.shape[1]))) for c in chunks])
    return cols, findings, sum(used)


def assert_same_reading(path):
    ours, ours_findings, used = _read(path, fast=True)
    theirs, their_findings, _ = _read(path, fast=False)
    for k in ours:
        assert ours[k].shape == theirs[k].shape, (k, ours[k].shape, theirs[k].shape)
        bad = np.flatnonzero((ours[k] != theirs[k]).reshape(len(ours[k]), -1).any(axis=1)) if len(ours[k]) else []
        assert not len(bad), f"{path.name}: {k} differs at frame {bad[:5]}: {ours[k][bad[:5]]} != {theirs[k][bad[:5]]}"
    assert ours_findings == their_findings
    return used


def _damage(lines: list[str], rng: random.Random, share: float = 0.15) -> list[str]:
    """Replace one or two characters (never the newline) in ``share`` of the frame lines."""
    out = []
    for line in lines:
        if line[:1] not in (";", "d", "b", "B", "E", "i", "/") and rng.random() < share:
            chars = list(line)
            for _ in range(rng.choice((1, 1, 2))):
                chars[rng.randrange(len(chars))] = rng.choice(POOL)
            line = "".join(chars)
        out.append(line)
    return out


def _ids(rng):
    return [rng.choice((rng.randrange(0x800), rng.randrange(0x20000000))) for _ in range(40)]


def _asc_lines(rng, n, trailer=False):
    ids = _ids(rng)
    lines = ["date Sat Jun 27 09:00:00.000 am 2026", "base hex  timestamps absolute", "internal events logged",
             "Begin Triggerblock Sat Jun 27 09:00:00.000 am 2026", "   0.000000 Start of measurement"]
    for i in range(n):
        ident = ids[i % len(ids)]
        name = f"{ident:X}x" if ident > 0x7FF else f"{ident:X}"
        dlc = 8 if i % 7 else rng.randrange(9)
        data = " ".join(f"{rng.randrange(256):02X}" for _ in range(dlc))
        tail = f"  Length = {rng.randrange(100, 300)} BitCount = {rng.randrange(40, 140)}" if trailer else ""
        lines.append(f"{i * 0.00137:11.6f} {1 + i % 2}  {name:<15} Rx   d {dlc:X} {data}{tail}")
    return lines + ["End TriggerBlock"]


def _trc_lines(rng, n, version="2.1"):
    ids = _ids(rng)
    if version == "2.1":
        lines = [";$FILEVERSION=2.1", ";$STARTTIME=46200.375", ";$COLUMNS=N,O,T,B,I,d,R,L,D", ";"]
    else:
        lines = [";$FILEVERSION=1.1", ";$STARTTIME=46200.375", ";"]
    for i in range(n):
        ident = ids[i % len(ids)]
        name = f"{ident:08X}" if ident > 0x7FF else f"{ident:04X}"
        dlc = 8 if i % 5 else rng.randrange(9)
        data = " ".join(f"{rng.randrange(256):02X}" for _ in range(dlc))
        if version == "2.1":
            kind = rng.choice(("DT", "DT", "DT", "FD", "RR"))
            lines.append(f"{i + 1:>7} {i * 0.37:13.3f} {kind}  {1 + i % 2:<5} {name:<8} Rx -  {dlc:<4} {data}")
        else:
            lines.append(f"{i + 1:>6}) {i * 0.37:11.1f}  Rx     {name:>8}  {dlc}  {data}")
    return lines


def _candump_lines(rng, n):
    ids = _ids(rng)
    lines = []
    for i in range(n):
        ident = ids[i % len(ids)]
        name = f"{ident:08X}" if ident > 0x7FF else f"{ident:03X}"
        data = "".join(f"{rng.randrange(256):02X}" for _ in range(8 if i % 6 else rng.randrange(9)))
        lines.append(f"({1782550800 + i * 0.0013:.6f}) {('can0', 'can1', 'vcan', 'can2')[i % 4] if i % 97 else 'can12'} {name}#{data}")
    return lines


CASES = {
    "asc": (".asc", lambda rng: _asc_lines(rng, 4000)),
    "asc_trailer": (".asc", lambda rng: _asc_lines(rng, 3000, trailer=True)),
    "trc21": (".trc", lambda rng: _trc_lines(rng, 4000)),
    "trc11": (".trc", lambda rng: _trc_lines(rng, 4000, "1.1")),
    "candump": (".log", lambda rng: _candump_lines(rng, 5000)),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("seed", [1, 2])
def test_fixed_path_reads_damaged_lines_like_the_token_path(tmp_path, case, seed):
    suffix, make = CASES[case]
    rng = random.Random(f"{case}-{seed}")
    lines = _damage(make(rng), rng)
    path = tmp_path / f"{case}{suffix}"
    path.write_bytes(("\r\n" if seed == 2 else "\n").join(lines).encode("latin-1") + b"\n")
    used = assert_same_reading(path)
    assert used > len(lines) // 2, f"the fixed path read only {used} of {len(lines)} lines"


@pytest.mark.parametrize("case", sorted(CASES))
def test_fixed_path_reads_undamaged_lines(tmp_path, case):
    suffix, make = CASES[case]
    lines = make(random.Random(case))
    path = tmp_path / f"{case}{suffix}"
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    used = assert_same_reading(path)
    assert used > len(lines) * 0.6     # candump: the first block names the interfaces on the token path


def test_fixed_path_on_corpus_text_logs(corpus_dir):
    paths = [p for p in sorted(corpus_dir.rglob("*")) if p.is_file() and p.suffix.lower() in (".asc", ".trc", ".log")]
    assert paths
    for path in paths:
        try:
            assert_same_reading(path)
        except Exception as err:    # a file both paths refuse must be refused the same way
            if isinstance(err, AssertionError):
                raise
            with pytest.raises(type(err)):
                _read(path, fast=False)
