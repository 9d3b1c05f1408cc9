"""OSCAR's deployment states of a handler service, from its warm-worker counts."""

import pytest

from sluice.core.deployments import worker_state
from sluice.execution.base import Workers

CASES = [
    (0, None, "ready", 0, 0),
    (0, Workers(ready=0, starting=0), "ready", 0, 0),
    (1, Workers(ready=1, starting=0), "ready", 1, 0),
    (1, Workers(ready=2, starting=1), "ready", 3, 0),
    (1, None, "pending", 0, 0),
    (2, Workers(ready=1, starting=1), "pending", 2, 0),
    (3, Workers(ready=1, starting=0), "degraded", 1, 2),
    (2, Workers(ready=0, starting=0), "failed", 0, 2),
    (1, Workers(ready=0, starting=0, failure="cannot import model"), "failed", 0, 1),
]


@pytest.mark.parametrize(("minimum", "counts", "state", "active", "affected"), CASES)
def test_states(
    minimum: int, counts: Workers | None, state: str, active: int, affected: int
) -> None:
    deployment = worker_state(minimum, counts)
    assert (deployment.state, deployment.active_instances) == (state, active)
    assert deployment.affected_instances == affected
    assert deployment.reason
