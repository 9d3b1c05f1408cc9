"""What the routes need from a running Sluice, as a Protocol: the API imports no composition
root, and in-process tests can hand it any platform that has these parts."""

from typing import Protocol

from sluice.admin import AdminCredentials
from sluice.capacity import Capacity
from sluice.core.continuum import Continuum
from sluice.core.invocations import Invocations
from sluice.core.jobs import JobService
from sluice.core.oscar_api import OscarApi
from sluice.core.services import ServiceManager
from sluice.domain.parts import MinIOProvider
from sluice.settings import Settings
from sluice.storage.resolver import StorageResolver
from sluice.supervision import Loops
from sluice.triggers.router import EventRouter


class Platform(Protocol):
    settings: Settings
    admin: AdminCredentials
    services: ServiceManager
    object_store: MinIOProvider
    storage: StorageResolver  # opens the providers services name (the web UI's storage view)
    jobs: JobService
    router: EventRouter
    invocations: Invocations
    capacity: Capacity
    loops: Loops
    oscar: OscarApi
    continuum: Continuum
    webhook_token: str
