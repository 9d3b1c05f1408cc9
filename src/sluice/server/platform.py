"""The composition root: builds every long-lived part of a running Sluice from its settings."""

import logging
import time
from dataclasses import dataclass, field

from sluice.core.services import ServiceManager
from sluice.domain.parts import MinIOProvider
from sluice.server.admin import AdminCredentials, load_admin
from sluice.settings import Settings
from sluice.state.database import open_database
from sluice.state.services import ServiceStore

log = logging.getLogger(__name__)


@dataclass
class Platform:
    settings: Settings
    admin: AdminCredentials
    services: ServiceManager
    object_store: MinIOProvider
    webhook_token: str = ""
    started_at: float = field(default_factory=time.time)

    def start(self) -> None:
        """Start background work (job dispatch, reconciliation, store supervision)."""

    def stop(self) -> None:
        """Stop background work; running jobs are left to be resumed on the next start."""


def build_platform(settings: Settings, object_store: MinIOProvider) -> Platform:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    password = settings.admin_password.get_secret_value() if settings.admin_password else None
    admin = load_admin(settings.admin_user, password, settings.data_dir)
    engine = open_database(settings.effective_database_url)
    services = ServiceManager(ServiceStore(engine))
    return Platform(settings=settings, admin=admin, services=services, object_store=object_store)
