"""``bopwatch live``: record a CAN bus to rolling BLF files and judge it as it runs (issue 18, docs/live.md).

Three parts: a reception thread that only reads the bus onto a bounded queue (``run``), a recorder that writes
rolling BLF files flushed every second (``recorder``), and a judge that decodes a bounded tail of frames and runs
the same rule code as ``check`` (``judge``). The final verdict is ``check`` of the recorded files.
"""

from .judge import LiveJudge
from .recorder import RollingRecorder
from .run import LiveRun

__all__ = ["LiveJudge", "LiveRun", "RollingRecorder"]
