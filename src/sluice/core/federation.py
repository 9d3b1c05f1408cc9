"""``/system/federation/{service}`` (OSCAR v4.1): read and change a service's replicas.

POST appends members; PUT replaces the members that match ``update``'s (type, cluster_id,
service_name) — or the ``members`` given — with ``update[0]``; DELETE removes the members
given. ``clusters`` in the body are added to the service's clusters (their passwords are
secrets like every other). Sluice does not create worker copies on the member clusters: each
cluster's service is applied from the FDL, as oscar-cli does for v3 replicas.
"""

from typing import Any

from pydantic import ValidationError

from sluice.core.services import ServiceManager
from sluice.domain.federation import Replica, members
from sluice.errors import Invalid


class Federation:
    def __init__(self, services: ServiceManager) -> None:
        self._services = services

    def get(self, name: str) -> dict[str, Any]:
        return _view(self._services.get(name).service.federation)

    def change(self, name: str, method: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise Invalid("the body must be a JSON object with 'members'")
        definition = self._services.get(name).service.model_dump(mode="json")
        federation = dict(definition.get("federation") or {"topology": "star"})
        current = members(federation)
        given = _replicas(body.get("members"), "members")
        if method == "POST":
            keys = {r.key for r in current}
            current += [r for r in given if r.key not in keys]
        elif method == "PUT":
            update = _replicas(body.get("update"), "update")
            if not update:
                raise Invalid("update: give the new member as update[0]")
            match = {r.key for r in (given or update)}
            current = [update[0] if r.key in match else r for r in current]
        else:
            gone = {r.key for r in given}
            current = [r for r in current if r.key not in gone]
        federation["members"] = [r.model_dump(mode="json") for r in current]
        definition["federation"] = federation
        if isinstance(body.get("clusters"), dict):
            definition["clusters"] = {**definition.get("clusters", {}), **body["clusters"]}
        saved = self._services.update(definition)
        return _view(saved.record.service.federation)


def _replicas(items: Any, where: str) -> list[Replica]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise Invalid(f"{where}: must be a list of replicas")
    try:
        return [Replica.model_validate(item) for item in items if isinstance(item, dict)]
    except ValidationError as exc:
        raise Invalid(f"{where}: {exc.errors()[0]['msg']}") from None


def _view(federation: dict[str, Any] | None) -> dict[str, Any]:
    block = federation or {}
    return {
        "topology": str(block.get("topology") or "none"),
        "group_id": str(block.get("group_id") or ""),
        "delegation": str(block.get("delegation") or "static"),
        "members": [r.model_dump(mode="json") for r in members(block)],
    }
