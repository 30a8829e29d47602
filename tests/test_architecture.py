"""The house rules of docs/DESIGN.md, read from the source: which package may import which, no import circle, no
module over 600 lines. Every import counts, including those inside functions (a lazy import is still an arrow).
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("telemetry", "dbc", "compliance", "dashboard")
MAX_LINES = 600

#: room -> the rooms it may import (besides itself and the outside world). A room is a package of the tree; the
#: longest matching prefix decides. ``compliance.errors`` (the error root) and ``compliance.config`` are the floor.
ALLOWED = {
    "telemetry": set(),
    "dbc": {"telemetry"},
    "compliance.errors": set(),
    "compliance.config": {"compliance.errors", "dbc"},       # where the packaged profiles are
    "compliance.bop": {"compliance.errors", "telemetry"},      # the canonical channels and units
    "compliance.judge": {"telemetry", "compliance.errors", "compliance.bop"},
    "compliance.analysis": {"telemetry", "compliance.errors", "compliance.bop", "compliance.judge"},
    "compliance.store": {"telemetry", "compliance.errors", "compliance.config", "compliance.bop", "compliance.judge",
                         "compliance.analysis"},
    "compliance.ingest": {"telemetry", "dbc", "compliance.errors", "compliance.config", "compliance.bop",
                          "compliance.judge", "compliance.store", "compliance.analysis"},
    "compliance.reports": {"telemetry", "compliance.errors", "compliance.bop", "compliance.judge",
                           "compliance.store", "compliance.analysis"},
    "compliance.access": {"telemetry", "compliance.errors", "compliance.config", "compliance.bop",
                          "compliance.judge", "compliance.store", "compliance.ingest", "compliance.reports",
                          "compliance.analysis"},
    "compliance.live": {"telemetry", "compliance.errors", "compliance.bop", "compliance.judge"},
    "compliance.preflight": {"telemetry", "compliance.errors", "compliance.bop", "compliance.judge"},  # logger-check
    "compliance.cli": {"telemetry", "dbc", "compliance", "dashboard"},
    "compliance": {"compliance.errors"},            # compliance/__init__.py itself
    "dashboard": {"compliance.access", "compliance.reports", "compliance.errors"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports (a ``from pkg import sub`` of a submodule counts as the submodule)."""
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [f"{mod}.{alias.name}" if f"{mod}.{alias.name}" in known else mod for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def _room(module: str) -> str:
    best = ""
    for room in ALLOWED:
        if (module == room or module.startswith(room + ".")) and len(room) > len(best):
            best = room
    return best


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    sources = _sources()
    known = set(sources)
    return {name: _imports(name, path, known) for name, path in sources.items()}


def _allowed(source: str, target: str) -> bool:
    src, dst = _room(source), _room(target)
    if not src or not dst or src == dst:
        return True
    # a package's __init__ re-exporting its own modules, or a module using its package's errors, is inside the room
    if dst.startswith(src + ".") or src.startswith(dst + "."):
        return src != "compliance" or dst == "compliance.errors"
    return any(dst == room or dst.startswith(room + ".") for room in ALLOWED[src])


def test_each_room_imports_only_the_rooms_below_it(graph):
    wrong = sorted(f"{s} -> {t}" for s, targets in graph.items() for t in targets if not _allowed(s, t))
    assert not wrong, "imports against the direction of docs/DESIGN.md:\n" + "\n".join(wrong)


def test_the_judge_never_imports_the_store_the_reports_or_the_cli(graph):
    banned = ("compliance.store", "compliance.ingest", "compliance.reports", "compliance.access", "compliance.cli")
    wrong = sorted(f"{s} -> {t}" for s, targets in graph.items() if s.startswith("compliance.judge")
                   for t in targets if t.startswith(banned))
    assert not wrong, "\n".join(wrong)


def test_the_dashboard_goes_through_access_and_the_report_renderers_only(graph):
    wrong = sorted(f"{s} -> {t}" for s, targets in graph.items() if s.startswith("dashboard")
                   for t in targets if t.startswith("compliance")
                   and not t.startswith(("compliance.access", "compliance.reports", "compliance.errors")))
    assert not wrong, "\n".join(wrong)


def test_no_import_circle(graph):
    # Tarjan's strongly connected components; a package's __init__ importing its own modules is not a circle
    def edges(node: str) -> set[str]:
        return {t for t in graph.get(node, ()) if not (node + ".").startswith(t + ".")}

    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges(node):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert not circles, "import circles: " + "; ".join(" <-> ".join(c) for c in circles)


def test_no_module_over_600_lines():
    long = sorted(f"{p.relative_to(ROOT)}: {n}" for p in _sources().values()
                  if (n := len(p.read_text().splitlines())) > MAX_LINES)
    assert not long, f"modules over {MAX_LINES} lines (split them by job):\n" + "\n".join(long)


def test_the_checker_sees_a_forbidden_import():
    assert not _allowed("compliance.judge.rules", "compliance.store.schema")
    assert not _allowed("dashboard.app", "compliance.store.schema")
    assert _allowed("compliance.store.schema", "compliance.judge.verdict")
    assert _allowed("dashboard.app", "compliance.access.queries")
