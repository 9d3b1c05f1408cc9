"""Issue 13: managed volumes (/system/volumes and the service volume block), with oscar-python."""

import httpx
import pytest
from oscar_python.client import Client
from tests.sluice_process import SluiceProcess


def volume_names(http: httpx.Client) -> list[str]:
    return [volume["name"] for volume in http.get("/system/volumes").json()]


def test_create_read_list_delete(oscar: Client, sluice_server: SluiceProcess) -> None:
    created = oscar.create_volume("datasets", "5Gi")
    assert created.status_code == 201
    assert created.json() == {
        "name": "datasets",
        "namespace": "oscar-svc",
        "size": "5Gi",
        "owner_user": "cluster_admin",
        "creation_mode": "api",
        "status": {"phase": "ready"},
    }
    folder = sluice_server.data_dir / "volumes" / "datasets"
    assert folder.is_dir()
    (folder / "model.bin").write_bytes(b"weights")
    assert oscar.get_volume("datasets").json()["size"] == "5Gi"
    assert "datasets" in [v["name"] for v in oscar.list_volumes().json()]
    assert oscar.delete_volume("datasets").status_code == 204
    assert not folder.exists()


def test_a_mounted_volume_cannot_be_deleted(http: httpx.Client) -> None:
    assert http.post("/system/volumes", json={"name": "shared", "size": "1Gi"}).status_code == 201
    for name in ("reader-a", "reader-b"):
        body = {
            "name": name,
            "script": "echo",
            "volume": {"name": "shared", "mount_path": "/mnt/x"},
        }
        assert http.post("/system/services", json=body).status_code == 201
    volume = http.get("/system/volumes/shared").json()
    assert volume["attachments"] == [
        {"service_name": "reader-a", "mount_path": "/mnt/x"},
        {"service_name": "reader-b", "mount_path": "/mnt/x"},
    ]
    assert volume["status"] == {"phase": "in_use", "attachment_count": 2}
    service = http.get("/system/services/reader-a").json()
    assert service["volume"] == {"name": "shared", "size": "", "mount_path": "/mnt/x"}
    assert service["volume_status"] == {"enabled": True, "name": "shared", "phase": "in_use"}

    refused = http.delete("/system/volumes/shared")
    assert refused.status_code == 400  # OSCAR answers 400 for a volume still attached
    assert "reader-a, reader-b" in refused.text
    assert "shared" in volume_names(http)

    # Deleting the services that mount it does not take a volume made through the API.
    for name in ("reader-a", "reader-b"):
        assert http.delete(f"/system/services/{name}").status_code == 204
    assert http.delete("/system/volumes/shared").status_code == 204


def test_service_created_volumes_follow_their_lifecycle(http: httpx.Client) -> None:
    scratch = {"name": "scratchy", "script": "echo", "volume": {"size": "2Gi", "mount_path": "/w"}}
    assert http.post("/system/services", json=scratch).status_code == 201
    made = http.get("/system/volumes/scratchy").json()
    assert (made["creation_mode"], made["created_by_service"]) == ("service", "scratchy")
    assert made["lifecycle_policy"] == "delete"

    # Another service asking to create a volume of that name: 409, and nothing created.
    clash = {
        "name": "other",
        "script": "echo",
        "volume": {"name": "scratchy", "size": "1Gi", "mount_path": "/w"},
    }
    answer = http.post("/system/services", json=clash)
    assert answer.status_code == 409
    assert "scratchy" in answer.text
    assert http.get("/system/services/other").status_code == 404

    # The block cannot change after creation, and the stored one stays.
    changed = {**scratch, "volume": {"size": "3Gi", "mount_path": "/w"}}
    assert http.put("/system/services", json=changed).status_code == 400
    assert http.put("/system/services", json=scratch).status_code == 204
    assert http.get("/system/volumes/scratchy").json()["size"] == "2Gi"

    assert http.delete("/system/services/scratchy").status_code == 204
    assert "scratchy" not in volume_names(http)

    kept = {
        "name": "keeps",
        "script": "echo",
        "volume": {"size": "1Gi", "mount_path": "/w", "lifecycle_policy": "retain"},
    }
    assert http.post("/system/services", json=kept).status_code == 201
    assert http.delete("/system/services/keeps").status_code == 204
    assert "keeps" in volume_names(http)


BAD = [
    ("post", "/system/volumes", {"name": "ok", "size": "lots"}, 400, "size"),
    ("post", "/system/volumes", {"name": "ok", "size": "0"}, 400, "positive"),
    ("post", "/system/volumes", {"name": "Not_DNS", "size": "1Gi"}, 400, "DNS-1123"),
    ("post", "/system/volumes", {"name": "ok"}, 400, "size: is required"),
    ("post", "/system/volumes", {"name": "taken-vol", "size": "1Gi"}, 409, "already exists"),
    ("get", "/system/volumes/absent", None, 404, "absent"),
    ("delete", "/system/volumes/absent", None, 404, "absent"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "named"), BAD)
def test_bad_requests_change_nothing(
    http: httpx.Client, method: str, path: str, body: object, status: int, named: str
) -> None:
    if "taken-vol" not in volume_names(http):
        http.post("/system/volumes", json={"name": "taken-vol", "size": "1Gi"})
    before = http.get("/system/volumes").json()
    answer = http.request(method, path, json=body)
    assert answer.status_code == status, answer.text
    assert named in answer.text
    assert http.get("/system/volumes").json() == before


def test_jobs_of_two_services_share_a_mounted_volume(
    http: httpx.Client, sluice_server: SluiceProcess
) -> None:
    """One service's job writes into the volume at its mount path; another's reads it there:
    the sandboxed process runtime binds the volume's folder at ``mount_path``."""
    writer = {
        "name": "vol-writer",
        "script": 'cat "$INPUT_FILE_PATH" > /mnt/work/note.txt; ls /mnt/work',
        "volume": {"name": "workspace", "size": "1Gi", "mount_path": "/mnt/work"},
    }
    assert http.post("/system/services", json=writer).status_code == 201
    reader = {
        "name": "vol-reader",
        "script": "cat /mnt/shared/note.txt",
        "log_level": "CRITICAL",
        "volume": {"name": "workspace", "mount_path": "/mnt/shared"},
    }
    assert http.post("/system/services", json=reader).status_code == 201
    written = http.post("/run/vol-writer", content=b"a note for the other service")
    assert written.status_code == 200, written.text
    assert http.post("/run/vol-reader", content=b"eA==").text == "a note for the other service"
    on_disk = sluice_server.data_dir / "volumes" / "workspace" / "note.txt"
    assert on_disk.read_text() == "a note for the other service"  # it outlives the jobs
