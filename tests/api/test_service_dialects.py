"""Issue 2: raw bodies as oscar-cli and cwl-oscar send them, and JSON with oscar-cli's types."""

from typing import Any

import httpx
import pytest
from tests.sluice_process import SluiceProcess


def oscar_cli_body(name: str) -> dict[str, Any]:
    """oscar-cli v1.12 marshals every field of OSCAR v3.3.0's Service struct, nulls included."""
    return {
        "name": name,
        "cluster_id": "oscar-cluster",
        "memory": "512Mi",
        "cpu": "1.0",
        "total_memory": "",
        "total_cpu": "",
        "enable_gpu": False,
        "enable_sgx": False,
        "image_prefetch": False,
        "synchronous": {"min_scale": 0, "max_scale": 0},
        "delegation": "",
        "rescheduler_threshold": 0,
        "log_level": "CRITICAL",
        "image": "ghcr.io/grycap/cowsay",
        "alpine": False,
        "token": "",
        "file_stage_in": False,
        "input": None,
        "output": None,
        "script": "#!/bin/sh\necho hi\n",
        "expose": {
            "min_scale": 0,
            "max_scale": 0,
            "api_port": 0,
            "cpu_threshold": 0,
            "rewrite_target": False,
            "nodePort": 0,
            "default_command": False,
            "set_auth": False,
        },
        "environment": {"Variables": {"INPUT_TYPE": "json"}},
        "annotations": None,
        "vo": "",
        "labels": None,
        "storage_providers": {},
        "clusters": {
            "oscar-cluster": {
                "endpoint": "http://127.0.0.1:1",
                "auth_user": "oscar",
                "auth_password": "pw",
                "ssl_verify": False,
            }
        },
        "owner": "",
        "interlink_node_name": "",
        "allowed_users": None,
        "mount": {"storage_provider": "", "path": ""},
        "some_future_field": {"ignored": True},
    }


def cwl_oscar_body(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "memory": "1Gi",
        "cpu": "1.0",
        "image": "opensourcefoundries/minideb:jessie",
        "script": "#!/bin/bash\nbash $INPUT_FILE_PATH\n",
        "environment": {"variables": {"MOUNT_PATH": "/mnt/cwl-oscar/mount"}},
        "input": [{"storage_provider": "minio.default", "path": f"{name}/in"}],
        "output": [{"storage_provider": "minio.default", "path": f"{name}/out"}],
        "mount": {"storage_provider": "minio.default", "path": "/cwl-oscar/mount"},
    }


def assert_oscar_cli_types(service: dict[str, Any]) -> None:
    """The types oscar-cli v1.12 decodes strictly (its v3.3.0 structs)."""
    for key in ("name", "cpu", "memory", "total_cpu", "total_memory", "log_level", "image"):
        assert isinstance(service[key], str), key
    for key in ("token", "vo", "owner", "script"):
        assert isinstance(service[key], str), key
    assert len(service["token"]) == 64
    assert all(isinstance(service["synchronous"][k], int) for k in ("min_scale", "max_scale"))
    expose = service["expose"]
    assert isinstance(expose.get("api_port", 0), int)
    assert isinstance(expose.get("nodePort", 0), int)
    for key in ("annotations", "labels"):
        assert all(isinstance(v, str) for v in service[key].values()), key
    variables = service["environment"]["variables"]
    assert all(isinstance(v, str) for v in variables.values())
    assert isinstance(service["allowed_users"], list)
    assert isinstance(service["storage_providers"], dict)
    assert isinstance(service["storage_providers"]["minio"]["default"]["verify"], bool)
    for item in service["input"] + service["output"]:
        assert isinstance(item["path"], str) and isinstance(item["storage_provider"], str)


def test_oscar_cli_full_struct_roundtrip(http: httpx.Client) -> None:
    assert http.post("/system/services", json=oscar_cli_body("cli-svc")).status_code == 201
    service = http.get("/system/services/cli-svc").json()
    assert_oscar_cli_types(service)
    assert service["environment"]["variables"] == {"INPUT_TYPE": "json"}
    assert service["input"] == [] and service["annotations"] == {}
    assert service["log_level"] == "CRITICAL"
    assert service["clusters"]["oscar-cluster"]["endpoint"] == "http://127.0.0.1:1"
    assert "some_future_field" not in service

    body = oscar_cli_body("cli-svc")
    body["memory"] = "1Gi"
    body["expose"]["api_port"] = [0]  # OSCAR v4.1 writes ports as lists
    body["expose"]["nodePort"] = [0]
    assert http.put("/system/services", json=body).status_code == 204
    updated = http.get("/system/services/cli-svc").json()
    assert updated["memory"] == "1Gi"
    assert "api_port" not in updated["expose"]
    assert updated["token"] == service["token"]
    assert_oscar_cli_types(updated)


def test_cwl_oscar_dict(http: httpx.Client) -> None:
    assert (
        http.post("/system/services", json=cwl_oscar_body("clt-step-1a2b3c4d")).status_code == 201
    )
    service = http.get("/system/services/clt-step-1a2b3c4d").json()
    assert_oscar_cli_types(service)
    assert service["environment"]["variables"] == {"MOUNT_PATH": "/mnt/cwl-oscar/mount"}
    assert service["input"][0]["path"] == "clt-step-1a2b3c4d/in"
    listed = http.get("/system/services").json()
    assert any(item["name"] == "clt-step-1a2b3c4d" for item in listed)
    for item in listed:
        assert_oscar_cli_types(item)


def test_python_dialect_numbers_and_defaults(http: httpx.Client) -> None:
    body = {
        "name": "py-dialect",
        "cpu": 2,
        "script": "echo",
        "environment": {"variables": {"N": 3}},
    }
    assert http.post("/system/services", json=body).status_code == 201
    service = http.get("/system/services/py-dialect").json()
    assert service["cpu"] == "2"
    assert service["memory"] == "256Mi"
    assert service["log_level"] == "INFO"
    assert service["visibility"] == "private"
    assert service["environment"]["variables"] == {"N": "3"}


def test_secrets_are_hidden_and_kept(http: httpx.Client) -> None:
    body = {
        "name": "with-secret",
        "script": "echo",
        "environment": {"secrets": {"API_KEY": "sup3r-s3cret-value"}},
    }
    assert http.post("/system/services", json=body).status_code == 201
    service = http.get("/system/services/with-secret").json()
    assert service["environment"]["secrets"] == {"API_KEY": ""}
    assert "sup3r-s3cret-value" not in http.get("/system/services").text


BAD_BODIES = [
    ("{not json", "not valid JSON"),
    ('["a", "list"]', "JSON object"),
    ('{"name": "ok-name", "script": "echo", "memory": 5}', "memory"),
    ('{"name": "ok-name", "script": "echo", "cpu": "lots"}', "cpu"),
    ('{"name": "ok-name", "script": "echo", "memory": "0"}', "memory: must be more than zero"),
    ('{"name": "ok-name", "script": "echo", "input": [{"path": "B_x/in"}]}', "bucket name"),
    ('{"name": "ok-name", "script": "echo", "cpu": "0m"}', "cpu: must be more than zero"),
    ('{"name": "ok-name", "script": "echo", "input": "in"}', "input"),
    ('{"name": "ok-name", "script": "echo", "enable_gpu": "maybe"}', "enable_gpu"),
    ('{"name": "' + "x" * 40 + '", "script": "echo"}', "name"),
    ('{"name": "Bad_Name", "script": "echo"}', "name"),
    ('{"name": "no-script"}', "script"),
    ('{"script": "echo"}', "name"),
    (
        '{"name": "ok-name", "script": "echo", "output": [{"path": "b/o", '
        '"storage_provider": "s3.nowhere"}]}',
        "s3.nowhere",
    ),
    (
        '{"name": "ok-name", "script": "echo", "input": [{"path": "bkt/in"}], '
        '"output": [{"path": "bkt/in/out"}]}',
        "inside input path",
    ),
]


@pytest.mark.parametrize(("body", "named"), BAD_BODIES)
def test_bad_bodies_are_400_and_change_nothing(http: httpx.Client, body: str, named: str) -> None:
    before = http.get("/system/services").json()
    response = http.post(
        "/system/services", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert named in response.text
    assert http.get("/system/services").json() == before


def test_duplicate_create_is_409_and_bad_update_keeps_old(http: httpx.Client) -> None:
    body = {"name": "stable", "script": "echo one", "memory": "64Mi"}
    assert http.post("/system/services", json=body).status_code == 201
    assert http.post("/system/services", json=body).status_code == 409
    bad = {**body, "memory": "lots"}
    assert http.put("/system/services", json=bad).status_code == 400
    missing = {**body, "name": "not-there"}
    assert http.put("/system/services", json=missing).status_code == 404
    assert http.get("/system/services/stable").json()["memory"] == "64Mi"


@pytest.mark.parametrize("auth", [None, ("oscar", "wrong"), ("someone", "test-admin-password")])
def test_wrong_credentials_are_401(
    sluice_server: SluiceProcess, auth: tuple[str, str] | None
) -> None:
    response = httpx.get(f"{sluice_server.url}/system/services", auth=auth)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    bearer = httpx.get(
        f"{sluice_server.url}/system/services", headers={"Authorization": "Bearer " + "a" * 64}
    )
    assert bearer.status_code == 401


def test_openapi_documents_every_service_field(sluice_server: SluiceProcess) -> None:
    schema = httpx.get(f"{sluice_server.url}/openapi.json").json()
    service = schema["components"]["schemas"]["Service"]
    for name, field in service["properties"].items():
        assert field.get("description"), f"{name} has no description"
        # FastAPI drops ``"default": null`` from the document; nullable fields default to null.
        nullable = {"type": "null"} in field.get("anyOf", [])
        assert "default" in field or nullable or name in service.get("required", []), name


def test_workflow_loop_across_services_is_refused(http: httpx.Client) -> None:
    first = {"name": "loop-a", "script": "x", "input": [{"path": "loop/a"}]}
    first["output"] = [{"path": "loop/b"}]
    assert http.post("/system/services", json=first).status_code == 201
    closing = {"name": "loop-b", "script": "x", "input": [{"path": "loop/b"}]}
    closing["output"] = [{"path": "loop/a/again"}]
    response = http.post("/system/services", json=closing)
    assert response.status_code == 400
    assert "loop-b → loop-a → loop-b" in response.text
    assert http.get("/system/services/loop-b").status_code == 404
