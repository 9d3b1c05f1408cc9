"""Base model for OSCAR's JSON: keys match case-insensitively, null means unset, extras are dropped.

OSCAR decodes service JSON with Go's ``encoding/json``, which matches keys without regard to case
and ignores unknown keys. Clients rely on that (oscar-cli sends ``environment.Variables``,
cwl-oscar ``environment.variables``), so Sluice reads JSON the same way.
"""

import logging
import types
from typing import Any, ClassVar, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

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
            where = ".".join(str(part) for part in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "missing":
                message = "is required"
            lines.append(f"{where}: {message}" if where else message)
        raise Invalid(f"invalid {what}: " + "\n".join(lines)) from None
