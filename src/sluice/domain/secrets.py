"""Where a service definition keeps secrets: environment secrets, storage provider credentials,
other clusters' passwords. One list, used to hide them on the wire, to keep them when a client
sends the hidden form back, and to encrypt them at rest."""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

HIDDEN = "hidden"  # what OSCAR shows instead of minio.default's keys

# Credential fields of the providers and clusters a definition names (each one by its id).
_CREDENTIALS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("storage_providers", "minio"): ("access_key", "secret_key"),
    ("storage_providers", "s3"): ("access_key", "secret_key"),
    ("storage_providers", "webdav"): ("password",),
    ("clusters",): ("auth_password",),
}
# Providers Sluice keeps as free-form maps: any key that looks like a credential.
_FREE_FORM = (("storage_providers", "onedata"), ("storage_providers", "rucio"))
_SECRET_KEY = re.compile(r"token|password|secret|key", re.IGNORECASE)


@dataclass(frozen=True)
class Slot:
    """A secret string: ``parent[key]``, found at ``address`` in the definition."""

    parent: dict[str, Any]
    key: str
    address: tuple[str, ...]

    @property
    def value(self) -> str:
        return str(self.parent[self.key])


def secret_slots(definition: dict[str, Any]) -> Iterator[Slot]:
    """Every place of ``definition`` (a service as JSON) that holds a secret string."""
    yield from _environment_secrets(definition)
    yield from _credentials(definition)
    yield from _free_form(definition)


def _environment_secrets(definition: dict[str, Any]) -> Iterator[Slot]:
    for parent, address in _entries(definition, ("environment",)):
        found = parent.get("secrets")
        if isinstance(found, dict):
            for key, value in found.items():
                if isinstance(value, str):
                    yield Slot(found, key, (*address, "secrets", key))


def _credentials(definition: dict[str, Any]) -> Iterator[Slot]:
    for path, fields in _CREDENTIALS.items():
        for entry, address in _children(definition, path):
            for field in fields:
                if isinstance(entry.get(field), str):
                    yield Slot(entry, field, (*address, field))


def _free_form(definition: dict[str, Any]) -> Iterator[Slot]:
    for path in _FREE_FORM:
        for entry, address in _children(definition, path):
            for key, value in entry.items():
                if isinstance(value, str) and _SECRET_KEY.search(key):
                    yield Slot(entry, key, (*address, key))


Found = Iterator[tuple[dict[str, Any], tuple[str, ...]]]


def _entries(root: dict[str, Any], path: tuple[str, ...]) -> Found:
    node: Any = root
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        yield node, path


def _children(root: dict[str, Any], path: tuple[str, ...]) -> Found:
    for node, address in _entries(root, path):
        for name, entry in node.items():
            if isinstance(entry, dict):
                yield entry, (*address, str(name))


def hide(definition: dict[str, Any]) -> None:
    """In place: environment secrets become "" (as OSCAR shows them), credentials "hidden"."""
    for slot in secret_slots(definition):
        if slot.address[0] == "environment":
            slot.parent[slot.key] = ""
        elif slot.value:
            slot.parent[slot.key] = HIDDEN


def keep_hidden(new: dict[str, Any], old: dict[str, Any]) -> None:
    """In place: a secret ``new`` sends back hidden ("" or "hidden") keeps ``old``'s value, so a
    client that edits what it read does not wipe the credentials."""
    previous = {slot.address: slot.value for slot in secret_slots(old)}
    for slot in secret_slots(new):
        if slot.value in ("", HIDDEN) and slot.address in previous:
            slot.parent[slot.key] = previous[slot.address]


def transform(definition: dict[str, Any], change: Callable[[str], str]) -> None:
    """In place: every non-empty secret value through ``change`` (to encrypt or decrypt it)."""
    for slot in list(secret_slots(definition)):
        if slot.value:
            slot.parent[slot.key] = change(slot.value)
