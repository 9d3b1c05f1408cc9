"""YAML for FDL files: PyYAML's safe loader with limits a hostile or careless file cannot pass.

A "billion laughs" (aliases of aliases, nine deep) composes in a moment but expands to 10^9
values once anything walks it; a recursive anchor (``&a [*a]``) never ends; nesting thousands
of levels deep overflows the composer's recursion; a date such as ``2024-13-45`` or a 5000-digit
integer raises a bare ``ValueError``. Each is refused here as a ``MarkedYAMLError`` at its line.
Client side: imports nothing of the server.
"""

import math
from typing import Any, cast

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError, SafeConstructor

MAX_DEPTH = 64
MAX_VALUES = 100_000  # after aliases are expanded: a "billion laughs" stops here
_FLOAT_TAG = "tag:yaml.org,2002:float"


class BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with limits: nesting depth, recursive aliases and the number of
    values aliases expand to, each refused at the line where it happens."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._open: set[str] = set()
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) and event.anchor in self._open:
            raise _composer_error(f"alias *{event.anchor} is used inside its own anchor", event)
        if self._depth >= MAX_DEPTH:
            raise _composer_error(f"values are nested more than {MAX_DEPTH} levels deep", event)
        anchor = getattr(event, "anchor", None)
        self._depth += 1
        if anchor is not None:
            self._open.add(anchor)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open.discard(anchor)
        if node is not None and self._size(node) > MAX_VALUES:
            raise _composer_error(f"aliases expand to more than {MAX_VALUES} values", event)
        return node

    def _size(self, node: yaml.Node) -> int:
        """Values under ``node`` with aliases expanded; its children are already counted."""
        known = self._sizes.get(id(node))
        if known is None:
            children: list[Any] = node.value if not isinstance(node, yaml.ScalarNode) else []
            flat = (
                [c for pair in children for c in pair]
                if isinstance(node, yaml.MappingNode)
                else children
            )
            known = 1 + sum(self._sizes.get(id(child), 1) for child in flat)
            self._sizes[id(node)] = known
        return known


def _composer_error(problem: str, event: yaml.Event) -> yaml.MarkedYAMLError:
    return ComposerError(None, None, problem, cast(yaml.Mark, event.start_mark))


class Constructor(SafeConstructor):
    """Values that cannot be built (``2024-13-45`` as a date, ``.inf``) are refused with their
    position, not raised as a bare ValueError."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except yaml.MarkedYAMLError:
            raise
        except (ValueError, TypeError, OverflowError) as exc:
            shown = _shown(node.value) if isinstance(node, yaml.ScalarNode) else "this value"
            reason = str(exc).split(";")[0]  # not Python's hint on sys.set_int_max_str_digits
            raise ConstructorError(
                None, None, f"{shown} cannot be read: {reason}", node.start_mark
            ) from exc

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise ConstructorError(
                None, None, f"{node.value} is not a finite number", node.start_mark
            )
        return value


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 30 else repr(text[:27]) + "..."


Constructor.add_constructor(_FLOAT_TAG, Constructor.construct_yaml_float)  # type: ignore[type-var]
