"""Base model for OSCAR's JSON: keys match case-insensitively, null means unset, extras are dropped.

OSCAR decodes service JSON with Go's ``encoding/json``, which matches keys without regard to case
and ignores unknown keys. Clients rely on that (oscar-cli sends ``environment.Variables``,
cwl-oscar ``environment.variables``), so Sluice reads JSON the same way.

Every value is also checked where it enters: text (map keys included) must be UTF-8 without NUL
characters, numbers finite. A lone surrogate (JSON's ``"\\ud800"``) or ``Infinity`` would be
stored, then fail every listing that writes it back out.
"""

import logging
import math
import re
import types
from typing import Any, ClassVar, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from sluice.errors import Invalid

log = logging.getLogger(__name__)


def _document_factory_defaults(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Show every default in the OpenAPI schema: pydantic leaves out factories and ``None``."""
    properties = schema.get("properties", {})
    for name, field in model.model_fields.items():
        if name in properties and not field.is_required() and field.default is None:
            properties[name]["default"] = None
        if field.default_factory is not None and name in properties:
            default = field.default_factory()  # type: ignore[call-arg]
            if isinstance(default, BaseModel):
                default = default.model_dump(mode="json")
            properties[name]["default"] = default


class WireModel(BaseModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra=_document_factory_defaults)

    _key_lookup: ClassVar[dict[str, str] | None] = None

    @classmethod
    def _lookup(cls) -> dict[str, str]:
        if cls.__dict__.get("_key_lookup") is None:
            lookup: dict[str, str] = {}
            for name, field in cls.model_fields.items():
                lookup[name.lower()] = name
                if field.alias:
                    lookup[field.alias.lower()] = field.alias
            cls._key_lookup = lookup
        return cls.__dict__["_key_lookup"]  # type: ignore[no-any-return]

    @model_validator(mode="before")
    @classmethod
    def _match_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        lookup = cls._lookup()
        matched: dict[str, Any] = {}
        for key, value in data.items():
            target = lookup.get(str(key).lower())
            if target is None:
                log.info("ignoring unknown field %r in %s", key, cls.__name__)
            elif value is not None:
                matched[target] = value
        return matched

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        problem = value_problem(value)
        if problem:
            raise ValueError(problem)
        return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored and sent back as UTF-8 JSON (and passed to a process)."""
    if "\x00" in text:
        return "contains a NUL character"
    if _SURROGATE.search(text):
        return "is not valid UTF-8 text (it contains a lone surrogate)"
    return None


def value_problem(value: Any) -> str | None:
    """What in ``value`` cannot be stored, as ``['key'][0] contains a NUL character``; None
    when all is well. Walks lists and maps without recursion; nested models checked themselves.
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        where, item = stack.pop()
        problem = None
        if isinstance(item, str):
            problem = text_problem(item)
        elif isinstance(item, float) and not math.isfinite(item):
            problem = f"is {item}, not a finite number"
        elif isinstance(item, dict):
            for key, child in item.items():
                key_problem = text_problem(key) if isinstance(key, str) else None
                if key_problem:
                    return f"{where + ': ' if where else ''}the name {_shown(key)} {key_problem}"
                stack.append((f"{where}[{_shown(key)}]", child))
        elif isinstance(item, list | tuple):
            stack.extend((f"{where}[{index}]", child) for index, child in enumerate(item))
        if problem:
            return f"{where} {problem}" if where else problem
    return None


def error_location(loc: tuple[int | str, ...]) -> str:
    """``input.0.path`` for a validation error; map keys in it are the user's text, so they are
    shown escaped (a lone surrogate could not even be written in the answer)."""
    parts = (str(part) for part in loc)
    return ".".join(
        part if part.isprintable() and len(part) <= 40 else _shown(part) for part in parts
    )


def _shown(key: Any) -> str:
    """A map key as it can be shown in a message: quoted, escaped, cut to 40 characters."""
    text = repr(key)
    return text if len(text) <= 40 else text[:37] + "..."


def unknown_fields(model: type[WireModel], data: Any, where: str = "") -> list[str]:
    """Dotted paths of the keys in ``data`` that ``model`` (and its nested models) ignore, such
    as ``memroy`` or ``input.0.pathh``: most likely typos, reported as warnings."""
    if not isinstance(data, dict):
        return []
    lookup = model._lookup()
    found: list[str] = []
    for key, value in data.items():
        path = f"{where}{key}"
        target = lookup.get(str(key).lower())
        if target is None:
            found.append(path)
            continue
        field = model.model_fields.get(target)
        if field is not None and value is not None:
            found.extend(_unknown_in(field.annotation, value, path))
    return found


def _unknown_in(annotation: Any, value: Any, path: str) -> list[str]:
    origin, args = get_origin(annotation), get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, WireModel):
        return unknown_fields(annotation, value, f"{path}.")
    if origin in (Union, types.UnionType):
        models = [arg for arg in args if isinstance(arg, type) and issubclass(arg, WireModel)]
        return _unknown_in(models[0], value, path) if models else []
    if origin is list and args and isinstance(value, list):
        return [
            p for i, item in enumerate(value) for p in _unknown_in(args[0], item, f"{path}.{i}")
        ]
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return [p for k, item in value.items() for p in _unknown_in(args[1], item, f"{path}.{k}")]
    return []


Model = TypeVar("Model", bound=BaseModel)


def parse_wire(model: type[Model], data: Any, what: str) -> Model:
    """Validate decoded JSON as ``model``; the Invalid error names every wrong field."""
    if not isinstance(data, dict):
        raise Invalid(f"{what} must be a JSON object, not {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = error_location(error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "missing":
                message = "is required"
            lines.append(f"{where}: {message}" if where else message)
        raise Invalid(f"invalid {what}: " + "\n".join(lines)) from None
