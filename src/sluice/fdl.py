"""FDL files as oscar-cli reads them, loaded on the client side with source positions.

An FDL holds ``functions.oscar``: a list of single-key maps ``{cluster-id: service}``, plus
optional top-level ``storage_providers`` and ``clusters`` that are copied into every service.
Imports nothing from the server side.
"""

import copy
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sluice.fdl_yaml import BoundedLoader, Constructor

DEFAULT_CLUSTER_KEY = "default-cluster"
# One problem per line: "<field.path>: <message>", maybe after "invalid service '<name>': ".
_FIELD_LINE = re.compile(
    r"""^(?:invalid service(?: '[^']*'| "[^"]*")?:\s*)?([A-Za-z_][\w.\[\]-]*):\s*(.+)$"""
)
_SHARED_KEYS = ("storage_providers", "clusters")


class FdlError(Exception):
    """An FDL file is wrong; the message names the file, line, column and field."""


@dataclass(frozen=True)
class _Located:
    """A YAML node's position, 1-based, as a prefix like ``fdl.yaml:3:5``."""

    source: str
    mark: yaml.Mark | None

    def prefix(self, with_column: bool = True) -> str:
        if self.mark is None:
            return self.source
        where = f"{self.source}:{self.mark.line + 1}"
        return f"{where}:{self.mark.column + 1}" if with_column else where

    def error(self, field_path: str, message: str) -> FdlError:
        return FdlError(f"{self.prefix()}: {field_path}: {message}")


@dataclass(frozen=True)
class FdlService:
    """One service of an FDL: its target cluster key and the definition ready to send."""

    cluster_id: str
    definition: dict[str, Any]
    source: str
    node: yaml.MappingNode = field(repr=False, compare=False)
    key_node: yaml.Node = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        return str(self.definition["name"])

    def line_of(self, path: str) -> int | None:
        """The 1-based line of a field such as ``memory`` or ``input.0.path``; None if absent."""
        mark, _, exact = _find(self.node, split_field(path))
        return mark.line + 1 if exact else None

    def location(self, path: str = "") -> str:
        """``file:line`` of the field, or of its closest ancestor present in the file."""
        mark, _, _ = _find(self.node, split_field(path))
        return _Located(self.source, mark).prefix(with_column=False)


@dataclass(frozen=True)
class Fdl:
    path: Path
    services: list[FdlService]


def split_field(path: str) -> list[str]:
    """``input[0].path`` and ``input.0.path`` alike become ``["input", "0", "path"]``."""
    return [part for part in re.split(r"[.\[\]]+", path) if part]


def _find(node: yaml.Node, parts: list[str]) -> tuple[yaml.Mark, yaml.Node, bool]:
    """Where ``parts`` leads: the position (a key's, for mapping entries), the node, and
    whether it was found; when it was not, the deepest ancestor found."""
    mark = node.start_mark
    for part in parts:
        child = _child(node, part)
        if child is None:
            return mark, node, False
        mark, node = child
    return mark, node, True


def _child(node: yaml.Node, part: str) -> tuple[yaml.Mark, yaml.Node] | None:
    if isinstance(node, yaml.SequenceNode):
        items: list[yaml.Node] = node.value
        if part.isdigit() and int(part) < len(items):
            return items[int(part)].start_mark, items[int(part)]
        return None
    if not isinstance(node, yaml.MappingNode):
        return None
    pairs: list[tuple[yaml.Node, yaml.Node]] = node.value
    for key, value in pairs:
        if str(key.value) == part:
            return key.start_mark, value
    # The server may spell a key differently (environment.variables for Variables).
    for key, value in pairs:
        if str(key.value).casefold() == part.casefold():
            return key.start_mark, value
    return None


def load_fdl(path: Path, read_scripts: bool = True) -> Fdl:
    """Parse an FDL file. With ``read_scripts`` (the default) each ``script`` becomes its text."""
    source = str(path)
    root = _compose(path)
    if not isinstance(root, yaml.MappingNode):
        mark = root.start_mark if root is not None else None
        raise _Located(source, mark).error("(document)", "an FDL must be a mapping")
    data = _construct(source, root)
    items = _functions_list(source, root)
    shared = {k: data[k] for k in _SHARED_KEYS if isinstance(data.get(k), dict)}
    context = _Context(source, path.parent, shared, read_scripts)
    services = [_service(context, index, item) for index, item in enumerate(items.value)]
    return Fdl(path=path, services=services)


def _compose(path: Path) -> yaml.Node | None:
    text = _read_text(path, MAX_FDL_BYTES, "FDL file")
    budget = _TAB_FIX_BUDGET
    while True:
        try:
            return yaml.compose(text, Loader=BoundedLoader)
        except yaml.MarkedYAMLError as exc:
            fixed = _tab_as_space(text, exc)
            budget -= len(text)
            if fixed is None:
                raise _yaml_error(str(path), exc) from exc
            if budget < 0:
                where = _Located(str(path), exc.problem_mark).prefix()
                raise FdlError(
                    f"{where}: invalid YAML: too many tabs between tokens; use spaces"
                ) from exc
            text = fixed
        except yaml.YAMLError as exc:
            raise FdlError(f"{path}: invalid YAML: {exc}") from exc


def _read_text(path: Path, limit: int, what: str) -> str:
    """A UTF-8 file of at most ``limit`` bytes, read without taking more (a FIFO or
    ``/dev/zero`` given by mistake is refused, not read forever)."""
    try:
        with path.open("rb") as file:
            data = file.read(limit + 1)
        if len(data) > limit:
            raise FdlError(f"{path}: {what} is larger than {limit // 1024} KiB")
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FdlError(f"{path}: cannot read {what}: {exc}") from exc


MAX_FDL_BYTES = 256 * 1024
MAX_SCRIPT_BYTES = 1 << 20  # what the server takes
# Each tab PyYAML stops at costs a new parse of the whole text: at most this many characters.
_TAB_FIX_BUDGET = 8 * MAX_FDL_BYTES
_YAML_LINES = re.compile("[^\r\n\x85\u2028\u2029]*(?:\r\n|[\r\n\x85\u2028\u2029]|$)")
_TAB_PROBLEM = "found character '\\t' that cannot start any token"


def _tab_as_space(text: str, exc: yaml.MarkedYAMLError) -> str | None:
    """``text`` with the tabs PyYAML stopped at made spaces, where YAML 1.2 (and oscar-cli's
    parser) reads them as spaces: after a value (``log_level: CRITICAL\\t\\t``) or between
    tokens. Tabs that indent a line stay an error, as they are for oscar-cli. Positions stay
    the same, so later errors still point at the right line and column."""
    mark = exc.problem_mark
    if exc.problem != _TAB_PROBLEM or mark is None:
        return None
    lines = _YAML_LINES.findall(text)  # YAML's own line breaks, not all of str.splitlines'
    if mark.line >= len(lines):
        return None
    line = lines[mark.line]
    if not line[: mark.column].strip():
        return None  # indentation
    end = mark.column
    while end < len(line) and line[end] == "\t":
        end += 1
    lines[mark.line] = line[: mark.column] + " " * (end - mark.column) + line[end:]
    return "".join(lines)


def _construct(source: str, node: yaml.Node) -> Any:
    try:
        return Constructor().construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(source, exc) from exc


def _yaml_error(source: str, exc: yaml.MarkedYAMLError) -> FdlError:
    where = _Located(source, exc.problem_mark or exc.context_mark).prefix()
    if exc.problem == _TAB_PROBLEM:
        return FdlError(f"{where}: invalid YAML: a tab indents this line; indent with spaces")
    message = f"{where}: invalid YAML: {exc.problem or exc.context}"
    if exc.problem and exc.context:
        started = f" at line {exc.context_mark.line + 1}" if exc.context_mark else ""
        message += f" ({exc.context} started{started})"
    return FdlError(message)


def _functions_list(source: str, root: yaml.MappingNode) -> yaml.SequenceNode:
    mark, oscar, found = _find(root, ["functions", "oscar"])
    if not found or not isinstance(oscar, yaml.SequenceNode):
        raise _Located(source, mark).error("functions.oscar", "missing 'functions.oscar' list")
    return oscar


@dataclass(frozen=True)
class _Context:
    """What every service of one FDL file is loaded with."""

    source: str
    folder: Path
    shared: dict[str, Any]
    read_scripts: bool


def _service(context: _Context, index: int, item: yaml.Node) -> FdlService:
    source = context.source
    field_path = f"functions.oscar.{index}"
    if not isinstance(item, yaml.MappingNode) or len(item.value) != 1:
        raise _Located(source, item.start_mark).error(
            field_path, "expected a single-key map {cluster-id: service}"
        )
    key_node, node = item.value[0]
    cluster_id = str(key_node.value)
    if not isinstance(node, yaml.MappingNode):
        raise _Located(source, key_node.start_mark).error(
            f"{field_path}.{cluster_id}", "the service definition must be a mapping"
        )
    definition: dict[str, Any] = _construct(source, node)
    _check_name(source, node, definition)
    if context.read_scripts and not (definition.get("handler") and "script" not in definition):
        _embed_script(source, context.folder, node, definition)
    _resolve_pythonpath(context.folder, definition)
    _normalise(definition)
    _copy_shared(definition, context.shared)
    definition["cluster_id"] = cluster_id
    return FdlService(cluster_id, definition, source, node, key_node)


def _check_name(source: str, node: yaml.MappingNode, definition: dict[str, Any]) -> None:
    mark, _, found = _find(node, ["name"])
    if not found:
        raise _Located(source, mark).error("name", "missing 'name'")
    name = definition.get("name")
    if not isinstance(name, str) or not name:
        raise _Located(source, mark).error("name", "must be a non-empty string")


def _embed_script(
    source: str, folder: Path, node: yaml.MappingNode, definition: dict[str, Any]
) -> None:
    mark, _, found = _find(node, ["script"])
    where = _Located(source, mark)
    if not found:
        raise where.error("script", f"missing 'script' in service '{definition['name']}'")
    script = definition["script"]
    if not isinstance(script, str) or not script:
        raise where.error("script", "must be the path of a script file")
    resolved = (folder / Path(script).expanduser()).resolve()
    if not resolved.exists():
        raise where.error("script", f"script file not found: {resolved}")
    try:
        text = _read_text(resolved, MAX_SCRIPT_BYTES, "script file")
    except FdlError as exc:
        raise where.error("script", str(exc)) from exc
    definition["script"] = text.replace("\r\n", "\n")


def _resolve_pythonpath(folder: Path, definition: dict[str, Any]) -> None:
    """A handler service's ``pythonpath`` folders are relative to the FDL file, like scripts."""
    paths = definition.get("pythonpath")
    if isinstance(paths, str):
        paths = [paths]
    if isinstance(paths, list):
        definition["pythonpath"] = [
            str((folder / Path(str(entry)).expanduser()).resolve()) for entry in paths
        ]


def _normalise(definition: dict[str, Any]) -> None:
    cpu = definition.get("cpu")
    # oscar-python sends a numeric cpu as a string; the OSCAR API types it as a string.
    if isinstance(cpu, int | float) and not isinstance(cpu, bool):
        definition["cpu"] = str(cpu)


def _copy_shared(definition: dict[str, Any], shared: dict[str, Any]) -> None:
    """Top-level ``storage_providers``/``clusters`` go into each service; its own entries win."""
    for key, top in shared.items():
        own = definition.get(key)
        merged = copy.deepcopy(top)
        if isinstance(own, dict):
            for kind, entries in own.items():
                if isinstance(entries, dict) and isinstance(merged.get(kind), dict):
                    merged[kind] = {**merged[kind], **entries}
                else:
                    merged[kind] = entries
        definition[key] = merged


def resolve_cluster(service: FdlService, known: Collection[str], default: str | None) -> str:
    """The configured cluster an FDL key names (``default-cluster`` is the default one)."""
    key = service.cluster_id
    where = _Located(service.source, service.key_node.start_mark)
    if key == DEFAULT_CLUSTER_KEY:
        if default is None:
            raise where.error(key, "no default cluster is configured")
        return default
    if key not in known:
        configured = ", ".join(sorted(known)) or "none"
        raise where.error(
            key,
            f"unknown cluster (configured: {configured}); "
            "add it with `sluice cluster add` or pass --cluster",
        )
    return key


def locate_errors(service: FdlService, text: str) -> str:
    """Point each ``field: message`` line of a server's 400 text at the line that set the field.

    Lines that name no field of the service are kept, prefixed with the service's position.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()] or ["invalid service"]
    return "\n".join(_locate_line(service, line) for line in lines)


def _locate_line(service: FdlService, line: str) -> str:
    match = _FIELD_LINE.match(line)
    if match:
        field_path, message = match.groups()
        parts = split_field(field_path)
        if parts and service.line_of(parts[0]) is not None:
            return f"{service.location(field_path)}: {field_path}: {message}"
    return f"{service.location()}: service '{service.name}': {line}"
