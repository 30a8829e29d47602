"""Start ``bopwatch dashboard`` as its own process and wait until it answers (browser tests, leak harness)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO


@dataclass(frozen=True, slots=True)
class Server:
    proc: subprocess.Popen
    base: str
    port: int
    log_file: IO[bytes]

    def stop(self) -> None:
        """SIGTERM (``bopwatch dashboard`` exec'd Streamlit: this is the server itself), SIGKILL after 15 s."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log_file.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_dashboard(db: Path, accounts: Path, folder: Path, *, timeout_s: float = 90, **env: str) -> Server:
    """``bopwatch dashboard --db DB --accounts A`` on a free port, cwd and ``server.log`` in ``folder``; ``env`` is
    added to this process's environment. Raises ``AssertionError`` with the log's tail when it does not start."""
    port = free_port()
    log_file = open(folder / "server.log", "wb")  # noqa: SIM115 - closed by Server.stop
    bopwatch = Path(sys.executable).with_name("bopwatch")
    proc = subprocess.Popen([str(bopwatch), "dashboard", "--db", str(db), "--port", str(port), "--accounts",
                             str(accounts)], cwd=folder, stdout=log_file, stderr=subprocess.STDOUT,
                            env=dict(os.environ, **env))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return Server(proc, base, port, log_file)
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log_file.close()
            raise AssertionError(f"the dashboard did not start: {(folder / 'server.log').read_text()[-2000:]}")
        time.sleep(0.3)
