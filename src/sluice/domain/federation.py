"""OSCAR's replicas: other clusters' services a job may be delegated to.

OSCAR v3 lists them at the top level (``replicas``, ``delegation``, ``rescheduler_threshold``);
v4.1 moved them into ``federation: {group_id, topology, delegation, rescheduler_threshold,
members}``. Sluice reads both and keeps the v4 form. Only ``oscar`` replicas (a service on a
cluster named in ``clusters``) are delegated to; a job goes to the one with the lowest
``priority`` that takes it.
"""

from typing import Any

from pydantic import Field, ValidationError

from sluice.domain.wire import WireModel

ALWAYS_DELEGATE = "sluice.delegate"  # annotation: "always" sends every job to a replica
DEFAULT_THRESHOLD = 10.0  # seconds a job waits for room here before it is delegated (OSCAR's)


class Replica(WireModel):
    type: str = Field("oscar", description="oscar (a service on another cluster) or endpoint.")
    cluster_id: str = Field("", description="Key in `clusters` of the replica's cluster.")
    service_name: str = Field("", description="The replica service's name on that cluster.")
    url: str = Field("", description="An endpoint replica's URL (not delegated to by Sluice).")
    ssl_verify: bool = Field(True, description="Verify TLS certificates of the replica.")
    priority: int = Field(0, ge=0, description="0 is tried first.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.type, self.cluster_id, self.service_name)


def members(federation: dict[str, Any] | None) -> list[Replica]:
    """The replicas of a ``federation`` block, best first; invalid entries left out."""
    found = []
    for item in (federation or {}).get("members") or []:
        try:
            found.append(Replica.model_validate(item))
        except ValidationError:
            continue
    return sorted(found, key=lambda r: r.priority)


def from_v3(data: dict[str, Any]) -> dict[str, Any] | None:
    """A v4 ``federation`` block for v3 top-level ``replicas`` (None when there are none)."""
    replicas = data.get("replicas")
    if not isinstance(replicas, list) or not replicas:
        return None
    block: dict[str, Any] = {"topology": "star", "delegation": data.get("delegation") or "static"}
    if data.get("rescheduler_threshold"):
        block["rescheduler_threshold"] = data["rescheduler_threshold"]
    block["members"] = replicas
    return block


def problems(federation: dict[str, Any] | None, clusters: set[str]) -> list[str]:
    """What is wrong with the replicas, one ``field: message`` each."""
    found = []
    for index, item in enumerate((federation or {}).get("members") or []):
        where = f"federation.members.{index}"
        try:
            replica = Replica.model_validate(item)
        except ValidationError as exc:
            found.append(f"{where}: {exc.errors()[0]['msg']}")
            continue
        if replica.type != "oscar":
            found.append(f"{where}.type: only oscar replicas (another cluster's service) work")
        elif replica.cluster_id not in clusters:
            known = ", ".join(sorted(clusters)) or "none"
            found.append(f"{where}.cluster_id: unknown cluster {replica.cluster_id!r} ({known})")
        elif not replica.service_name:
            found.append(f"{where}.service_name: is required")
    return found


def threshold(federation: dict[str, Any] | None, default: float = DEFAULT_THRESHOLD) -> float:
    """Seconds a job waits for room here before it goes to a replica."""
    value = (federation or {}).get("rescheduler_threshold")
    try:
        return float(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default
