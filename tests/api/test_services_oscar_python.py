"""Issue 2: the official oscar-python client drives a real ``sluice up`` unchanged."""

import textwrap
from pathlib import Path

import pytest
import requests
from oscar_python.client import Client
from tests.sluice_process import SluiceProcess

CLUSTER = "sluice-test"


def write_fdl(folder: Path, name: str, memory: str = "128Mi", cpu: str = "0.5") -> Path:
    (folder / "script.sh").write_text('#!/bin/sh\r\ncp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR"\r\n')
    fdl = folder / f"{name}.yaml"
    fdl.write_text(
        textwrap.dedent(
            f"""\
            functions:
              oscar:
              - {CLUSTER}:
                  name: {name}
                  memory: {memory}
                  cpu: {cpu}
                  image: ghcr.io/grycap/cowsay
                  script: script.sh
                  log_level: debug
                  environment:
                    Variables:
                      GREETING: hello
                      RETRIES: 3
                  input:
                  - storage_provider: minio
                    path: {name}/in
                  output:
                  - storage_provider: minio.default
                    path: {name}/out
                    suffix: [.out]
            """
        )
    )
    return fdl


@pytest.fixture(scope="module")
def oscar(sluice_server: SluiceProcess) -> Client:
    return Client(
        {
            "cluster_id": CLUSTER,
            "endpoint": sluice_server.url,
            "user": sluice_server.user,
            "password": sluice_server.password,
            "ssl": False,
        }
    )


def test_health_info_and_config(oscar: Client) -> None:
    assert oscar.health_check().text == "Ok"
    info = oscar.get_cluster_info().json()
    assert set(info) >= {"version", "git_commit", "architecture", "kubernetes_version"}
    status = oscar.get_cluster_status().json()
    assert status["cluster"]["nodes_count"] == 1
    assert status["cluster"]["metrics"]["cpu"]["total_schedulable_cores"] >= 1000
    assert status["oscar"]["capacity"]["cpu_cores"]["used"] == 0
    assert isinstance(status["oscar"]["jobs"], dict)
    provider = oscar.get_cluster_config().json()["minio_provider"]
    assert isinstance(provider["verify"], bool)
    for key in ("endpoint", "access_key", "secret_key", "region"):
        assert isinstance(provider[key], str) and provider[key], key


def test_create_get_list_update_delete(oscar: Client, tmp_path: Path) -> None:
    fdl = write_fdl(tmp_path, "oscar-py")
    assert oscar.create_service(str(fdl)).status_code == 201

    service = oscar.get_service("oscar-py").json()
    assert service["memory"] == "128Mi"
    assert service["cpu"] == "0.5"
    assert service["log_level"] == "DEBUG"
    assert service["script"] == '#!/bin/sh\ncp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR"\n'
    assert service["environment"]["variables"] == {"GREETING": "hello", "RETRIES": "3"}
    assert service["input"][0]["storage_provider"] == "minio.default"
    assert service["output"][0]["suffix"] == [".out"]
    token = service["token"]
    assert len(token) == 64 and int(token, 16) >= 0
    hidden = service["storage_providers"]["minio"]["default"]
    assert hidden["access_key"] == hidden["secret_key"] == "hidden"

    names = [svc["name"] for svc in oscar.list_services().json()]
    assert "oscar-py" in names

    with pytest.raises(ValueError, match="already present"):
        oscar.create_service(str(fdl))

    write_fdl(tmp_path, "oscar-py", memory="1Gi", cpu="1")
    assert oscar.update_service("oscar-py", str(fdl)).status_code == 204
    updated = oscar.get_service("oscar-py").json()
    assert updated["memory"] == "1Gi"
    assert updated["cpu"] == "1"
    assert updated["token"] == token

    assert oscar.remove_service("oscar-py").status_code == 204
    with pytest.raises(requests.HTTPError) as missing:
        oscar.get_service("oscar-py")
    assert missing.value.response.status_code == 404
    names = [svc["name"] for svc in oscar.list_services().json()]
    assert "oscar-py" not in names


def test_unknown_service_is_404(sluice_server: SluiceProcess) -> None:
    with sluice_server.client() as http:
        response = http.get("/system/services/nope")
        assert response.status_code == 404
        assert "nope" in response.text
        assert http.delete("/system/services/nope").status_code == 404
