"""Small HTML building blocks shared by the check report and the steward report."""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["escape", "table"]


def escape(x: object) -> str:
    """``x`` as HTML text (``None`` as empty)."""
    return html.escape("" if x is None else str(x))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int] = frozenset()) -> str:
    """A table; ``rows`` hold ready HTML, columns in ``numeric`` are right-aligned (class ``num``)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td class='num'>{c}</td>" if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
