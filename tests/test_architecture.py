"""The layout's rules, checked on the source: who may import Ray, MLflow and torch, and no cycles.

Every import counts, also one inside a function or under ``if TYPE_CHECKING:``: a lazy import
is still a dependency, and a cycle through one is still a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("searcher", "search_spaces", "trials", "dashboards")
HEAVY = ("torch", "ray", "mlflow")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every module name an import statement in the file names (absolute imports only)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _project_edges() -> dict[str, set[str]]:
    """Module -> the project modules it imports (a package's __init__ is its own module)."""
    edges: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        targets = set()
        for name in _imports(path):
            parts = name.split(".")
            for end in range(len(parts), 0, -1):
                candidate = ".".join(parts[:end])
                if candidate in MODULES:
                    if candidate != module:
                        targets.add(candidate)
                    break
        edges[module] = targets
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_between_modules() -> None:
    assert _cycle(_project_edges()) is None


def test_no_import_cycle_between_top_level_packages() -> None:
    packages: dict[str, set[str]] = {p: set() for p in PACKAGES}
    for module, targets in _project_edges().items():
        top = module.split(".")[0]
        packages[top].update(t.split(".")[0] for t in targets if t.split(".")[0] != top)
    assert _cycle(packages) is None, packages


def _importers_of(library: str) -> set[str]:
    return {
        module
        for module, path in MODULES.items()
        if any(name == library or name.startswith(library + ".") for name in _imports(path))
    }


def test_only_engine_imports_ray() -> None:
    outside = {m for m in _importers_of("ray") if not m.startswith("searcher.engine.")}
    assert outside == set()


def test_only_tracking_imports_mlflow() -> None:
    outside = {m for m in _importers_of("mlflow") if not m.startswith("searcher.tracking.")}
    assert outside == set()


def test_engine_imports_nothing_of_tracking() -> None:
    """The controller wires the tracking sink in; the engine only publishes events."""
    engine = {m: t for m, t in _project_edges().items() if m.startswith("searcher.engine")}
    found = {
        m: sorted(t for t in ts if t.startswith("searcher.tracking")) for m, ts in engine.items()
    }
    assert {m: ts for m, ts in found.items() if ts} == {}


def test_search_spaces_import_no_engine_tracker_or_torch() -> None:
    for library in HEAVY:
        assert {m for m in _importers_of(library) if m.startswith("search_spaces")} == set()


def test_trials_and_dashboards_import_no_ray_or_mlflow() -> None:
    for library in ("ray", "mlflow"):
        found = {m for m in _importers_of(library) if m.split(".")[0] in ("trials", "dashboards")}
        assert found == set()


LIGHT_COMMANDS = {
    "import searcher": "import searcher",
    "import searcher.cli": "import searcher.cli",
    "--help": "from searcher.cli import cli; cli(['--help'], standalone_mode=False)",
    "validate": (
        "from searcher.cli import cli; "
        "cli(['validate', 'spaces/adam_cnn.yaml'], standalone_mode=False)"
    ),
    "sample": (
        "from searcher.cli import cli; "
        "cli(['sample', 'spaces/adam_cnn.yaml', '-n', '5'], standalone_mode=False)"
    ),
    "validate a conditional space": (
        "from searcher.cli import cli; "
        "cli(['validate', 'spaces/optimizers.yaml'], standalone_mode=False)"
    ),
    "sample a conditional space": (
        "from searcher.cli import cli; "
        "cli(['sample', 'spaces/optimizers.yaml', '-n', '5'], standalone_mode=False)"
    ),
}


@pytest.mark.parametrize("name", sorted(LIGHT_COMMANDS))
def test_light_commands_import_no_torch_ray_or_mlflow(name: str) -> None:
    code = (
        f"{LIGHT_COMMANDS[name]}\n"
        "import sys\n"
        f"print('LOADED', sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "LOADED []"


def test_no_submodule_shadows_a_function_of_the_api() -> None:
    """`import searcher.x` sets the attribute `searcher.x` to the module: a module named like
    an API function (searcher.resume was one) would replace that function after first use."""
    import pkgutil

    import searcher

    modules = {m.name for m in pkgutil.iter_modules(searcher.__path__)}
    assert modules & set(searcher.__all__) == set()
