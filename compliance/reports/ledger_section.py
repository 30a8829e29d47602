"""The sanctions ledger in the steward report (SPEC §5, :mod:`compliance.store.ledger`): for the report's session,
per car and rule infringed here, which infringing session of the event this is (``n``), the step of the event's
ladder it reaches and the earlier infringing sessions. Built from the store with the report; rendered by
:mod:`compliance.reports.steward_html` and :mod:`compliance.reports.steward_pdf` through the functions below."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from ..store.ledger import event_ledger
from ._html import escape as _e
from ._html import table as _table

__all__ = ["LedgerRow", "LedgerSection", "session_ledger", "to_html", "to_pdf", "TITLE", "HEADERS"]

TITLE = "Sanctions ledger (event ladder, SPEC 5)"
HEADERS = ("car", "rule", "n (infringing session of the event)", "sanction per the ladder",
           "earlier infringing sessions")
_PDF_WIDTHS = (20.0, 40.0, 50.0, 62.0, 95.0)
NO_LADDER = "no ladder for this rule: the stewards decide"


@dataclass(frozen=True, slots=True)
class LedgerRow:
    car: str
    rule: str
    n: int
    sanction: str | None
    earlier: tuple[str, ...]        # the car's earlier infringing sessions of this rule, in event order

    def to_dict(self) -> dict[str, Any]:
        return {"car": self.car, "rule": self.rule, "n": self.n, "sanction": self.sanction,
                "earlier": list(self.earlier)}


@dataclass(frozen=True, slots=True)
class LedgerSection:
    session: str
    rows: tuple[LedgerRow, ...]
    ladders: Mapping[str, tuple[str, ...]] | None      # None: the store holds no [sanctions] for the event

    def to_dict(self) -> dict[str, Any]:
        return {"session": self.session, "ladders": None if self.ladders is None else
                {r: list(s) for r, s in self.ladders.items()}, "entries": [r.to_dict() for r in self.rows]}

    @property
    def note(self) -> str:
        if self.ladders is None:
            return ("The event file gave no [sanctions]: infringements are counted over the event, the sanction is "
                    "the stewards' to decide.")
        ladders = "; ".join(f"{rule}: {' > '.join(steps)}" for rule, steps in self.ladders.items())
        return (f"Ladders ({ladders}); the n-th infringing session of a car gets step n, the last step repeats. "
                "Counted over the latest verdict of each session, in session start order.")


def session_ledger(conn: duckdb.DuckDBPyConnection, event: str, session: str,
                   car: str | None = None) -> LedgerSection:
    """The ledger rows of ``session`` (of ``car`` only when given), read inside the report's connection."""
    ledger = event_ledger(conn, event, cars=[car] if car else None)
    rows = []
    for e in ledger.entries:
        if e.session == session:
            earlier = tuple(x.session for x in ledger.entries if x.car == e.car and x.rule == e.rule and x.n < e.n)
            rows.append(LedgerRow(e.car, e.rule, e.n, e.sanction, earlier))
    return LedgerSection(session, tuple(rows), ledger.ladders)


def _cells(section: LedgerSection) -> list[list[str]]:
    return [[r.car, r.rule, str(r.n), r.sanction or NO_LADDER, ", ".join(r.earlier) or "none"]
            for r in section.rows]


def to_html(section: LedgerSection | None) -> str:
    """The section as HTML (empty without a section)."""
    if section is None:
        return ""
    body = (_table(list(HEADERS), [[_e(c) for c in row] for row in _cells(section)], {2}) if section.rows
            else f"<p>No car infringed a rule in {_e(section.session)}.</p>")
    return f"<h2>{_e(TITLE)}</h2><p>{_e(section.note)}</p>{body}"


def to_pdf(pdf: Any, section: LedgerSection | None, *, heading: Callable[..., None], para: Callable[..., None],
           table: Callable[..., None]) -> None:
    """The section on ``pdf`` with the report's own heading, paragraph and table helpers."""
    if section is None:
        return
    heading(pdf, TITLE, 11)
    para(pdf, section.note)
    if section.rows:
        table(pdf, list(HEADERS), _cells(section), _PDF_WIDTHS)
    else:
        para(pdf, f"No car infringed a rule in {section.session}.")
