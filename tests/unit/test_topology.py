"""Stores by endpoint and loops through several clusters' stores (domain/topology.py)."""

from typing import Any

from sluice.domain.topology import find_cycle, place, store_name

EDGE, CLOUD = "http://10.9.0.1:8333", "http://10.9.0.2:8333"


def definition(name: str, source: str, outputs: list[tuple[str, str]]) -> dict[str, Any]:
    providers = {"edge": {"endpoint": EDGE}, "cloud": {"endpoint": CLOUD.upper() + "/"}}
    return {
        "name": name,
        "input": [{"storage_provider": "minio.default", "path": source}],
        "output": [{"storage_provider": p, "path": path} for p, path in outputs],
        "storage_providers": {"minio": providers},
    }


def test_store_names_are_one_spelling() -> None:
    assert store_name("HTTP://Host:80/") == store_name("http://host") == "http://host:80"
    assert store_name("https://h") == "https://h:443"


def test_a_loop_through_the_other_clusters_store() -> None:
    a = place("edge", definition("a", "in/x", [("minio.cloud", "mid/x")]), store_name(EDGE))
    b = place("cloud", definition("b", "mid", [("minio.edge", "in/x/again")]), store_name(CLOUD))
    assert find_cycle(a, [b]) == ["a@edge", "b@cloud", "a@edge"]


def test_the_same_paths_in_different_stores_are_no_loop() -> None:
    a = place("edge", definition("a", "in/x", [("minio.default", "mid/x")]), store_name(EDGE))
    b = place("cloud", definition("b", "mid", [("minio.edge", "in/x")]), store_name(CLOUD))
    assert find_cycle(a, [b]) is None  # a writes mid/ in the edge's store; b watches the cloud's


def test_an_undefined_provider_leads_nowhere() -> None:
    a = place("edge", definition("a", "in", [("minio.mars", "in/again")]), store_name(EDGE))
    assert a.outputs == ()
    assert find_cycle(a, []) is None
