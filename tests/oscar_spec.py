"""OSCAR's OpenAPI (Swagger 2.0) description, and checks of real answers against it."""

import hashlib
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

# OSCAR's REST API description (v4.1.2, from grycap/oscar's gh-pages branch) is reference
# material kept beside the project, not in it: SLUICE_OSCAR_SPEC names it, or the shared folder.
SPEC_PATH = Path(
    os.environ.get("SLUICE_OSCAR_SPEC")
    or Path(__file__).resolve().parents[2] / "shared" / "reference" / "oscar-openapi.yaml"
)

# Fields OSCAR leaves out when empty (Go's omitempty) or that Sluice documents as not reported;
# every other field of a definition must be present in an answer.
OPTIONAL: dict[str, set[str]] = {
    "types.Info": {"serverless_backend"},
    "types.Config": {"serverless_backend"},
    "types.Service": {
        "federation",
        "script",
        "image_pull_secrets",
        "storage_providers",
        "clusters",
        "namespace",
        "volume",
        "deployment",
        "kserve",
    },
    "types.Expose": {"api_port", "nodePort", "auth_type", "probe_mode"},
    "types.StorageIOConfig": {"suffix", "prefix", "options"},
    "types.ServiceVolumeConfig": {"name", "lifecycle_policy"},
    "types.ServiceVolumeStatus": {"name", "phase", "error"},
    "types.ServiceDeploymentSummary": {"reason", "last_transition_time", "resource_kind"},
    "types.ServiceDeploymentStatus": {"namespace", "reason", "last_transition_time"},
    "types.DeploymentLogStream": {"message"},
    "types.DeploymentLogEntry": {"timestamp"},
    "types.NodeResource": {
        "capacity_cores",
        "usage_cores",
        "request_cores",
        "capacity_bytes",
        "usage_bytes",
        "request_bytes",
    },
    "types.JobInfo": {"creation_time", "start_time", "finish_time"},
    "types.JobsResponse": {"next_page", "remaining_jobs"},
    # Sluice does not report MinIO's quota and usage of a bucket (Go: omitempty pointers).
    "utils.MinIOBucket": {"objects", "storage_quota", "storage_usage", "attribution"},
    "buckets.BucketListResponse": {"next_page", "storage_quota", "storage_usage", "attribution"},
    "utils.MinIOObject": {"owner", "last_modified"},
    "buckets.PresignResponse": {"headers"},
    "types.ManagedVolume": {
        "namespace",
        "pvc_name",
        "size",
        "owner_user",
        "created_by_service",
        "creation_mode",
        "lifecycle_policy",
        "attachments",
    },
    "types.VolumeStatus": {"phase", "message", "attachment_count"},
    "types.SourceStatus": {"last_updated", "notes"},
    "types.ServiceMetricValue": {"unit"},
    "types.MetricValueResponse": {"unit"},
    # OSCAR's breakdown items differ by group: only these two are always there.
    "types.BreakdownItem": {
        "membership",
        "executions_count",
        "requests_count_total",
        "requests_count_sync",
        "requests_count_async",
        "requests_count_exposed",
        "unique_users_count",
        "users",
    },
}

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


SPEC_SHA256 = "cc5cef1f9283c0af31aaeac56787e06f2753e50d94939b63d6564abf6ef98bf5"


@cache
def spec() -> dict[str, Any]:
    if not SPEC_PATH.exists():
        pytest.skip(
            f"OSCAR's OpenAPI description is not at {SPEC_PATH}; set SLUICE_OSCAR_SPEC",
            allow_module_level=True,
        )
    data = SPEC_PATH.read_bytes()
    found = hashlib.sha256(data).hexdigest()
    assert found == SPEC_SHA256, f"{SPEC_PATH} is not OSCAR v4.1.2's description (sha256 {found})"
    loaded: dict[str, Any] = yaml.safe_load(data)
    return loaded


def operations() -> set[tuple[str, str]]:
    """Every (method, path) the spec describes."""
    return {
        (method, path)
        for path, item in spec()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "delete")
    }


def operation(method: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = spec()["paths"][path][method]
    return found


def schema_errors(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """Where ``value`` breaks ``schema``: wrong types, missing fields, nulls."""
    name = ""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec()["definitions"][name]
    if "allOf" in schema:
        return schema_errors(value, schema["allOf"][0], where)
    if value is None:
        return [f"{where}: null where the spec has {schema.get('type', name or 'a value')}"]
    kind = schema.get("type", "object" if "properties" in schema else "")
    if kind and not _is(value, kind):
        return [f"{where}: {type(value).__name__} where the spec has {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} is not one of {schema['enum']}"]
    if kind == "array":
        return [
            e
            for i, item in enumerate(value)
            for e in schema_errors(item, schema.get("items", {}), f"{where}[{i}]")
        ]
    if kind != "object":
        return []
    errors = []
    properties: dict[str, Any] = schema.get("properties", {})
    if name:
        missing = set(properties) - set(value) - OPTIONAL.get(name, set())
        errors += [f"{where}: {name} lacks {field!r}" for field in sorted(missing)]
    for field, sub in properties.items():
        if field in value:
            errors += schema_errors(value[field], sub, f"{where}.{field}")
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, item in value.items():
            errors += schema_errors(item, extra, f"{where}[{key!r}]")
    return errors


def _is(value: Any, kind: str) -> bool:
    if isinstance(value, bool) and kind in ("integer", "number"):
        return False
    return isinstance(value, _TYPES[kind])
