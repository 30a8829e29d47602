"""The join rules as ``compliance.ingest.pipeline`` applies them to a car's stored session (``compliance.judge.outings`` holds
the rules): the window a session's logs must start in, the outing each new log goes to, and a refusal worded in
the files' own names with the advice that fits the join mode."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..judge.outings import DEFAULT_WINDOW_MARGIN_S, JoinRefused, SessionWindow
from ..store import schema as st
from .event_file import LogMeta

__all__ = ["NEW_OUTING_FIX", "session_window", "stored_outings", "renamer", "refusal", "by_outing", "plain"]


def session_window(ctx: Any, meta: LogMeta) -> SessionWindow | None:
    """The window a log of ``meta``'s session must start in: the event file's, else the session's start and end
    as the store holds them (written by an earlier ingest with the event file: the dashboard's uploads)."""
    info = ctx.event_info if ctx.event_info and ctx.event_info.event == meta.event else None
    if info is not None and info.window(meta.session) is not None:
        return info.window(meta.session)
    with ctx.store.reading() as conn:
        row = conn.execute("SELECT start_at, end_at FROM sessions WHERE event = ? AND session = ?",
                           [meta.event, meta.session]).fetchone()
    if row is None or (row[0] is None and row[1] is None):
        return None
    margin = info.window_margin_s if info is not None and info.window_margin_s is not None else \
        DEFAULT_WINDOW_MARGIN_S
    return SessionWindow(meta.session, row[0], row[1], margin)




def stored_outings(store: st.Store, event: str, session: str, car: str) -> dict[str, int]:
    """sha256 -> outing of every log stored for the car's session."""
    with store.reading() as conn:
        rows = conn.execute("SELECT sha256, coalesce(outing, 1) FROM logs WHERE event = ? AND session = ? "
                            "AND car = ?", [event, session, car]).fetchall()
    return dict(rows)


def renamer(paths: Sequence[Path], names: Sequence[str]) -> Callable[[str], str]:
    """Replace the stored originals' paths (and file names) in a message by the names the files came under."""
    pairs = sorted({**{str(p): n for p, n in zip(paths, names, strict=True)},
                    **{Path(p).name: n for p, n in zip(paths, names, strict=True)}}.items(),
                   key=lambda kv: -len(kv[0]))

    def rename(text: str) -> str:
        for old, new in pairs:
            text = text.replace(old, new)
        return text
    return rename


NEW_OUTING_FIX = ("if it is a new outing of the car, ingest it with --join new (the dashboard: 'start a new run'); "
                   "if it belongs to another session or car, file it there")


def refusal(err: Exception, rename: Callable[[str], str], join: str) -> JoinRefused | None:
    """A join error of the judge (``telemetry.errors.JoinError`` or :class:`JoinRefused`) in the files' own
    names, with the advice that fits the join mode; None for any other error."""
    from telemetry.errors import JoinError

    if isinstance(err, JoinError):
        problem = f"{rename(Path(err.second).name)} {rename(err.problem)}"
        fix = (NEW_OUTING_FIX if join != "new" else
               "a new outing's own files must not overlap or lie far apart: upload them one outing at a time")
        return JoinRefused(problem, kind=err.kind, fix=fix)
    if isinstance(err, JoinRefused):
        return JoinRefused(rename(err.problem), kind=err.kind, fix=err.fix)
    return None


def by_outing(items: list[tuple[int, Any]], known: Mapping[str, int],
               join: str) -> dict[int, list[tuple[int, Any]]]:
    """The outing each log goes to: a stored log stays in its own; a new one joins the latest outing (``auto``,
    ``add``) or opens the next (``new``; a sidecar's ``"join"`` wins for its log)."""
    latest = max(known.values(), default=0)
    parts: dict[int, list[tuple[int, Any]]] = {}
    for i, n in items:
        if n.sha256 in known:
            outing = known[n.sha256]
        elif (n.meta.join or join) == "new":
            outing = latest + 1
        else:
            outing = max(latest, 1)
        parts.setdefault(outing, []).append((i, n))
    return parts


def plain(problem: str, new: Any) -> str:
    """An error's sentence for a person at the dashboard: the stored original's name replaced by the log's."""
    for old in (str(new.stored), str(new.path), new.stored.name, new.path.name):
        problem = problem.replace(old, new.name)
    return problem
