"""Race tracks as corners on a distance line, and the speed a car can carry round them.

A lap's speed profile comes from two passes over a 1 m distance grid: backwards from every corner apex at the
car's braking limit, and forwards at the lesser of its traction and power limits (less aerodynamic drag). Pit
lanes cap the speed near the start/finish line on in- and out-laps, and the pit box is a point of zero speed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Corner", "Track", "TRACKS", "LapKind", "lap_profile"]

GRAVITY = 9.81
PIT_SPEED_KMH = 60.0
PIT_LANE_M = 350.0


@dataclass(frozen=True, slots=True)
class Corner:
    name: str
    apex_m: float        # distance of the apex from the start/finish line
    speed_kmh: float     # apex speed of a GT3 car


@dataclass(frozen=True, slots=True)
class Track:
    id: str
    name: str
    length_m: float
    corners: tuple[Corner, ...]
    latitude: float      # for the logger's GPS
    longitude: float
    ambient_mbar: float  # typical ambient pressure at the circuit (altitude)


# Approximate geometry: corner positions and GT3 apex speeds are estimates, good for realistic lap times.
TRACKS = {t.id: t for t in [
    Track("brands_hatch_gp", "Brands Hatch Grand Prix Circuit", 3908.0, (
        Corner("Paddock Hill Bend", 420.0, 150.0), Corner("Druids", 780.0, 75.0),
        Corner("Graham Hill Bend", 1050.0, 105.0), Corner("Surtees", 1520.0, 120.0),
        Corner("Hawthorn Bend", 2100.0, 165.0), Corner("Westfield", 2420.0, 150.0),
        Corner("Sheene Curve", 2800.0, 140.0), Corner("Stirlings", 3150.0, 85.0),
        Corner("Clearways", 3520.0, 115.0), Corner("Clark Curve", 3720.0, 160.0)),
        51.3566, 0.2630, 1006.0),
    Track("misano", "Misano World Circuit Marco Simoncelli", 4226.0, (
        Corner("Variante del Parco", 520.0, 85.0), Corner("Rio", 1000.0, 100.0),
        Corner("Quercia", 1600.0, 80.0), Corner("Tramonto", 1950.0, 95.0),
        Corner("Curvone", 2500.0, 215.0), Corner("Carro", 2950.0, 90.0),
        Corner("Misano", 3550.0, 110.0), Corner("Brutapela", 3900.0, 85.0)),
        43.9614, 12.6836, 1012.0),
]}


class LapKind:
    FLYING = "flying"
    OUT = "out"          # leaves the pit box at distance 0
    IN = "in"            # stops in the pit box at the end of the lap
    IN_OUT = "in_out"    # both (a one-lap stint)


def lap_profile(track: Track, kind: str, *, power_w: float, mass_kg: float, cda_m2: float,
                apex_scale: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Speed (m/s) on a 1 m grid for one lap, and the time (s) at each grid point from the lap's start.

    ``apex_scale`` (one factor per corner) varies the driver's apex speeds from lap to lap.
    """
    n = int(round(track.length_m)) + 1
    cap = np.full(n, 1e3)
    scale = np.ones(len(track.corners)) if apex_scale is None else apex_scale
    for corner, k in zip(track.corners, scale, strict=True):
        cap[int(corner.apex_m)] = corner.speed_kmh * k / 3.6
    flying = cap.copy()
    pit = PIT_SPEED_KMH / 3.6
    from_pit = kind in (LapKind.OUT, LapKind.IN_OUT)
    to_pit = kind in (LapKind.IN, LapKind.IN_OUT)
    if from_pit:
        cap[: int(PIT_LANE_M)] = np.minimum(cap[: int(PIT_LANE_M)], pit)
        cap[0] = 0.0
    if to_pit:
        cap[n - int(PIT_LANE_M):] = np.minimum(cap[n - int(PIT_LANE_M):], pit)
        cap[-1] = 0.0
    # a lap joins the flying laps around it: solve with one flying lap before (unless it starts in the pit box)
    # and one after (unless it ends there), and keep the lap itself
    before = 0 if from_pit else n - 1
    parts = ([] if from_pit else [flying[:-1]]) + [cap] + ([] if to_pit else [flying[1:]])
    caps = np.concatenate(parts)
    v = caps.copy()
    brake = 1.7 * GRAVITY
    for i in range(len(v) - 2, -1, -1):             # braking: v_i <= sqrt(v_{i+1}^2 + 2 a ds)
        lim = (v[i + 1] * v[i + 1] + 2.0 * brake) ** 0.5
        if v[i] > lim:
            v[i] = lim
    grip = 1.1 * GRAVITY
    rho_cda = 0.5 * 1.2 * cda_m2
    if not from_pit:                                 # the flying lap before starts at its own end speed
        v[0] = min(v[0], v[n - 1])
    for i in range(len(v) - 1):                      # traction/power limited acceleration
        vi = max(v[i], 1.0)
        a = min(grip, power_w / (mass_kg * vi)) - (rho_cda * vi * vi + 0.015 * mass_kg * GRAVITY) / mass_kg
        lim = (v[i] * v[i] + 2.0 * max(a, 0.0)) ** 0.5
        if v[i + 1] > lim:
            v[i + 1] = lim
    v = v[before: before + n].copy()
    vm = np.maximum(0.5 * (v[1:] + v[:-1]), 0.3)
    t = np.concatenate([[0.0], np.cumsum(1.0 / vm)])
    return v, t
