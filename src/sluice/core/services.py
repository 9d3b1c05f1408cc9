"""Service use-cases: create, update, read, list and delete service definitions."""

import builtins
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from sluice.domain.secrets import keep_hidden
from sluice.domain.service import Service, ServiceRecord, describe_errors, parse_service
from sluice.domain.wire import unknown_fields
from sluice.errors import Conflict, Invalid, NotFound
from sluice.state.services import ServiceStore, StoredService

log = logging.getLogger(__name__)

ADMIN_OWNER = "cluster_admin"
CACHE_SECONDS = 2.0

# Checkers and preparers run before a definition is stored, checkers first; either may raise
# Invalid (or StorageError) to refuse it. Checkers only look and may return warnings for the
# user; preparers act (storage folders are created there), so a definition that any check
# refuses leaves nothing behind.
Checker = Callable[[Service], list[str]]
Preparer = Callable[[Service], None]
Listener = Callable[[Service | None, Service | None], None]


@dataclass(frozen=True)
class Saved:
    """A service just created or updated, and what the user should know about it."""

    record: ServiceRecord
    warnings: list[str] = field(default_factory=list)


class ServiceManager:
    def __init__(
        self,
        store: ServiceStore,
        preparers: Sequence[Preparer] = (),
        listeners: Sequence[Listener] = (),
    ) -> None:
        self._store = store
        self._cache: dict[str, tuple[float, ServiceRecord]] = {}
        self._listed: dict[str, tuple[datetime, ServiceRecord]] = {}  # by name, as last read
        self._cache_lock = threading.Lock()
        self._checkers: list[Checker] = []
        self._preparers = list(preparers)
        self._listeners = list(listeners)

    def add_checker(self, checker: Checker) -> None:
        self._checkers.append(checker)

    def add_preparer(self, preparer: Preparer) -> None:
        self._preparers.append(preparer)

    def add_listener(self, listener: Listener) -> None:
        """Called with (old, new) after a change; old is None on create, new None on delete."""
        self._listeners.append(listener)

    def create(self, payload: Any, owner: str = ADMIN_OWNER) -> Saved:
        service = parse_service(payload)
        ignored = _ignored_fields(payload)
        if self.exists(service.name):
            raise Conflict(f"a service named {service.name!r} already exists")
        token = secrets.token_hex(32)
        service = service.model_copy(update={"token": token, "owner": owner})
        warnings = ignored + self._prepare(service)
        stored = self._store.add(service.name, _stored_definition(service), token, owner)
        log.info("created service %s", service.name)
        self._notify(None, service)
        return Saved(ServiceRecord(service, token, owner, stored.created_at), warnings)

    def update(self, payload: Any) -> Saved:
        service = parse_service(payload)
        ignored = _ignored_fields(payload)
        old = self.get(service.name)
        definition = service.model_dump(mode="json")
        previous = old.service.model_dump(mode="json")
        keep_hidden(definition, previous)
        if not definition["environment"]["secrets"]:
            # As OSCAR: an update that sends no secrets (clients read them blanked) keeps them.
            definition["environment"]["secrets"] = previous["environment"]["secrets"]
        service = Service.model_validate({**definition, "token": old.token, "owner": old.owner})
        warnings = ignored + self._prepare(service)
        self._store.replace(service.name, _stored_definition(service))
        log.info("updated service %s", service.name)
        self._notify(old.service, service)
        return Saved(ServiceRecord(service, old.token, old.owner, old.created_at), warnings)

    def get(self, name: str) -> ServiceRecord:
        """The service, from a short-lived cache: jobs and calls ask for it all the time. A
        change made here is seen at once; one made by another manager on the same database
        within ``CACHE_SECONDS``."""
        now = time.monotonic()
        with self._cache_lock:
            cached = self._cache.get(name)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        record = _to_record(self._store.get(name))
        with self._cache_lock:
            self._cache[name] = (now, record)
        return record

    def exists(self, name: str) -> bool:
        try:
            self.get(name)
        except NotFound:
            return False
        return True

    def list(self) -> list[ServiceRecord]:
        """Every service that is valid as stored, by name. Definitions are parsed again only
        when they changed (listing thousands stays cheap). One a newer Sluice no longer accepts
        (saved before a rule was added) is left out and logged, not allowed to break the list."""
        versions = self._store.versions()
        with self._cache_lock:
            known = dict(self._listed)
        stale = [name for name, at in versions.items() if known.get(name, (None,))[0] != at]
        for stored in self._store.some(stale):
            try:
                known[stored.name] = (stored.updated_at, _to_record(stored))
            except Invalid as exc:
                known.pop(stored.name, None)
                log.error("service %s as stored is not valid any more (%s)", stored.name, exc)
        current = {name: known[name] for name in sorted(versions) if name in known}
        with self._cache_lock:
            self._listed = current
        return [record for _at, record in current.values()]

    def all_definitions(self) -> "builtins.list[Service]":
        return [record.service for record in self.list()]

    def delete(self, name: str) -> None:
        """Delete it, also when what is stored is no longer a valid service."""
        try:
            old = self.get(name).service
        except Invalid:
            old = Service.model_construct(name=name)
        self._store.remove(name)
        log.info("deleted service %s", name)
        self._notify(old, None)

    def token_matches(self, name: str, token: str) -> bool:
        try:
            record = self.get(name)
        except NotFound:
            return False
        return secrets.compare_digest(record.token.encode(), token.encode())

    def _prepare(self, service: Service) -> "builtins.list[str]":
        warnings = [warning for check in self._checkers for warning in check(service)]
        for prepare in self._preparers:
            prepare(service)
        for warning in warnings:
            log.warning("service %s: %s", service.name, warning)
        return warnings

    def _notify(self, old: Service | None, new: Service | None) -> None:
        with self._cache_lock:
            for changed in (old, new):
                if changed is not None:
                    self._cache.pop(changed.name, None)
        for listener in self._listeners:
            try:
                listener(old, new)
            except Exception:
                log.exception("service change listener failed")


def _ignored_fields(payload: Any) -> list[str]:
    return [f"{path}: unknown field, ignored" for path in unknown_fields(Service, payload)]


def _stored_definition(service: Service) -> dict[str, Any]:
    return service.model_dump(mode="json", exclude={"token"})


def _to_record(stored: StoredService) -> ServiceRecord:
    try:
        service = Service.model_validate({**stored.definition, "token": stored.token})
    except ValidationError as exc:
        problems = describe_errors(exc, stored.name)
        raise Invalid(f"{problems}\n(as stored; update the service or delete it)") from None
    return ServiceRecord(service, stored.token, stored.owner, stored.created_at)
