"""open_provider: FDL storage_providers entries to provider objects."""

from typing import Any

import pytest

from sluice.errors import Invalid
from sluice.storage import open_provider
from sluice.storage.s3 import S3Provider
from sluice.storage.webdav import WebDAVProvider

MINIO = {
    "endpoint": "http://127.0.0.1:9000",
    "verify": False,
    "access_key": "ak",
    "secret_key": "sk",
    "region": "us-east-1",
}


def test_minio_and_s3_are_s3_providers() -> None:
    minio = open_provider("minio", MINIO)
    aws = open_provider("s3", {"access_key": "ak", "secret_key": "sk", "region": "eu-west-1"})
    assert isinstance(minio, S3Provider)
    assert minio.where == "http://127.0.0.1:9000"
    assert isinstance(aws, S3Provider)
    assert aws.where == "AWS S3 (eu-west-1)"


def test_webdav_assumes_https_unless_told_otherwise() -> None:
    config = {"hostname": "dcache.example.org", "login": "u", "password": "p"}
    plain = open_provider("webdav", config)
    local = open_provider("webdav", {**config, "hostname": "http://127.0.0.1:8080/"})
    assert isinstance(plain, WebDAVProvider)
    assert plain.base_url == "https://dcache.example.org"
    assert isinstance(local, WebDAVProvider)
    assert local.base_url == "http://127.0.0.1:8080"


def test_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(Invalid) as caught:
        open_provider("onedata", {})
    assert str(caught.value) == (
        "storage provider type 'onedata' is not supported; use one of minio, s3, webdav"
    )


@pytest.mark.parametrize(
    ("kind", "config", "missing"),
    [
        ("minio", {**MINIO, "endpoint": ""}, "endpoint"),
        ("minio", {k: v for k, v in MINIO.items() if k != "secret_key"}, "secret_key"),
        ("s3", {"secret_key": "sk"}, "access_key"),
        ("webdav", {"hostname": "h", "login": "u"}, "password"),
    ],
)
def test_missing_credentials_name_the_key(kind: str, config: dict[str, Any], missing: str) -> None:
    with pytest.raises(Invalid, match=f"{kind} storage provider config is missing '{missing}'"):
        open_provider(kind, config)


def test_verify_must_be_a_boolean() -> None:
    assert isinstance(open_provider("minio", {**MINIO, "verify": "false"}), S3Provider)
    with pytest.raises(Invalid, match="verify"):
        open_provider("minio", {**MINIO, "verify": "sometimes"})
    with pytest.raises(Invalid, match="hostname"):
        open_provider("webdav", {"hostname": "ftp://host", "login": "u", "password": "p"})
