"""SLUICE_ALLOWED_ENDPOINTS: an admin can keep services from pointing the manager anywhere."""

from pathlib import Path

import pytest

from sluice.errors import Invalid
from sluice.execution.fake import FakeExecutor
from sluice.storage.memory import MemoryStorage
from tests.inprocess.conftest import make_platform, service_body


def with_provider(endpoint: str) -> dict[str, object]:
    return service_body(
        storage_providers={"minio": {"other": {"endpoint": endpoint, "access_key": "a"}}},
        clusters={"cloud": {"endpoint": "https://cloud.example.org"}},
    )


def test_only_listed_endpoints_are_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "SLUICE_ALLOWED_ENDPOINTS", "s3.example.org, 10.0.0.5:9000, https://cloud.example.org"
    )
    platform = make_platform(tmp_path, FakeExecutor(), MemoryStorage())
    for good in ("https://s3.example.org", "http://s3.example.org:9000", "http://10.0.0.5:9000"):
        platform.services.create(with_provider(good))
        platform.services.delete("echo")
    for bad in ("http://169.254.169.254", "http://10.0.0.5:9001", "http://s3.example.org.evil"):
        with pytest.raises(Invalid, match=r"storage_providers\.minio\.other\.endpoint: .* is not"):
            platform.services.create(with_provider(bad))
    assert platform.services.list() == []


def test_any_endpoint_when_none_are_listed(tmp_path: Path) -> None:
    platform = make_platform(tmp_path, FakeExecutor(), MemoryStorage())
    platform.services.create(with_provider("http://anything.invalid:1234"))
