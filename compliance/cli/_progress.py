"""Adapts the library's plain progress callback ``progress(done, total, what)`` to a terminal bar."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Progress = Callable[[int, int | None, str], None]


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Progress | None]:
    """Yield a callback drawing a rich progress bar on stderr, or ``None`` when stderr is not a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as RichProgress

    with RichProgress(TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(),
                      transient=True, console=None) as bar:
        task = bar.add_task("", total=None)

        def update(done: int, total: int | None, what: str) -> None:
            bar.update(task, completed=done, total=total, description=what)

        yield update
