"""Issue 3: Sluice on an external S3 store (no embedded SeaweedFS, so no webhook: MinIO-style
events on /job and reconciliation find the uploads), with WebDAV inputs and outputs."""

import time
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from tests.e2e.helpers import all_jobs, keys_under, s3_client, wait_for
from tests.servers import DavServer, dav_server, seaweedfs
from tests.sluice_process import SluiceProcess

from sluice.storage.embedded import EmbeddedSeaweedFS

COPY = 'cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/$(basename "$INPUT_FILE_PATH").copy"'


@pytest.fixture(scope="module")
def external(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSeaweedFS]:
    with seaweedfs(tmp_path_factory.mktemp("external-s3")) as store:
        yield store


@pytest.fixture(scope="module")
def dav(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DavServer]:
    with dav_server(tmp_path_factory.mktemp("dav")) as server:
        yield server


@pytest.fixture(scope="module")
def sluice_env(external: EmbeddedSeaweedFS) -> dict[str, str]:
    return {
        "SLUICE_S3_ENDPOINT": external.endpoint,
        "SLUICE_S3_ACCESS_KEY": external.credentials.access_key,
        "SLUICE_S3_SECRET_KEY": external.credentials.secret_key,
        "SLUICE_S3_VERIFY": "false",
        "SLUICE_RECONCILE_INTERVAL": "1",
    }


def dav_provider(dav: DavServer) -> dict[str, Any]:
    return {"webdav": {"dav": {"hostname": dav.url, "login": dav.login, "password": dav.password}}}


def test_config_advertises_the_external_store(
    sluice_server: SluiceProcess, http: httpx.Client, external: EmbeddedSeaweedFS
) -> None:
    provider = http.get("/system/config").json()["minio_provider"]
    assert provider["endpoint"] == external.endpoint
    assert provider["access_key"] == external.credentials.access_key
    assert not (sluice_server.data_dir / "seaweedfs").exists()


def test_uploads_found_by_reconciliation_go_to_webdav(
    http: httpx.Client, dav: DavServer, external: EmbeddedSeaweedFS
) -> None:
    body = {
        "name": "to-dav",
        "script": COPY,
        "input": [{"path": "ext/in"}],
        "output": [{"storage_provider": "webdav.dav", "path": "results/copies"}],
        "storage_providers": dav_provider(dav),
    }
    assert http.post("/system/services", json=body).status_code == 201, body
    s3 = s3_client(http)
    s3.put_object(Bucket="ext", Key="in/report.txt", Body=b"quarterly")
    result = dav.root / "results" / "copies" / "report.txt.copy"
    wait_for(result.exists, what="the copy on the WebDAV server")
    assert result.read_bytes() == b"quarterly"
    assert not list(result.parent.glob(".*")), "no temporary upload files left behind"


def test_minio_event_and_reconciliation_make_one_job(http: httpx.Client) -> None:
    body = {"name": "evented", "script": COPY, "input": [{"path": "ext/events"}]}
    assert http.post("/system/services", json=body).status_code == 201
    s3 = s3_client(http)
    s3.put_object(Bucket="ext", Key="events/one.txt", Body=b"1")
    etag = s3.head_object(Bucket="ext", Key="events/one.txt")["ETag"]
    record = {
        "eventSource": "minio:s3",
        "eventName": "s3:ObjectCreated:Put",
        "s3": {"bucket": {"name": "ext"}, "object": {"key": "events/one.txt", "eTag": etag}},
    }
    token = http.get("/system/services/evented").json()["token"]
    response = httpx.post(
        str(http.base_url.join("/job/evented")),
        json={"EventName": "s3:ObjectCreated:Put", "Records": [record]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201
    wait_for(
        lambda: [j["status"] for j in all_jobs(http, "evented").values()] == ["Succeeded"],
        what="the evented job",
    )
    time.sleep(2.5)  # two reconciliation rounds: they must not add a second job
    assert len(all_jobs(http, "evented")) == 1


def test_webdav_input_is_processed(
    http: httpx.Client, dav: DavServer, external: EmbeddedSeaweedFS
) -> None:
    body = {
        "name": "from-dav",
        "script": COPY,
        "input": [{"storage_provider": "webdav.dav", "path": "inbox/new"}],
        "output": [{"path": "ext/from-dav"}],
        "storage_providers": dav_provider(dav),
    }
    assert http.post("/system/services", json=body).status_code == 201
    assert (dav.root / "inbox" / "new").is_dir()
    (dav.root / "inbox" / "new" / "scan.txt").write_bytes(b"from webdav")
    s3 = s3_client(http)
    wait_for(
        lambda: keys_under(s3, "ext", "from-dav/") == ["from-dav/scan.txt.copy"],
        what="the WebDAV input's output",
    )
    data = s3.get_object(Bucket="ext", Key="from-dav/scan.txt.copy")["Body"].read()
    assert data == b"from webdav"


def test_service_buckets_are_created_in_the_external_store(
    http: httpx.Client, external: EmbeddedSeaweedFS
) -> None:
    direct = boto3.client(
        "s3",
        endpoint_url=external.endpoint,
        aws_access_key_id=external.credentials.access_key,
        aws_secret_access_key=external.credentials.secret_key,
        region_name="us-east-1",
    )
    assert "ext" in [bucket["Name"] for bucket in direct.list_buckets()["Buckets"]]
    markers = direct.list_objects_v2(Bucket="ext", Prefix="in/")["Contents"]
    assert any(item["Key"] == "in/" for item in markers)
