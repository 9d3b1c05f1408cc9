"""Issue 13: on an external S3 store Sluice manages only buckets it made or its services use."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.e2e.helpers import s3_client
from tests.servers import seaweedfs

from sluice.storage.embedded import EmbeddedSeaweedFS


@pytest.fixture(scope="module")
def external(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSeaweedFS]:
    with seaweedfs(tmp_path_factory.mktemp("external-s3")) as store:
        yield store


@pytest.fixture(scope="module")
def sluice_env(external: EmbeddedSeaweedFS) -> dict[str, str]:
    return {
        "SLUICE_S3_ENDPOINT": external.endpoint,
        "SLUICE_S3_ACCESS_KEY": external.credentials.access_key,
        "SLUICE_S3_SECRET_KEY": external.credentials.secret_key,
        "SLUICE_S3_VERIFY": "false",
    }


@pytest.fixture(scope="module")
def s3(http: httpx.Client) -> Any:
    return s3_client(http)


def test_foreign_buckets_are_not_listed_and_refused(http: httpx.Client, s3: Any) -> None:
    s3.create_bucket(Bucket="someone-elses")
    s3.put_object(Bucket="someone-elses", Key="keep.txt", Body=b"not yours")
    assert http.post("/system/buckets", json={"bucket_name": "mine"}).status_code == 201
    assert [b["bucket_name"] for b in http.get("/system/buckets").json()] == ["mine"]

    presign = {"object_key": "keep.txt", "operation": "download"}
    attempts = [
        http.get("/system/buckets/someone-elses"),
        http.put("/system/buckets", json={"bucket_name": "someone-elses", "visibility": "public"}),
        http.delete("/system/buckets/someone-elses"),
        http.post("/system/buckets/someone-elses/presign", json=presign),
    ]
    for response in attempts:
        assert response.status_code == 403, response.text
        assert "not created through Sluice" in response.text
    assert s3.get_object(Bucket="someone-elses", Key="keep.txt")["Body"].read() == b"not yours"


def test_service_buckets_stay_managed_after_the_service_goes(http: httpx.Client) -> None:
    service = {"name": "ingest", "script": "echo", "input": [{"path": "ingest-data/in"}]}
    assert http.post("/system/services", json=service).status_code == 201
    listed = {b["bucket_name"]: b for b in http.get("/system/buckets").json()}
    assert listed["ingest-data"]["metadata"]["from_service"] == "ingest"
    assert http.delete("/system/services/ingest").status_code == 204
    assert "ingest-data" in [b["bucket_name"] for b in http.get("/system/buckets").json()]
    assert http.delete("/system/buckets/ingest-data").status_code == 204


def test_status_counts_the_managed_buckets(http: httpx.Client, s3: Any) -> None:
    s3.put_object(Bucket="mine", Key="a.txt", Body=b"a")
    s3.put_object(Bucket="mine", Key="folder/", Body=b"")
    minio = http.get("/system/status").json()["minio"]
    assert minio == {"buckets_count": 1, "total_objects": 1}
