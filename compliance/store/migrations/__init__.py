"""The store's schema, as an ordered list of named migrations (one module ``mNNNN_<name>.py`` each, holding
``NAME`` and ``SQL``). A migration once committed is never edited: the store records the SHA-256 of each applied
migration's SQL and refuses to open when the code's text differs. Change the schema by adding a module."""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
import re
from dataclasses import dataclass

__all__ = ["Migration", "MIGRATIONS"]


@dataclass(frozen=True, slots=True)
class Migration:
    id: int
    name: str
    sql: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def _discover() -> tuple[Migration, ...]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        match = re.fullmatch(r"m(\d{4})_(\w+)", info.name)
        if not match:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.append(Migration(int(match.group(1)), module.NAME, module.SQL))
    found.sort(key=lambda m: m.id)
    ids = [m.id for m in found]
    if ids != list(range(1, len(ids) + 1)):
        raise RuntimeError(f"compliance/migrations: migration ids must be 1..n without gaps, found {ids}")
    return tuple(found)


MIGRATIONS: tuple[Migration, ...] = _discover()
