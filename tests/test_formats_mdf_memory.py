"""Reading an MF4 bus log in chunks holds about one data block and one chunk, not the file: the traced peak of a
log four times longer is about the same."""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

from telemetry.formats import open_log
from telemetry.simulate.writers.mf4 import write_mf4_bus

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_formats_mdf_records import START, _frames  # noqa: E402


def _peak_mb(path: Path) -> tuple[float, int]:
    tracemalloc.start()
    try:
        frames = 0
        with open_log(path) as lf:
            for chunk in lf.chunks(max_frames=1 << 14):
                frames += len(chunk)
        return tracemalloc.get_traced_memory()[1] / 1e6, frames
    finally:
        tracemalloc.stop()


def test_peak_memory_does_not_grow_with_the_log(tmp_path):
    short, long = tmp_path / "short.mf4", tmp_path / "long.mf4"
    write_mf4_bus(short, _frames(200_000), START, compression=2)
    write_mf4_bus(long, _frames(800_000), START, compression=2)
    short_mb, n_short = _peak_mb(short)
    long_mb, n_long = _peak_mb(long)
    assert (n_short, n_long) == (200_000, 800_000)
    records_mb = 800_000 * 84 / 1e6                 # what a whole-file read of the long log holds, at least
    assert long_mb < 1.3 * short_mb + 2, (short_mb, long_mb)
    assert long_mb < records_mb / 2, (long_mb, records_mb)
