"""Reading request bodies with errors that say what is wrong.

JSON is read strictly: ``NaN``, ``Infinity`` and numbers out of a double's range (``1e400``)
are refused, as JSON itself refuses them (Python's decoder would take them, store them, and
then fail to write them back out); so are nesting deeper than ``MAX_JSON_DEPTH`` and integers
of more than ``MAX_INTEGER_DIGITS`` digits.
"""

import json
import math
from typing import Any

from fastapi import Request

from sluice.errors import Invalid

MAX_JSON_DEPTH = 64
MAX_INTEGER_DIGITS = 100


class _NotJson(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotJson(f"{text[:40]} is out of range for a number")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _NotJson(f"{text[:20]}... has more than {MAX_INTEGER_DIGITS} digits")
    return int(text)


def parse_json(raw: bytes | str, what: str = "the request body") -> Any:
    """Decode JSON text, or raise ``Invalid`` saying what is wrong with it."""
    try:
        value = json.loads(
            raw,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except UnicodeDecodeError:
        raise Invalid(f"{what} is not UTF-8 text; send JSON") from None
    except json.JSONDecodeError as exc:
        raise Invalid(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise Invalid(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except _NotJson as exc:  # NaN, 1e400, an integer of 101 digits
        raise Invalid(f"{what} is not valid JSON: {exc}") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise Invalid(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _depth(value: Any) -> int:
    """How deeply lists and objects nest (0 for a scalar), without recursion."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


async def read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise Invalid("the request body is empty; send the service definition as JSON")
    return parse_json(raw)
