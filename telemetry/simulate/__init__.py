"""The GT car simulator: tracks, car models, BoP-calibrated driving, CAN encoding, injections and log writers.

Deterministic from a seed; vectorised with numpy. ``simulate_log`` writes one session's log and returns its
ground truth; ``generate_event`` writes the whole sample event (see docs/simulator.md).
"""
