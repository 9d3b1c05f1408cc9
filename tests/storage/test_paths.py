"""Path and ETag helpers shared by every provider."""

import pytest

from sluice.errors import Invalid
from sluice.storage.base import clean_etag, split_object_path, split_path


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("bucket", ("bucket", "")),
        ("/bucket/", ("bucket", "")),
        ("bucket/folder/key.txt", ("bucket", "folder/key.txt")),
        ("/bucket/folder/", ("bucket", "folder")),
        ("b/dir with space/ü.txt", ("b", "dir with space/ü.txt")),
    ],
)
def test_split_path(path: str, expected: tuple[str, str]) -> None:
    assert split_path(path) == expected


@pytest.mark.parametrize("path", ["", "/", "//", "b/../x", "b/./x"])
def test_split_path_rejects(path: str) -> None:
    with pytest.raises(Invalid):
        split_path(path)


@pytest.mark.parametrize("path", ["bucket", "bucket/folder/"])
def test_object_paths_need_a_key(path: str) -> None:
    with pytest.raises(Invalid, match="names a folder"):
        split_object_path(path)


def test_clean_etag() -> None:
    assert clean_etag('"abc"') == "abc"
    assert clean_etag('W/"abc-2"') == "abc-2"
    assert clean_etag(None) == ""
