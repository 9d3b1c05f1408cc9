"""Reading request bodies with errors that say what is wrong."""

import json
from typing import Any

from fastapi import Request

from sluice.errors import Invalid


async def read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise Invalid("the request body is empty; send the service definition as JSON")
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise Invalid("the request body is not UTF-8 text; send JSON") from None
    except json.JSONDecodeError as exc:
        raise Invalid(
            f"the request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
