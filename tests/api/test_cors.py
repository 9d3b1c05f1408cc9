"""Issue 13: browsers on an allowed origin (OSCAR's dashboard elsewhere) reach the API and the
embedded object store; other origins reach neither. Also: the cluster's names are settings."""

import httpx
import pytest
from tests.e2e.helpers import s3_client

DASHBOARD = "http://dashboard.test:5173"
STRANGER = "http://elsewhere.test"


@pytest.fixture(scope="module")
def sluice_env() -> dict[str, str]:
    return {
        "SLUICE_CORS_ORIGINS": f"{DASHBOARD}/, http://other.test:8000",
        "SLUICE_CLUSTER_NAME": "lab-cluster",
        "SLUICE_NAMESPACE": "lab",
        "SLUICE_SERVICES_NAMESPACE": "lab-svc",
    }


def preflight(url: str, origin: str, method: str = "GET") -> httpx.Response:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    return httpx.options(url, headers=headers)


def test_preflight_from_the_dashboard_is_allowed(http: httpx.Client) -> None:
    answer = preflight(f"{http.base_url}/system/info", DASHBOARD)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == DASHBOARD
    allowed = answer.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "PUT" in answer.headers["access-control-allow-methods"]


def test_answers_and_errors_carry_the_header(http: httpx.Client) -> None:
    signed_in = http.get("/system/info", headers={"Origin": DASHBOARD})
    assert signed_in.headers["access-control-allow-origin"] == DASHBOARD
    # A wrong password must reach the page as a 401 it can read, not as a network error.
    refused = httpx.get(f"{http.base_url}/system/info", headers={"Origin": DASHBOARD})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == DASHBOARD


def test_other_origins_get_no_permission(http: httpx.Client) -> None:
    answer = preflight(f"{http.base_url}/system/info", STRANGER)
    assert "access-control-allow-origin" not in answer.headers
    plain = http.get("/system/info", headers={"Origin": STRANGER})
    assert "access-control-allow-origin" not in plain.headers


def test_the_object_store_allows_the_same_origins(http: httpx.Client) -> None:
    endpoint = http.get("/system/config").json()["minio_provider"]["endpoint"]
    allowed = preflight(f"{endpoint}/some-bucket/some-key", DASHBOARD, "PUT")
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == DASHBOARD
    assert preflight(f"{endpoint}/some-bucket/key", STRANGER, "PUT").status_code == 403
    # Clients without an Origin (boto3, oscar-python) are not affected.
    s3_client(http).list_buckets()


def test_cluster_names_are_configurable(http: httpx.Client) -> None:
    config = http.get("/system/config").json()["config"]
    names = (config["name"], config["namespace"], config["services_namespace"])
    assert names == ("lab-cluster", "lab", "lab-svc")
    assert http.get("/system/status").json()["oscar"]["deployment_name"] == "lab-cluster"
    assert http.post("/system/buckets", json={"bucket_name": "lab-data"}).status_code == 201
    assert http.get("/system/buckets/lab-data").json()["owner"] == "lab-cluster"
    assert http.post("/system/services", json={"name": "ns", "script": "echo"}).status_code == 201
    assert http.get("/system/services/ns").json()["namespace"] == "lab-svc"
