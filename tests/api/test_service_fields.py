"""Issue 13: service fields kept as OSCAR keeps them, and what Sluice cannot do yet refused."""

from typing import Any

import httpx
import pytest
from oscar_python.client import Client

OSCAR_LABELS = {
    "oscar.grycap/user-service": "true",
    "owner_name": "oscar",
}


def test_labels_oscar_always_sets(http: httpx.Client) -> None:
    body = {"name": "labelled", "script": "echo", "labels": {"team": "vision", "queue": "mine"}}
    assert http.post("/system/services", json=body).status_code == 201
    labels = http.get("/system/services/labelled").json()["labels"]
    assert labels == {
        "team": "vision",
        **OSCAR_LABELS,
        "oscar_service": "labelled",
        "applicationId": "labelled",
        "queue": "root.oscar-queue.labelled",
    }


def test_namespace_and_volume_status(http: httpx.Client) -> None:
    assert (
        http.post("/system/services", json={"name": "plain", "script": "echo"}).status_code == 201
    )
    service = http.get("/system/services/plain").json()
    assert service["namespace"] == "oscar-svc"
    assert service["volume_status"] == {"enabled": False}
    assert "volume" not in service


def test_update_without_secrets_keeps_them_and_the_token(oscar: Client, http: httpx.Client) -> None:
    body: dict[str, Any] = {
        "name": "keeper",
        "script": "echo",
        "environment": {"variables": {"A": "1"}, "secrets": {"KEY": "k-1", "OTHER": "o-1"}},
    }
    assert http.post("/system/services", json=body).status_code == 201
    token = http.get("/system/services/keeper").json()["token"]

    # The dashboard and oscar-cli send back what they read: secrets blanked, or none at all.
    assert oscar.update_service("keeper", {"name": "keeper", "script": "echo 2"}).status_code == 204
    blanked = http.get("/system/services/keeper").json()
    assert blanked["environment"]["secrets"] == {"KEY": "", "OTHER": ""}
    assert blanked["token"] == token
    assert blanked["script"] == "echo 2"

    # The job sees the stored values: ask it through a synchronous call.
    script = 'printf "%s %s" "$KEY" "$OTHER"'
    update = {"name": "keeper", "script": script, "log_level": "CRITICAL"}
    update["environment"] = {"secrets": {"KEY": "", "OTHER": "o-2"}}
    assert http.put("/system/services", json=update).status_code == 204
    answer = httpx.post(
        f"{http.base_url}/run/keeper", content=b"x", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.text == "k-1 o-2"

    # Sending a set replaces it: a secret left out is gone.
    update["environment"] = {"secrets": {"KEY": "k-3"}}
    assert http.put("/system/services", json=update).status_code == 204
    assert http.get("/system/services/keeper").json()["environment"]["secrets"] == {"KEY": ""}


UNSUPPORTED = [
    ({"expose": {"api_port": 8080}}, "expose.api_port: 8080"),
    ({"expose": {"api_port": [5000], "min_scale": 1}}, "exposed service"),
    (
        {"federation": {"members": [{"type": "oscar", "cluster_id": "c2", "service_name": "x"}]}},
        "federation.members.0.cluster_id: unknown cluster 'c2'",
    ),
    ({"replicas": [{"type": "endpoint", "url": "http://127.0.0.1:1"}]}, "only oscar replicas"),
    ({"volume": {"mount_path": "/data"}}, "volume.name is required"),
    ({"volume": {"size": "0", "mount_path": "/data"}}, "volume.size"),
    ({"volume": {"size": "1Gi", "mount_path": "data"}}, "volume.mount_path"),
    ({"volume": {"size": "1Gi", "mount_path": "/oscar/config/x"}}, "reserves"),
    ({"volume": {"name": "nothing-here", "mount_path": "/data"}}, "does not exist"),
    ({"volume": {"name": "v", "mount_path": "/d", "lifecycle_policy": "retain"}}, "only valid"),
]


@pytest.mark.parametrize(("extra", "named"), UNSUPPORTED)
def test_refused_with_400_and_nothing_stored(
    http: httpx.Client, extra: dict[str, Any], named: str
) -> None:
    before = http.get("/system/services").json()
    volumes = http.get("/system/volumes").json()
    response = http.post("/system/services", json={"name": "refused", "script": "echo", **extra})
    assert response.status_code == 400, response.text
    assert named in response.text
    assert http.get("/system/services").json() == before
    assert http.get("/system/volumes").json() == volumes


def test_not_exposed_and_not_federated_still_accepted(http: httpx.Client) -> None:
    # What oscar-cli v1.12 and the dashboard send for every service.
    body = {
        "name": "quiet",
        "script": "echo",
        "expose": {"min_scale": 0, "max_scale": 0, "api_port": 0, "nodePort": 0},
        "federation": {"topology": "none"},
        "replicas": [],
    }
    assert http.post("/system/services", json=body).status_code == 201
    assert (
        http.put("/system/services", json={**body, "expose": {"api_port": []}}).status_code == 204
    )
    refused = http.put("/system/services", json={**body, "expose": {"api_port": [80]}})
    assert refused.status_code == 400
    assert http.get("/system/services/quiet").json()["expose"].get("api_port", 0) == 0


def test_no_cross_origin_access_unless_configured(http: httpx.Client) -> None:
    headers = {"Origin": "http://dashboard.test", "Access-Control-Request-Method": "GET"}
    api = httpx.options(f"{http.base_url}/system/info", headers=headers)
    assert "access-control-allow-origin" not in api.headers
    endpoint = http.get("/system/config").json()["minio_provider"]["endpoint"]
    store = httpx.options(f"{endpoint}/bucket/key", headers=headers)
    assert store.status_code == 403
    assert "access-control-allow-origin" not in store.headers
