"""Shared fixtures: where the third-party corpus and the sample event live."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLE_LOGS = ROOT / "sample_logs"


def _corpus_dir() -> Path | None:
    env = os.environ.get("BOPWATCH_CORPUS")
    for candidate in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "corpus"]:
        if candidate.is_dir():
            return candidate
    return None


CORPUS = _corpus_dir()


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if CORPUS is None:
        pytest.skip("../shared/corpus is absent (set BOPWATCH_CORPUS to its path to run corpus tests)")
    return CORPUS


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def sample_logs() -> Path:
    return SAMPLE_LOGS


@pytest.fixture(scope="session", autouse=True)
def _private_audit_key(tmp_path_factory):
    """Stores written by the tests (and the commands they start) sign their audit rows with a key of this test run,
    never the operator's ``~/.config/bopwatch/audit.key``."""
    if not os.environ.get("BOPWATCH_AUDIT_KEY_FILE") and not os.environ.get("BOPWATCH_AUDIT_KEY"):
        os.environ["BOPWATCH_AUDIT_KEY_FILE"] = str(tmp_path_factory.mktemp("audit-key") / "audit.key")


@pytest.fixture(autouse=True)
def _keep_main_module():
    """Streamlit's AppTest leaves the app script as ``sys.modules["__main__"]``; a process pool started later in the
    same worker (forkserver children re-import ``__main__``) would then run the dashboard inside its workers and
    break. Each test gets the ``__main__`` it started with back."""
    main = sys.modules.get("__main__")
    yield
    if main is not None and sys.modules.get("__main__") is not main:
        sys.modules["__main__"] = main
