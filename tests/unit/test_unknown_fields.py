"""Keys a service definition carries that Sluice ignores are named, with their path, so that a
typo like ``memroy`` is reported instead of silently dropped."""

from sluice.domain.service import Service
from sluice.domain.wire import unknown_fields


def test_known_keys_in_any_case_are_not_reported() -> None:
    data = {
        "name": "x",
        "Memory": "1Gi",
        "environment": {"Variables": {"A": "1"}, "secrets": {"B": "2"}},
        "input": [{"storage_provider": "minio.default", "path": "x/in", "suffix": [".png"]}],
        "storage_providers": {"minio": {"other": {"endpoint": "http://s3", "verify": False}}},
        "clusters": {"edge": {"endpoint": "http://e", "auth_user": "u"}},
        "synchronous": {"min_scale": 1},
        "timeout": None,
    }
    assert unknown_fields(Service, data) == []


def test_typos_are_reported_with_their_path() -> None:
    data = {
        "name": "x",
        "memroy": "1Gi",
        "environment": {"Variabels": {"A": "1"}},
        "input": [{"path": "x/in"}, {"path": "x/in2", "sufix": [".png"]}],
        "storage_providers": {"minio": {"other": {"endpont": "http://s3"}}, "ftp": {}},
        "synchronous": {"max": 3},
        "clusters": {"edge": {"password": "p"}},
    }
    assert unknown_fields(Service, data) == [
        "memroy",
        "environment.Variabels",
        "input.1.sufix",
        "storage_providers.minio.other.endpont",
        "storage_providers.ftp",
        "synchronous.max",
        "clusters.edge.password",
    ]


def test_values_of_the_wrong_shape_are_left_to_validation() -> None:
    assert unknown_fields(Service, {"input": "not a list", "environment": 3}) == []
    assert unknown_fields(Service, ["not", "a", "dict"]) == []
