"""Workflow loops across services are refused; ordinary chains are not."""

from typing import Any

import pytest

from sluice.core.workflows import check_no_cycle
from sluice.domain.service import Service, parse_service
from sluice.errors import Invalid


def service(name: str, source: str, target: str, **extra: Any) -> Service:
    return parse_service(
        {
            "name": name,
            "script": "x",
            "input": [{"path": source}],
            "output": [{"path": target}],
            **extra,
        }
    )


def test_a_chain_is_fine() -> None:
    first = service("first", "flow/in", "flow/middle")
    second = service("second", "flow/middle", "flow/out")
    check_no_cycle(second, lambda: [first])
    check_no_cycle(first, lambda: [second])


def test_a_loop_through_two_services_is_refused() -> None:
    first = service("first", "flow/in", "flow/middle")
    back = service("back", "flow/middle", "flow/in/again")
    with pytest.raises(Invalid, match="back → first → back"):
        check_no_cycle(back, lambda: [first])


def test_a_longer_loop_is_refused_and_names_the_chain() -> None:
    a = service("a", "loop/a", "loop/b")
    b = service("b", "loop/b", "loop/c")
    c = service("c", "loop/c", "loop/a")
    with pytest.raises(Invalid, match="c → a → b → c"):
        check_no_cycle(c, lambda: [a, b])


def test_suffix_filters_that_cannot_match_break_the_loop() -> None:
    a = parse_service(
        {
            "name": "a",
            "script": "x",
            "input": [{"path": "loop/a", "suffix": [".jpg"]}],
            "output": [{"path": "loop/b", "suffix": [".txt"]}],
        }
    )
    b = parse_service(
        {
            "name": "b",
            "script": "x",
            "input": [{"path": "loop/b"}],
            "output": [{"path": "loop/a", "suffix": [".txt"]}],
        }
    )
    check_no_cycle(b, lambda: [a])


def test_updating_a_service_replaces_its_old_definition() -> None:
    old = service("a", "loop/a", "loop/b")
    b = service("b", "loop/b", "loop/c")
    new = service("a", "loop/a", "loop/d")
    check_no_cycle(new, lambda: [old, b])


OWN = "http://10.0.0.1:8333"


def aliased(name: str, source: str, target: str) -> Service:
    """Writes to ``minio.here``: this cluster's own store, named by its endpoint."""
    here = {"endpoint": OWN + "/", "access_key": "a", "secret_key": "s"}
    return service(
        name,
        source,
        target,
        output=[{"storage_provider": "minio.here", "path": target}],
        storage_providers={"minio": {"here": here}},
    )


def test_a_loop_through_the_own_store_by_another_name_is_refused() -> None:
    first = service("first", "alias/in", "alias/middle")
    back = aliased("back", "alias/middle", "alias/in/again")
    with pytest.raises(Invalid, match="back → first → back"):
        check_no_cycle(back, lambda: [first], "http://10.0.0.1:8333")


def test_the_same_provider_elsewhere_is_no_loop() -> None:
    first = service("first", "alias/in", "alias/middle")
    away = aliased("away", "alias/middle", "alias/in/again")
    check_no_cycle(away, lambda: [first], "http://10.0.0.2:8333")
