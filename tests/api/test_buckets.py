"""Issue 13: OSCAR's bucket API on the embedded store, driven by oscar-python where it can."""

from datetime import datetime
from typing import Any

import httpx
import pytest
import requests
from oscar_python.client import Client
from tests.e2e.helpers import s3_client


@pytest.fixture(scope="module")
def s3(http: httpx.Client) -> Any:
    return s3_client(http)


def names(http: httpx.Client) -> list[str]:
    return [bucket["bucket_name"] for bucket in http.get("/system/buckets").json()]


def test_create_list_get_update_delete_with_oscar_python(
    oscar: Client, http: httpx.Client, s3: Any
) -> None:
    assert oscar.create_bucket("album", "public").status_code == 201
    [listed] = [b for b in oscar.list_buckets().json() if b["bucket_name"] == "album"]
    assert listed["visibility"] == "public"
    assert listed["owner"] == "oscar"
    assert listed["allowed_users"] == []
    assert listed["metadata"]["owner_name"] == "oscar"

    s3.put_object(Bucket="album", Key="2024/cat.jpg", Body=b"meow")
    details = oscar.get_bucket("album").json()
    assert details["objects"] == [
        {
            "object_name": "2024/cat.jpg",
            "size_bytes": 4,
            "last_modified": details["objects"][0]["last_modified"],
        }
    ]
    modified = datetime.fromisoformat(details["objects"][0]["last_modified"])
    assert modified.tzinfo is not None and modified.year >= 2024
    assert details["is_truncated"] is False
    assert details["returned_items"] == 1
    assert "next_page" not in details

    assert oscar.update_bucket("album", "restricted", ["ana", "ben"]).status_code == 204
    details = oscar.get_bucket("album").json()
    assert (details["visibility"], details["allowed_users"]) == ("restricted", ["ana", "ben"])

    assert oscar.delete_bucket("album").status_code == 204
    assert "album" not in names(http)
    assert "album" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_bucket_with_folder_and_metadata(http: httpx.Client) -> None:
    body = {"bucket_name": "/reports/2025/", "metadata": {"team": "radiology"}}
    assert http.post("/system/buckets", json=body).status_code == 201
    details = http.get("/system/buckets/reports").json()
    assert [o["object_name"] for o in details["objects"]] == ["2025/"]
    assert details["visibility"] == "private"
    assert details["metadata"] == {"owner_name": "oscar", "team": "radiology"}
    # A PUT changes only what it names.
    assert http.put("/system/buckets", json={"bucket_name": "reports"}).status_code == 204
    assert http.get("/system/buckets/reports").json()["metadata"]["team"] == "radiology"


def test_objects_come_in_pages(http: httpx.Client, s3: Any) -> None:
    assert http.post("/system/buckets", json={"bucket_name": "many"}).status_code == 201
    for index in range(75):
        s3.put_object(Bucket="many", Key=f"f{index:03}.txt", Body=b"x")
    first = http.get("/system/buckets/many").json()
    assert (first["returned_items"], first["is_truncated"]) == (70, True)
    second = http.get("/system/buckets/many", params={"page": first["next_page"]}).json()
    assert (second["returned_items"], second["is_truncated"]) == (5, False)
    seen = [o["object_name"] for o in first["objects"] + second["objects"]]
    assert seen == [f"f{index:03}.txt" for index in range(75)]
    small = http.get("/system/buckets/many", params={"limit": 10}).json()
    assert small["returned_items"] == 10


def test_presigned_upload_and_download(oscar: Client, http: httpx.Client) -> None:
    assert http.post("/system/buckets", json={"bucket_name": "shared"}).status_code == 201
    upload = http.post(
        "/system/buckets/shared/presign",
        json={"object_key": "/in/note.txt", "operation": "UPLOAD", "expires_in": 120},
    ).json()
    assert (upload["object_key"], upload["operation"], upload["method"]) == (
        "in/note.txt",
        "upload",
        "PUT",
    )
    assert upload["expires_at"].endswith("Z") and "headers" not in upload
    assert httpx.put(upload["url"], content=b"shared note").status_code == 200

    # oscar-python sends `expires`, which OSCAR ignores too: the default 900 s applies.
    download = oscar.presign_bucket("shared", "in/note.txt").json()
    assert download["method"] == "GET"
    assert httpx.get(download["url"]).content == b"shared note"


def test_presigned_upload_signs_its_content_type(http: httpx.Client) -> None:
    assert http.post("/system/buckets", json={"bucket_name": "typed"}).status_code == 201
    body = {
        "object_key": "page.html",
        "operation": "upload",
        "content_type": "text/html",
        "extra_headers": {"x-amz-meta-origin": "dashboard"},
    }
    signed = http.post("/system/buckets/typed/presign", json=body).json()
    assert signed["headers"] == {"Content-Type": "text/html", "X-Amz-Meta-Origin": "dashboard"}
    assert httpx.put(signed["url"], content=b"<p>").status_code == 403
    assert httpx.put(signed["url"], content=b"<p>", headers=signed["headers"]).status_code == 200


def test_service_buckets_are_shown_and_protected(http: httpx.Client) -> None:
    service = {
        "name": "thumbs",
        "script": "echo",
        "visibility": "public",
        "input": [{"path": "thumbs/in"}],
        "output": [{"path": "thumbs-out/small"}],
    }
    assert http.post("/system/services", json=service).status_code == 201
    listed = {b["bucket_name"]: b for b in http.get("/system/buckets").json()}
    for name in ("thumbs", "thumbs-out"):
        assert listed[name]["metadata"]["from_service"] == "thumbs"
        assert listed[name]["visibility"] == "public"
    changed = http.put("/system/buckets", json={"bucket_name": "thumbs", "visibility": "private"})
    assert changed.status_code == 403
    assert "service 'thumbs'" in changed.text
    deleted = http.delete("/system/buckets/thumbs-out")
    assert deleted.status_code == 403
    assert "thumbs-out" in names(http)

    assert http.delete("/system/services/thumbs").status_code == 204
    after = {b["bucket_name"]: b for b in http.get("/system/buckets").json()}
    assert "from_service" not in after["thumbs"]["metadata"]
    assert http.delete("/system/buckets/thumbs").status_code == 204


BAD_REQUESTS = [
    ("post", "/system/buckets", {"bucket_name": "No_Caps"}, 400, "bucket_name"),
    (
        "post",
        "/system/buckets",
        {"bucket_name": "ok-name", "visibility": "secret"},
        400,
        "visibility",
    ),
    ("post", "/system/buckets", {"visibility": "public"}, 400, "bucket_name: is required"),
    ("post", "/system/buckets", {"bucket_name": "taken"}, 400, "already exists"),
    ("put", "/system/buckets", {"bucket_name": "missing"}, 404, "missing"),
    ("get", "/system/buckets/missing", None, 404, "missing"),
    ("delete", "/system/buckets/missing", None, 404, "missing"),
    ("get", "/system/buckets/taken?limit=0", None, 400, "limit"),
    (
        "post",
        "/system/buckets/missing/presign",
        {"object_key": "a", "operation": "upload"},
        404,
        "missing",
    ),
    (
        "post",
        "/system/buckets/taken/presign",
        {"object_key": "a", "operation": "upload", "expires_in": 604801},
        400,
        "expires_in: 604801 seconds is out of range",
    ),
    (
        "post",
        "/system/buckets/taken/presign",
        {"object_key": "a", "operation": "upload", "expires_in": -5},
        400,
        "expires_in",
    ),
    (
        "post",
        "/system/buckets/taken/presign",
        {"object_key": "a", "operation": "delete"},
        400,
        "operation: 'delete' is not supported",
    ),
    ("post", "/system/buckets/taken/presign", {"operation": "upload"}, 400, "object_key"),
    (
        "post",
        "/system/buckets/taken/presign",
        {"object_key": " / ", "operation": "upload"},
        400,
        "object_key",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "named"), BAD_REQUESTS)
def test_bad_requests_name_the_problem_and_change_nothing(
    http: httpx.Client, method: str, path: str, body: Any, status: int, named: str
) -> None:
    if "taken" not in names(http):
        assert http.post("/system/buckets", json={"bucket_name": "taken"}).status_code == 201
    before = http.get("/system/buckets").json()
    response = http.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert named in response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert http.get("/system/buckets").json() == before


def test_oscar_python_raises_on_a_missing_bucket(oscar: Client) -> None:
    with pytest.raises(requests.HTTPError):
        oscar.get_bucket("no-such-bucket")
