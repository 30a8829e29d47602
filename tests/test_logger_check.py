"""``bopwatch logger-check`` on python-can's ``virtual`` interface, in-process: a sender thread plays a short
simulated BMW M4 GT3 log (two buses: the SRO logger's bus 0 and the ECU's bus 1) at 1x with its own time stamps
(``preserve_timestamps``, as an adapter's hardware time stamps), while the check listens; each fault in its own
test finds its item red and exits 1."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

can = pytest.importorskip("can")

from compliance.cli import main  # noqa: E402
from telemetry.formats import read_frames  # noqa: E402
from telemetry.frames import Frames  # noqa: E402
from telemetry.simulate.injections import Injection  # noqa: E402
from telemetry.simulate.run import SimConfig, simulate_log  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "dbc" / "bmw_m4_gt3.toml"
BULLETIN = ROOT / "sample_logs" / "bulletins" / "gtwce-2026-brh-v1.toml"
SECONDS = "4"

# (bus, arbitration id) of the messages the faults act on (dbc/sro_gt3_logger.dbc, dbc/bmw_m4_gt3_ecu.dbc)
LOG_PRESSURES = (0, 0x110)
LOG_FUEL = (0, 0x111)
LOG_IMU = (0, 0x120)
ECU_WHEELSPEEDS = (1, 0x1A0)
LOG_AMBIENT = (0, 0x180)


def _simulate(tmp: Path, name: str, injections=()) -> Frames:
    out = tmp / f"{name}.blf"
    simulate_log(SimConfig("bmw_m4_gt3", out, duration_s=10.0, start_in_pit=False, message_set="logged",
                           injections=tuple(injections), seed=3))
    return read_frames(out)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Frames:
    return _simulate(tmp_path_factory.mktemp("logger_check"), "clean")


@pytest.fixture(scope="module")
def frozen_boost(tmp_path_factory) -> Frames:
    return _simulate(tmp_path_factory.mktemp("logger_check_frozen"), "frozen",
                     [Injection("frozen", {"channel": "boost_pressure", "at": [0.0], "duration": 10.0})])


def _of(frames: Frames, message: tuple[int, int]) -> np.ndarray:
    bus, ident = message
    return (frames.bus == bus) & (frames.arbitration_id == ident)


class _Player:
    """Plays ``frames`` onto virtual channels ``<name>0``, ``<name>1`` at 1x, stamped with their log times."""

    def __init__(self, frames: Frames, errors_on: int | None = None, errors: int = 0):
        self.name = f"lc-{uuid.uuid4().hex[:8]}-"
        self.frames = frames
        self.errors_on, self.errors = errors_on, errors
        self.stop = threading.Event()
        self.buses = [can.Bus(interface="virtual", channel=self.channel(k), preserve_timestamps=True)
                      for k in range(2)]
        self.thread = threading.Thread(target=self._run, daemon=True)

    def channel(self, k: int) -> str:
        return f"{self.name}{k}"

    def _run(self) -> None:
        f = self.frames
        t0 = time.time() + 0.05
        i, n, errors_sent = 0, len(f), 0
        while i < n and not self.stop.is_set():
            now = time.time() - t0
            j = int(np.searchsorted(f.timestamp, now, side="right"))
            for r in range(i, j):
                self.buses[int(f.bus[r])].send(can.Message(
                    timestamp=t0 + float(f.timestamp[r]), arbitration_id=int(f.arbitration_id[r]),
                    is_extended_id=False, data=bytes(f.data[r, :int(f.length[r])])))
            if self.errors_on is not None and errors_sent < self.errors and now > 0.5 + 0.05 * errors_sent:
                self.buses[self.errors_on].send(can.Message(timestamp=time.time(), is_error_frame=True,
                                                            arbitration_id=0, data=b""))
                errors_sent += 1
            i = j
            time.sleep(0.001)

    def __enter__(self) -> _Player:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(5)
        for bus in self.buses:
            bus.shutdown()


def _check(capsys, frames: Frames, *extra: str, **player) -> tuple[int, dict]:
    with _Player(frames, **player) as p:
        code = main(["logger-check", "--interface", "virtual", "--channel", p.channel(0), "--channel",
                     p.channel(1), "--profile", str(PROFILE), "--seconds", SECONDS, "--bitrate", "500000",
                     "--json", *extra])
    out = capsys.readouterr().out
    return code, json.loads(out)


def _red(result: dict) -> set[tuple[str, str]]:
    return {(i["item"], i["subject"]) for i in result["items"] if i["status"] == "red"}


def test_clean_logger_is_all_green_and_exits_0(capsys, clean):
    code, result = _check(capsys, clean)
    assert _red(result) == set(), [i for i in result["items"] if i["status"] == "red"]
    assert code == 0 and result["result"] == "green"
    kinds = {i["item"] for i in result["items"]}
    assert kinds == {"present", "raster", "range", "frozen", "integrity", "bus_load", "error_frames"}
    frozen = {i["subject"]: i["status"] for i in result["items"] if i["item"] == "frozen"}
    assert frozen["boost_pressure"] == "green" and "ambient_pressure" not in frozen   # exempt, as in quality


def test_missing_channel_is_red_and_exits_1(capsys, clean):
    code, result = _check(capsys, clean.select(~_of(clean, LOG_FUEL)))
    assert code == 1 and result["result"] == "red"
    assert _red(result) == {("present", "fuel_flow")}
    item = next(i for i in result["items"] if i["item"] == "present" and i["subject"] == "fuel_flow")
    assert "LOG_Fuel" in item["detail"] and "0x111" in item["detail"]


def test_message_at_half_its_raster_is_red(capsys, clean):
    wheels = np.flatnonzero(_of(clean, ECU_WHEELSPEEDS))
    keep = np.ones(len(clean), bool)
    keep[wheels[1::2]] = False                          # every other frame: 40 ms instead of the DBC's 20 ms
    code, result = _check(capsys, clean.select(keep))
    assert code == 1
    assert _red(result) == {("raster", "1:ECU_WheelSpeeds")}
    item = next(i for i in result["items"] if i["subject"] == "1:ECU_WheelSpeeds")
    assert item["values"]["cycle_ms"] == 20 and 36 <= item["values"]["median_ms"] <= 44


def test_frozen_boost_while_rpm_varies_is_red(capsys, frozen_boost):
    code, result = _check(capsys, frozen_boost)
    assert code == 1
    assert _red(result) == {("frozen", "boost_pressure")}
    item = next(i for i in result["items"] if i["item"] == "frozen" and i["subject"] == "boost_pressure")
    assert "stuck" in item["detail"] and "engine_speed" in item["detail"]


def test_rolling_counter_skip_is_red(capsys, clean):
    pressures = np.flatnonzero(_of(clean, LOG_PRESSURES))
    t = clean.timestamp[pressures]
    drop = pressures[np.searchsorted(t, [1.0, 2.0, 3.0, 4.0])]   # one frame each second: the counter skips a value
    keep = np.ones(len(clean), bool)
    keep[drop] = False
    code, result = _check(capsys, clean.select(keep))
    assert code == 1
    assert _red(result) == {("integrity", "0:LOG_Pressures")}
    item = next(i for i in result["items"] if i["subject"] == "0:LOG_Pressures" and i["item"] == "integrity")
    assert item["values"]["counter_skips"] >= 1 and item["values"]["checksum_failures"] == 0


def test_value_outside_the_dbc_range_is_red(capsys, clean):
    data = clean.data.copy()
    ambient = _of(clean, LOG_AMBIENT)
    data[ambient, 0], data[ambient, 1] = 0x98, 0x3A   # AmbientPressure raw 15000: 1500 mbar, the DBC says 0..1200
    code, result = _check(capsys, Frames(clean.timestamp, clean.bus, clean.arbitration_id, clean.flags,
                                         clean.length, data, clean.start))
    assert code == 1
    assert _red(result) == {("range", "ambient_pressure")}
    item = next(i for i in result["items"] if i["item"] == "range" and i["subject"] == "ambient_pressure")
    assert item["values"]["max"] == pytest.approx(1500.0) and item["values"]["dbc_max"] == 1200


def test_error_frames_over_the_threshold_are_red(capsys, clean):
    code, result = _check(capsys, clean, errors_on=1, errors=20)
    assert code == 1
    assert _red(result) == {("error_frames", "bus 1")}


def test_bulletin_limits_the_check_to_the_channels_its_rules_need(capsys, clean):
    without_imu = clean.select(~_of(clean, LOG_IMU))   # accelerations: no rule of the bulletin reads them
    code, result = _check(capsys, without_imu, "--bulletin", str(BULLETIN))
    assert code == 0, _red(result)
    assert result["bulletin"]
    assert "long_accel" not in result["needed"] and "boost_pressure" in result["needed"]


def test_json_output_shape(capsys, clean):
    code, result = _check(capsys, clean)
    assert code == 0
    assert list(result) == ["result", "interface", "channels", "seconds", "bitrate", "frames", "start", "profile",
                            "bulletin", "needed", "counts", "items"]
    assert result["interface"] == "virtual" and len(result["channels"]) == 2 and result["bitrate"] == 500000
    assert result["profile"]["model"] == "bmw_m4_gt3" and result["bulletin"] is None
    assert result["frames"] > 1000 and result["counts"]["red"] == 0
    assert sum(result["counts"].values()) == len(result["items"])
    for item in result["items"]:
        assert set(item) <= {"item", "subject", "status", "detail", "values"}
        assert item["status"] in ("green", "red", "skip") and item["detail"]
    load = [i for i in result["items"] if i["item"] == "bus_load"]
    assert [i["subject"] for i in load] == ["bus 0", "bus 1"] and all(0 < i["values"]["load"] < 0.8 for i in load)


def test_text_output_one_line_per_item(capsys, clean):
    with _Player(clean) as p:
        code = main(["logger-check", "--interface", "virtual", "--channel", p.channel(0), "--channel",
                     p.channel(1), "--profile", str(PROFILE), "--seconds", "3"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[-1].startswith("logger-check GREEN: all ")
    assert all(line.split()[0] in ("GREEN", "RED", "SKIP") for line in out[:-1])


def test_bad_interface_exits_2_with_one_stderr_line(capsys):
    code = main(["logger-check", "--interface", "no_such_interface", "--channel", "x", "--profile", str(PROFILE),
                 "--seconds", "1"])
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert code == 2
    assert len(lines) == 1
    assert lines[0].startswith("bopwatch logger-check: error: ")
    assert "cannot open CAN bus no_such_interface:x" in lines[0] and "Unknown interface" in lines[0]
    assert captured.out == ""


def test_bad_profile_exits_2(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('model = "x"\n[channels]\nengine_speed = "Nope.Signal"\n')
    code = main(["logger-check", "--interface", "virtual", "--channel", "unused", "--profile", str(bad),
                 "--seconds", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("bopwatch logger-check: error:")
