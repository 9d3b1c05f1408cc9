"""The folder tree is the architecture: no module imports a layer above its own, and the
client side imports nothing of the server side."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "sluice"

# Lowest first. A module may import its own package and anything in a lower layer only.
LAYERS: list[set[str]] = [
    {"errors", "net"},
    {"domain"},
    {"settings", "datadir", "admin", "capacity", "procs", "diskspace", "supervision", "crypto"},
    {"storage", "state"},
    {"runtimes"},
    {"supervisor", "workers"},
    {"execution"},
    {"core"},
    {"triggers"},
    {"api"},
    {"server"},
]
CLIENT_SIDE = {"client", "cli", "fdl", "fdl_yaml"}
# Client-side modules that import only errors and domain, which the API may use too: the web
# UI's "drop an FDL file" loads it as `sluice apply` does.
SHARED_WITH_API = {"fdl", "fdl_yaml"}
SERVER_ENTRY = "cli/up.py"  # `sluice up` is where the command line starts the server
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _part(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "sluice" or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p.parent != SRC or p.stem not in {"__init__"})


def _own_part(path: Path) -> str:
    relative = path.relative_to(SRC)
    return relative.parts[0].removesuffix(".py")


def test_every_package_has_a_layer() -> None:
    parts = {_own_part(path) for path in _modules()} - {"__main__", "__init__"}
    assert parts <= set(RANK) | CLIENT_SIDE, parts - set(RANK) - CLIENT_SIDE


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_import_runs_up_a_layer(path: Path) -> None:
    own = _own_part(path)
    if own in {"__main__", "__init__"}:
        return
    for module in _imports(path):
        target = _part(module)
        if target is None or target == own:
            continue
        if str(path.relative_to(SRC)) == SERVER_ENTRY and target in {"server", "settings"}:
            continue
        if own in CLIENT_SIDE:
            assert target in CLIENT_SIDE or target in {"errors", "domain"}, (
                f"{path.name} (client side) imports {module}"
            )
            continue
        if own == "api" and target in SHARED_WITH_API:
            continue
        assert target in RANK, f"{path.name} imports {module}, a client-side module"
        assert RANK[target] < RANK[own], f"{own}/{path.name} imports {module}, a layer above"
