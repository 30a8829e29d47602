import numpy as np
import pytest

from telemetry.frames import FLAG_EXTENDED, FLAG_FD, Finding, Frames, concat_frames, empty_frames


def _frames(n: int, width: int = 8) -> Frames:
    return Frames(np.arange(n, dtype=np.float64), np.zeros(n, np.uint8), np.arange(n, dtype=np.uint32),
                  np.full(n, FLAG_EXTENDED, np.uint8), np.full(n, width, np.uint8), np.ones((n, width), np.uint8))


def test_concat_widens_payload_to_widest_part():
    a, b = _frames(2, 8), _frames(3, 64)
    joined = concat_frames([a, b])
    assert len(joined) == 5 and joined.data.shape == (5, 64)
    assert joined.data[0, 8:].sum() == 0 and joined.data[4, 63] == 1


def test_mismatched_columns_are_refused():
    f = _frames(2)
    with pytest.raises(ValueError, match="rows instead of 2"):
        Frames(f.timestamp, f.bus[:1], f.arbitration_id, f.flags, f.length, f.data)


def test_flag_views():
    f = _frames(2)
    assert f.is_extended.all() and not f.is_fd.any()
    assert FLAG_FD == 8


def test_finding_dict_omits_unset_places():
    assert Finding("truncated", "tail cut").to_dict() == {"kind": "truncated", "detail": "tail cut"}
    assert Finding("skipped_line", "bad", line=4, count=3).to_dict()["count"] == 3


def test_empty_frames_has_zero_rows():
    assert len(empty_frames()) == 0 and empty_frames(64).data.shape == (0, 64)
